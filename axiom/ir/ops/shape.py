"""Shape ops: reshape, transpose, flatten, squeeze/unsqueeze, expand, concat/split, slice,
gather and pad. They move or select elements without arithmetic.

Type rules work on symbolic dims and only accept what they can prove (a reshape of
``f32[N, 64, 7, 7]`` to ``[N, 3136]`` is fine, one to ``[M, 3136]`` is not). Slice follows
ONNX: negative indices count from the end, bounds clamp, and |bounds| >= 2**62 mean "to the
end" (dims are assumed smaller). References that need a symbolic target shape (reshape,
expand) solve its symbols from the input array where the equations allow it. squeeze
without axes drops the dims that are statically 1: the node's attributes record them when
it is built, so a symbolic dim that is 1 at run time is never dropped.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import sympy

from axiom.ir.dims import Dim, as_dim, dim_eq, dim_le, dim_lt, dim_product, dim_str, normalize_axis
from axiom.ir.dtypes import i32, i64
from axiom.ir.errors import ShapeError
from axiom.ir.opdef import Attrs, AttrSpec
from axiom.ir.ops.common import defop, require_same_dtype
from axiom.ir.types import TensorType

BIG = 2**62  # slice bounds at or beyond +-BIG mean "past the end", as ONNX's INT64_MAX does
PAD_MODES = ("constant", "reflect", "edge")
TRAITS = ("shape",)


def _show(shape: Sequence[Dim]) -> str:
    return "[" + ", ".join(dim_str(d) for d in shape) + "]"


def _axis(op: str, axis: int, rank: int, t: TensorType) -> int:
    if rank == 0:
        raise ShapeError(f"{op}: {t} is a scalar and has no axis {axis}; hint: reshape it to [1]")
    try:
        return normalize_axis(axis, rank)
    except ValueError:
        raise ShapeError(f"{op}: axis {axis} is out of range for {t} (rank {rank}); "
                         f"hint: use an axis in [{-rank}, {rank - 1}]") from None


def _axes(op: str, axes: Sequence[int], rank: int, t: TensorType) -> list[int]:
    out = [_axis(op, a, rank, t) for a in axes]
    if len(set(out)) != len(out):
        raise ShapeError(f"{op}: axes {list(axes)} repeat an axis of a rank-{rank} result ({t}); "
                         "hint: list each axis once")
    return out


def _dim_sum(dims: Sequence[Dim]) -> Dim:
    total = sum(dims[1:], dims[0])
    return total if isinstance(total, int) else as_dim(total)


def _concrete(op: str, dims: Sequence[Dim], facts: Sequence[tuple[Dim, int]]) -> tuple[int, ...]:
    """Evaluate symbolic target dims, solving their symbols from ``facts`` (expr == value)."""
    known: dict[sympy.Symbol, int] = {}
    progress = True
    while progress:
        progress = False
        for expr, value in facts:
            e = expr if isinstance(expr, int) else expr.subs(known)
            free = getattr(e, "free_symbols", set())
            if len(free) != 1:
                continue
            s = next(iter(free))
            try:
                roots = [r for r in sympy.solve(sympy.Eq(e, value), s) if r.is_Integer and r > 0]
            except (NotImplementedError, TypeError, ValueError):
                continue
            if len(roots) == 1:
                known[s] = int(roots[0])
                progress = True
    out = []
    for d in dims:
        v = d if isinstance(d, int) else d.subs(known)
        if not (isinstance(v, int) or v.is_Integer):
            missing = ", ".join(sorted(str(s) for s in v.free_symbols))
            raise ValueError(f"{op}: target dim {dim_str(d)} depends on {missing}, which the input "
                             "arrays do not determine; bind the symbols to ints before evaluating")
        out.append(int(v))
    return tuple(out)


# ---- reshape, flatten, transpose ----------------------------------------------------------
def _reshape_infer(inputs, a):  # noqa: ANN001, ANN202
    x, shape = inputs[0], a.shape
    t = dim_eq(x.numel, dim_product(shape))
    if not t.proved:
        why = "differ" if t.disproved else "cannot be proved equal"
        raise ShapeError(f"reshape: cannot reshape {x} to {_show(shape)}: element counts "
                         f"{dim_str(x.numel)} and {dim_str(dim_product(shape))} {why}; hint: the "
                         "target must hold exactly as many elements (no -1 or 0 codes)")
    return [x.with_shape(shape)]


def _reshape_ref(inputs, a):  # noqa: ANN001, ANN202
    x = inputs[0]
    return x.reshape(_concrete("reshape", a.shape, [(dim_product(a.shape), x.size)]))


def _flatten_infer(inputs, a):  # noqa: ANN001, ANN202
    x = inputs[0]
    axis = _flatten_axis(a.axis, x)
    return [x.with_shape((dim_product(x.shape[:axis]), dim_product(x.shape[axis:])))]


def _flatten_axis(axis: int, x: TensorType) -> int:
    if not -x.rank <= axis <= x.rank:
        raise ShapeError(f"flatten: axis {axis} is out of range for {x}; hint: use an axis in "
                         f"[{-x.rank}, {x.rank}]")
    return axis + x.rank if axis < 0 else axis


def _flatten_ref(inputs, a):  # noqa: ANN001, ANN202
    x = inputs[0]
    axis = a.axis + x.ndim if a.axis < 0 else a.axis
    return x.reshape(int(np.prod(x.shape[:axis])), int(np.prod(x.shape[axis:])))


def _perm(x: TensorType, perm: Sequence[int] | None) -> list[int]:
    if perm is None:
        return list(range(x.rank))[::-1]
    if sorted(perm) != list(range(x.rank)):
        raise ShapeError(f"transpose: perm {list(perm)} is not a permutation of the axes of {x}; "
                         f"hint: list each of 0..{x.rank - 1} once")
    return list(perm)


def _transpose_infer(inputs, a):  # noqa: ANN001, ANN202
    x = inputs[0]
    return [x.with_shape([x.shape[p] for p in _perm(x, a.perm)])]


def _contiguous(x: np.ndarray) -> np.ndarray:
    """``x`` in C order, copied only when needed; unlike np.ascontiguousarray, a 0-d array stays
    0-d."""
    return np.asarray(x, order="C")


def _transpose_ref(inputs, a):  # noqa: ANN001, ANN202
    x = inputs[0]
    return _contiguous(np.transpose(x, None if a.perm is None else a.perm))


# ---- squeeze, unsqueeze, expand ----------------------------------------------------------
def _squeeze_axes(x: TensorType, axes: Sequence[int] | None) -> list[int]:
    if axes is None:
        return [i for i, d in enumerate(x.shape) if isinstance(d, int) and d == 1]
    out = _axes("squeeze", axes, x.rank, x)
    for i in out:
        if not dim_eq(x.shape[i], 1).proved:
            raise ShapeError(f"squeeze: axis {i} of {x} has dim {dim_str(x.shape[i])}, not known to be "
                             "1; hint: squeeze only axes of size 1 (reshape otherwise)")
    return out


def _squeeze_infer(inputs, a):  # noqa: ANN001, ANN202
    x = inputs[0]
    drop = set(_squeeze_axes(x, a.axes))
    return [x.with_shape([d for i, d in enumerate(x.shape) if i not in drop])]


def _squeeze_ref(inputs, a):  # noqa: ANN001, ANN202
    return np.squeeze(inputs[0], axis=tuple(a.axes))


def _squeeze_resolve(types, a):  # noqa: ANN001, ANN202
    """axes=None becomes the axes the type rule drops (statically 1), never a run-time guess."""
    return a if a.axes is not None else a.replace(axes=tuple(_squeeze_axes(types[0], None)))


def _unsqueeze_infer(inputs, a):  # noqa: ANN001, ANN202
    x = inputs[0]
    rank = x.rank + len(a.axes)
    new = set(_axes("unsqueeze", a.axes, rank, x))
    rest = iter(x.shape)
    return [x.with_shape([1 if i in new else next(rest) for i in range(rank)])]


def _unsqueeze_ref(inputs, a):  # noqa: ANN001, ANN202
    x = inputs[0]
    rank = x.ndim + len(a.axes)
    return np.expand_dims(x, tuple(sorted(i % rank for i in a.axes))) if a.axes else x


def _to_reshape(infer):  # noqa: ANN001, ANN202
    """A decomposition into one reshape to the shape ``infer`` gives."""

    def decompose(b, inputs, a):  # noqa: ANN001, ANN202
        x = inputs[0]
        return [b.op("reshape", x, shape=infer([x.type], a)[0].shape)]

    return decompose


def _expand_infer(inputs, a):  # noqa: ANN001, ANN202
    x, shape = inputs[0], tuple(a.shape)
    lead = len(shape) - x.rank
    if lead < 0:
        raise ShapeError(f"expand: cannot expand {x} to the lower-rank shape {_show(shape)}; "
                         "hint: the target needs at least the input's rank")
    for i, d in enumerate(x.shape):
        want = shape[lead + i]
        if isinstance(d, int) and d == 1:
            continue
        t = dim_eq(d, want)
        if not t.proved:
            why = "differ" if t.disproved else "cannot be proved equal"
            raise ShapeError(f"expand: cannot expand {x} to {_show(shape)}: dims {dim_str(d)} and "
                             f"{dim_str(want)} {why}; hint: only dims of size 1 stretch")
    return [x.with_shape(shape)]


def _expand_ref(inputs, a):  # noqa: ANN001, ANN202
    x = inputs[0]
    lead = len(a.shape) - x.ndim
    facts = [(a.shape[lead + i], n) for i, n in enumerate(x.shape) if n != 1]
    return np.broadcast_to(x, _concrete("expand", a.shape, facts)).copy()


# ---- concat, split ----------------------------------------------------------------------
def _concat_infer(inputs, a):  # noqa: ANN001, ANN202
    first = inputs[0]
    require_same_dtype("concat", inputs)
    axis = _axis("concat", a.axis, first.rank, first)
    for t in inputs[1:]:
        if t.rank != first.rank:
            raise ShapeError(f"concat: operands {first} and {t} differ in rank; hint: reshape or "
                             "unsqueeze them to one rank")
        for i, (d, e) in enumerate(zip(first.shape, t.shape, strict=True)):
            if i != axis and not dim_eq(d, e).proved:
                raise ShapeError(f"concat: {first} and {t} disagree on axis {i} ({dim_str(d)} vs "
                                 f"{dim_str(e)}); hint: only the concat axis ({axis}) may differ")
    size = _dim_sum([t.shape[axis] for t in inputs])
    return [first.with_shape([size if i == axis else d for i, d in enumerate(first.shape)])]


def _split_infer(inputs, a):  # noqa: ANN001, ANN202
    x = inputs[0]
    axis = _axis("split", a.axis, x.rank, x)
    if not a.sizes or any(s < 0 for s in a.sizes):
        raise ShapeError(f"split: sizes {list(a.sizes)} must be one or more non-negative ints "
                         f"(splitting {x})")
    t = dim_eq(sum(a.sizes), x.shape[axis])
    if not t.proved:
        why = "differs from" if t.disproved else "cannot be proved equal to"
        raise ShapeError(f"split: sizes {list(a.sizes)} sum to {sum(a.sizes)}, which {why} dim "
                         f"{dim_str(x.shape[axis])} of axis {axis} of {x}; hint: sizes must cover the "
                         "axis exactly")
    return [x.with_shape([s if i == axis else d for i, d in enumerate(x.shape)]) for s in a.sizes]


def _split_ref(inputs, a):  # noqa: ANN001, ANN202
    x = inputs[0]
    axis = a.axis % x.ndim
    if sum(a.sizes) != x.shape[axis]:
        raise ValueError(f"split: sizes {list(a.sizes)} do not sum to {x.shape[axis]} (axis {axis})")
    return np.split(x, np.cumsum(a.sizes)[:-1].tolist(), axis=axis)


# ---- slice ------------------------------------------------------------------------------
def _slice_plan(x: TensorType, a: Attrs) -> list[tuple[int, int, int, int]]:
    """The (axis, start, end, step) of every sliced axis, checked."""
    n = len(a.starts)
    axes = list(range(n)) if a.axes is None else list(a.axes)
    steps = [1] * n if a.steps is None else list(a.steps)
    if not (len(a.ends) == len(axes) == len(steps) == n):
        raise ShapeError(f"slice: starts, ends, axes and steps have lengths {n}, {len(a.ends)}, "
                         f"{len(axes)}, {len(steps)} (input {x}); hint: give one entry per sliced axis")
    if 0 in steps:
        raise ShapeError(f"slice: steps {steps} contain 0 (input {x}); hint: use a step of 1 or -1")
    axes = _axes("slice", axes, x.rank, x)
    return list(zip(axes, a.starts, a.ends, steps, strict=True))


def _clamp(v: int, d: Dim, lo: Dim, hi: Dim, what: str, axis: int) -> Dim:
    """ONNX bound normalisation: negative counts from the end, then clamp into [lo, hi]."""
    if v >= BIG:
        return hi
    if v <= -BIG:
        return lo
    x = v + d if v < 0 else v
    x = x if isinstance(x, int) else as_dim(x)
    below, above = dim_lt(x, lo), dim_lt(hi, x)
    if below.proved:
        return lo
    if above.proved:
        return hi
    if below.disproved and above.disproved:
        return x
    raise ShapeError(f"slice: {what} {v} on axis {axis} may or may not lie inside dim {dim_str(d)} "
                     "(the clamped bound depends on its value); hint: use bounds that stay inside "
                     "every size >= 1 (0, 1, -1, or +-2**62 to mean the end), or make the dim static")


def _slice_bounds(d: Dim, axis: int, start: int, end: int, step: int) -> tuple[Dim, Dim, Dim]:
    """Clamped (start, end) and the result length for one axis of size ``d``."""
    if dim_eq(d, 0).proved:
        # An empty axis stays empty, whatever the bounds; a negative step's start range [0, d - 1]
        # would be inverted here.
        return 0, 0, 0
    if step > 0:
        s, e = _clamp(start, d, 0, d, "start", axis), _clamp(end, d, 0, d, "end", axis)
        span = e - s
    else:
        last = d - 1 if isinstance(d, int) else as_dim(d - 1)
        s, e = _clamp(start, d, 0, last, "start", axis), _clamp(end, d, -1, last, "end", axis)
        if dim_eq(s, 0).proved and not dim_le(1, d).proved:
            # Clamped to the first element: one element, or none when d is 0.
            raise ShapeError(f"slice: the length of axis {axis} (size {dim_str(d)}) with start {start}, "
                             f"end {end}, step {step} is not known: it is 0 if the dim is 0 and at "
                             "least 1 otherwise; hint: start a negative step at 2**62 (the last "
                             "element) or make the dim provably >= 1")
        span = s - e
    k = abs(step)
    nonneg = dim_le(0, span)
    if nonneg.disproved:
        return s, e, 0
    if not nonneg.proved:
        raise ShapeError(f"slice: the length of axis {axis} (size {dim_str(d)}) with start {start}, "
                         f"end {end}, step {step} is not known: it is empty for some sizes only; "
                         "hint: use bounds that keep the slice non-empty for every size")
    if isinstance(span, int):
        return s, e, (span + k - 1) // k
    return s, e, as_dim(sympy.floor((span + k - 1) / sympy.Integer(k)))


def _slice_infer(inputs, a):  # noqa: ANN001, ANN202
    x = inputs[0]
    shape = list(x.shape)
    for axis, start, end, step in _slice_plan(x, a):
        try:
            shape[axis] = _slice_bounds(x.shape[axis], axis, start, end, step)[2]
        except ShapeError as exc:
            raise ShapeError(f"{exc} (input {x})") from None
    return [x.with_shape(shape)]


def _slice_ref(inputs, a):  # noqa: ANN001, ANN202
    x = inputs[0]
    index = [slice(None)] * x.ndim
    for axis, start, end, step in _slice_plan(TensorType(x.dtype, x.shape), a):
        s, e, _ = _slice_bounds(x.shape[axis], axis, start, end, step)
        index[axis] = slice(s, None if e < 0 else e, step)
    return _contiguous(x[(*index, Ellipsis)])  # the Ellipsis keeps a 0-d result an array


# ---- gather -----------------------------------------------------------------------------
def _gather_infer(inputs, a):  # noqa: ANN001, ANN202
    x, idx = inputs
    if idx.dtype not in (i32, i64):
        raise ShapeError(f"gather: indices must be i32 or i64, got {idx}; hint: cast the indices")
    axis = _axis("gather", a.axis, x.rank, x)
    return [x.with_shape(x.shape[:axis] + idx.shape + x.shape[axis + 1:])]


def _gather_ref(inputs, a):  # noqa: ANN001, ANN202
    x, idx = inputs
    axis = a.axis % x.ndim
    d = x.shape[axis]
    bad = (idx < -d) | (idx >= d)
    if bad.any():
        raise IndexError(f"gather: index {int(idx[bad].flat[0])} is out of range for axis {axis} "
                         f"of size {d} (valid: {-d}..{d - 1})")
    return np.take(x, idx.astype(np.int64), axis=axis)  # np.take wraps negative indices


# ---- pad --------------------------------------------------------------------------------
def _fits(value: float, dt: np.dtype) -> bool:
    if not np.isfinite(value) or value != int(value):
        return False
    if dt.kind == "b":
        return value in (0, 1)
    info = np.iinfo(dt)
    return info.min <= value <= info.max


def _pad_infer(inputs, a):  # noqa: ANN001, ANN202
    x, pads, r = inputs[0], a.pads, inputs[0].rank
    if len(pads) != 2 * r:
        raise ShapeError(f"pad: pads {list(pads)} need {2 * r} entries for {x} (all begins, then all "
                         "ends)")
    if a.mode not in PAD_MODES:
        raise ShapeError(f"pad: unknown mode {a.mode!r}; modes: {', '.join(PAD_MODES)}")
    if any(p < 0 for p in pads):
        raise ShapeError(f"pad: pads {list(pads)} are negative (input {x}); hint: crop with slice")
    if a.mode == "constant" and not x.dtype.is_float and not _fits(a.value, x.dtype.np_dtype):
        raise ShapeError(f"pad: value {a.value} does not fit {x.dtype} (input {x}); hint: pad "
                         "integers with an integral value in their range, bools with 0 or 1")
    shape = []
    for i, d in enumerate(x.shape):
        lo, hi = pads[i], pads[i + r]
        if a.mode == "reflect" and not dim_lt(max(lo, hi), d).proved:
            raise ShapeError(f"pad: reflect pads ({lo}, {hi}) of axis {i} must be smaller than its "
                             f"dim {dim_str(d)} (input {x}); hint: use mode 'edge' or smaller pads")
        if a.mode == "edge" and max(lo, hi) > 0 and not dim_le(1, d).proved:
            raise ShapeError(f"pad: edge padding needs a non-empty axis {i} (input {x})")
        shape.append(d + lo + hi if isinstance(d, int) else as_dim(d + lo + hi))
    return [x.with_shape(shape)]


def _pad_ref(inputs, a):  # noqa: ANN001, ANN202
    x = inputs[0]
    r = x.ndim
    widths = [(a.pads[i], a.pads[i + r]) for i in range(r)]
    if a.mode == "constant":
        fill = np.asarray(a.value).astype(x.dtype)
        return np.pad(x, widths, mode="constant", constant_values=fill)
    return np.pad(x, widths, mode=a.mode)


# ---- registration -----------------------------------------------------------------------
defop("reshape", _reshape_infer, _reshape_ref, attrs={"shape": AttrSpec("dims")}, traits=TRAITS,
      doc="Same elements, new shape; element counts must be proved equal (no -1/0 codes).")
defop("transpose", _transpose_infer, _transpose_ref,
      attrs={"perm": AttrSpec("ints", None, optional=True, doc="None reverses the axes")},
      traits=TRAITS, doc="Permute the axes: result axis i is input axis perm[i].")
defop("flatten", _flatten_infer, _flatten_ref, attrs={"axis": AttrSpec("int", 1)},
      decompose=_to_reshape(_flatten_infer), traits=TRAITS,
      doc="2-D view [prod(shape[:axis]), prod(shape[axis:])], as ONNX Flatten.")
defop("squeeze", _squeeze_infer, _squeeze_ref,
      attrs={"axes": AttrSpec("ints", None, optional=True, doc="None drops every static 1")},
      decompose=_to_reshape(_squeeze_infer), resolve=_squeeze_resolve, traits=TRAITS,
      doc="Drop axes of size 1.")
defop("unsqueeze", _unsqueeze_infer, _unsqueeze_ref, attrs={"axes": AttrSpec("ints")},
      decompose=_to_reshape(_unsqueeze_infer), traits=TRAITS,
      doc="Insert axes of size 1; axes index the output (ONNX).")
defop("expand", _expand_infer, _expand_ref, attrs={"shape": AttrSpec("dims")}, traits=TRAITS,
      doc="Broadcast to shape exactly (numpy broadcast_to): only dims of size 1 stretch.")
defop("concat", _concat_infer, lambda i, a: np.concatenate(i, axis=a.axis), inputs=(1, None),
      attrs={"axis": AttrSpec("int")}, traits=TRAITS, doc="Join tensors along an existing axis.")
defop("split", _split_infer, _split_ref, attrs={"axis": AttrSpec("int", 0), "sizes": AttrSpec("ints")},
      results=lambda a: len(a.sizes), traits=TRAITS, doc="Cut an axis into pieces of the given sizes.")
defop("slice", _slice_infer, _slice_ref,
      attrs={"starts": AttrSpec("ints"), "ends": AttrSpec("ints"),
             "axes": AttrSpec("ints", None, optional=True), "steps": AttrSpec("ints", None, optional=True)},
      traits=TRAITS, doc="ONNX Slice: negative indices, clamped bounds, negative steps.")
defop("gather", _gather_infer, _gather_ref, inputs=(2, 2), attrs={"axis": AttrSpec("int", 0)},
      traits=TRAITS, doc="Pick entries along axis by i32/i64 indices; negative indices wrap.")
defop("pad", _pad_infer, _pad_ref,
      attrs={"pads": AttrSpec("ints", doc="all begins, then all ends (ONNX order)"),
             "mode": AttrSpec("str", "constant", doc="'constant', 'reflect' or 'edge'"),
             "value": AttrSpec("float", 0.0, doc="fill of mode 'constant'")},
      traits=TRAITS, doc="Pad every axis; reflect excludes the edge, edge repeats it.")
