"""ONNX indexing and shape-building ops: Slice, Gather, Expand, Tile, Pad, Split, ConstantOfShape and
Range. Index, shape and size inputs must be constants (or shapes folded while importing)."""

from __future__ import annotations

import numpy as np
import sympy
from onnx import NodeProto, numpy_helper

from axiom.frontends.onnx.ops_common import Ctx, attr_of, converter
from axiom.ir.dims import Dim, as_dim
from axiom.ir.graph import Value


def _ints(cx: Ctx, i: int, what: str) -> list[int] | None:
    """Constant input ``i`` as ints, None when absent; unsupported when it holds symbolic dims."""
    data = cx.const(i)
    if data is None:
        return None
    if data.dtype == object:
        raise cx.unsupported(f"{what} must be static, got {data.tolist()}")
    return [int(v) for v in data.reshape(-1)]


def _dims(cx: Ctx, i: int) -> list[Dim]:
    """Constant input ``i`` as dims (ints, or sympy dims from a folded Shape)."""
    data = cx.const(i)
    assert data is not None  # a const input, checked before building
    try:
        return [as_dim(v) if isinstance(v, sympy.Basic) else as_dim(int(v)) for v in data.reshape(-1)]
    except (TypeError, ValueError) as exc:
        raise cx.unsupported(f"shape {data.tolist()} is not a list of dims: {exc}") from None


# ---- Slice, Gather ------------------------------------------------------------------------------
@converter("Slice", since=1, until=9)
def _slice_attrs(cx: Ctx) -> Value:
    starts = [int(v) for v in cx.attr("starts")]
    axes = cx.attr("axes")
    return cx.b.op("slice", cx.input(0), starts=tuple(starts), ends=tuple(int(v) for v in cx.attr("ends")),
                   axes=None if axes is None else tuple(int(a) for a in axes))


@converter("Slice", since=10, const_inputs=(1, 2, 3, 4))
def _slice_inputs(cx: Ctx) -> Value:
    starts, ends = _ints(cx, 1, "starts"), _ints(cx, 2, "ends")
    axes, steps = _ints(cx, 3, "axes"), _ints(cx, 4, "steps")
    return cx.b.op("slice", cx.input(0), starts=tuple(starts or ()), ends=tuple(ends or ()),
                   axes=None if axes is None else tuple(axes), steps=None if steps is None else tuple(steps))


@converter("Gather", since=1)
def _gather(cx: Ctx) -> Value:
    return cx.b.op("gather", cx.input(0), cx.input(1), axis=int(cx.attr("axis", 0)))


# ---- Expand, Tile -------------------------------------------------------------------------------
def broadcast_target(x_shape: tuple[Dim, ...], shape: list[Dim]) -> tuple[Dim, ...]:
    """ONNX Expand's result shape: the two shapes broadcast together (a 1 in ``shape`` keeps x's dim)."""
    rank = max(len(x_shape), len(shape))
    xs = [1] * (rank - len(x_shape)) + list(x_shape)
    ss = [1] * (rank - len(shape)) + list(shape)
    return tuple(d if isinstance(s, int) and s == 1 else s for d, s in zip(xs, ss, strict=True))


@converter("Expand", since=8, const_inputs=(1,))
def _expand(cx: Ctx) -> Value:
    x = cx.input(0)
    return cx.b.op("expand", x, shape=broadcast_target(x.shape, _dims(cx, 1)))


@converter("Tile", since=6, const_inputs=(1,))
def _tile(cx: Ctx) -> Value:
    """x[d0, d1, ...] unsqueezed to [1, d0, 1, d1, ...], expanded to [r0, d0, r1, d1, ...] and
    reshaped to [r0*d0, r1*d1, ...]."""
    x = cx.input(0)
    repeats = _ints(cx, 1, "repeats") or []
    if len(repeats) != x.rank or any(r < 0 for r in repeats):
        raise cx.unsupported(f"repeats {repeats} must be {x.rank} non-negative ints for {x.type}")
    if all(r == 1 for r in repeats):
        return x
    b = cx.b
    wide = b.op("unsqueeze", x, axes=tuple(range(0, 2 * x.rank, 2)))
    pairs = [(r, d) for r, d in zip(repeats, x.shape, strict=True)]
    big = b.op("expand", wide, shape=tuple(v for pair in pairs for v in pair))
    return b.op("reshape", big, shape=tuple(as_dim(r * d) for r, d in pairs))


# ---- Pad --------------------------------------------------------------------------------------
_PAD_MODES = ("constant", "reflect", "edge")


def _pad_check(node: NodeProto, opset: int) -> str | None:
    mode = attr_of(node, "mode", "constant")
    return None if mode in _PAD_MODES else f"mode {mode!r} is not supported (only {', '.join(_PAD_MODES)})"


def _pad(cx: Ctx, pads: list[int], value: float, axes: list[int] | None) -> Value:
    x = cx.input(0)
    if axes is not None:  # pads name only these axes (opset 18): spread them over every axis
        full = [0] * (2 * x.rank)
        for k, a in enumerate(axes):
            full[a % x.rank], full[a % x.rank + x.rank] = pads[k], pads[k + len(axes)]
        pads = full
    if any(p < 0 for p in pads):
        raise cx.unsupported(f"negative pads {pads} (cropping) are not supported")
    return cx.b.op("pad", x, pads=tuple(pads), mode=cx.attr("mode", "constant"), value=float(value))


@converter("Pad", since=2, until=10, check=_pad_check)
def _pad_attrs(cx: Ctx) -> Value:
    return _pad(cx, [int(p) for p in cx.attr("pads")], float(cx.attr("value", 0.0)), None)


@converter("Pad", since=11, const_inputs=(1, 2, 3), check=_pad_check)
def _pad_inputs(cx: Ctx) -> Value:
    fill = cx.const(2)
    value = 0.0 if fill is None or fill.size == 0 else float(fill.reshape(-1)[0])
    return _pad(cx, _ints(cx, 1, "pads") or [], value, _ints(cx, 3, "axes"))


# ---- Split ------------------------------------------------------------------------------------
def _even_sizes(cx: Ctx, d: Dim, n: int) -> list[int]:
    """n pieces of an axis of size d: equal, or (opset 18's num_outputs) ceil(d/n) with a smaller last."""
    if not isinstance(d, int):
        raise cx.unsupported(f"splitting a symbolic axis of size {d} needs explicit split sizes")
    if d % n == 0:
        return [d // n] * n
    if cx.opset < 18:
        raise cx.unsupported(f"an axis of size {d} does not split into {n} equal pieces")
    k = -(-d // n)
    return [k] * (n - 1) + [d - k * (n - 1)]


def _split(cx: Ctx, sizes: list[int] | None) -> tuple[Value, ...] | Value:
    x = cx.input(0)
    axis = int(cx.attr("axis", 0))
    if sizes is None:
        n = int(cx.attr("num_outputs", len(cx.node.output)))
        sizes = _even_sizes(cx, x.shape[axis % x.rank], n)
    return cx.b.op("split", x, axis=axis, sizes=tuple(sizes))


@converter("Split", since=2, until=12)
def _split_attr(cx: Ctx) -> tuple[Value, ...] | Value:
    split = cx.attr("split")
    return _split(cx, None if split is None else [int(s) for s in split])


@converter("Split", since=13, const_inputs=(1,))
def _split_input(cx: Ctx) -> tuple[Value, ...] | Value:
    return _split(cx, _ints(cx, 1, "split"))


# ---- ConstantOfShape, Range -------------------------------------------------------------------
@converter("ConstantOfShape", since=9, const_inputs=(0,))
def _constant_of_shape(cx: Ctx) -> Value:
    """A static shape gives a constant; a symbolic one a scalar expanded to it."""
    t = cx.attrs.get("value")
    fill = numpy_helper.to_array(t).reshape(-1)[0] if t is not None else np.float32(0)
    shape = _dims(cx, 0)
    if all(isinstance(d, int) for d in shape):
        return cx.b.constant(np.full(shape, fill, dtype=fill.dtype))
    scalar = cx.b.constant(np.asarray(fill))
    return cx.b.op("expand", scalar, shape=tuple(shape))


@converter("Range", since=11, const_inputs=(0, 1, 2))
def _range(cx: Ctx) -> Value:
    start, limit, delta = (np.asarray(cx.const(i)) for i in range(3))
    if any(v.dtype == object or v.size != 1 for v in (start, limit, delta)):
        raise cx.unsupported("start, limit and delta must be static scalars")
    start, limit, delta = (v.reshape(()) for v in (start, limit, delta))
    if delta == 0:
        raise cx.unsupported("delta is 0")
    return cx.b.constant(np.arange(start, limit, delta, dtype=start.dtype))
