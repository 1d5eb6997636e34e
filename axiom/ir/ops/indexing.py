"""Indexing ops: per-element gather and scatter, N-d gather/scatter, cumulative sums and products, top-k
and triangular masks.

Indices follow ONNX: i32 or i64, negative ones count from the end of their axis, and an index outside
[-d, d) is an error of the reference (an IndexError naming the op, the axis and the index), never numpy's
silent wraparound. Type rules accept what they can prove on symbolic dims and nothing more.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from axiom.ir.dims import dim_eq, dim_le, dim_str, normalize_axis
from axiom.ir.dtypes import i32, i64
from axiom.ir.errors import ShapeError
from axiom.ir.opdef import AttrSpec
from axiom.ir.ops.common import compute_dtype, defop, require_kind, require_same_dtype
from axiom.ir.types import TensorType

REDUCTIONS = ("none", "add", "mul", "max", "min")
NUMERIC = ("float", "int", "uint")
_UFUNCS = {"add": np.add, "mul": np.multiply, "max": np.maximum, "min": np.minimum}


# ---- shared checks ------------------------------------------------------------------------
def _axis(op: str, axis: int, t: TensorType) -> int:
    if t.rank == 0:
        raise ShapeError(f"{op}: {t} is a scalar and has no axis {axis}; hint: reshape it to [1]")
    try:
        return normalize_axis(axis, t.rank)
    except ValueError:
        raise ShapeError(f"{op}: axis {axis} is out of range for {t} (rank {t.rank}); "
                         f"hint: use an axis in [{-t.rank}, {t.rank - 1}]") from None


def _indices(op: str, t: TensorType) -> None:
    if t.dtype not in (i32, i64):
        raise ShapeError(f"{op}: indices must be i32 or i64, got {t}; hint: cast the indices")


def _require(op: str, ok: bool, why: str, *types: TensorType) -> None:
    if not ok:
        raise ShapeError(f"{op}: {why} (operands {', '.join(str(t) for t in types)})")


def _fits_within(op: str, idx: TensorType, x: TensorType, skip: int) -> None:
    """Every axis of ``idx`` but ``skip`` is provably no longer than the same axis of ``x``."""
    for i, (d, e) in enumerate(zip(idx.shape, x.shape, strict=True)):
        if i != skip and not dim_le(d, e).proved:
            raise ShapeError(f"{op}: axis {i} of the indices {idx} ({dim_str(d)}) is not provably "
                             f"<= that of the data {x} ({dim_str(e)}); hint: only the indexed axis may "
                             "be longer")


def _same_shape(op: str, a: TensorType, b: TensorType, what: str) -> None:
    ok = a.rank == b.rank and all(dim_eq(d, e).proved for d, e in zip(a.shape, b.shape, strict=True))
    _require(op, ok, f"{what} must have the same shape", a, b)


def _wrap(op: str, idx: np.ndarray, size: int, axis: int) -> np.ndarray:
    """``idx`` as non-negative i64 positions on an axis of ``size``; out of range is an IndexError."""
    idx = idx.astype(np.int64)
    bad = (idx < -size) | (idx >= size)
    if bad.any():
        raise IndexError(f"{op}: index {int(idx[bad].flat[0])} is out of range for axis {axis} of size "
                         f"{size} (valid: {-size}..{size - 1})")
    return np.where(idx < 0, idx + size, idx)


def _along(x: np.ndarray, idx: np.ndarray, axis: int, op: str) -> tuple[np.ndarray, ...]:
    """The full index tuple of an element-wise gather/scatter along ``axis`` at ``idx``."""
    where = list(np.indices(idx.shape, sparse=True))
    where[axis] = _wrap(op, idx, x.shape[axis], axis)
    return tuple(where)


def _check_reduction(op: str, reduction: str, x: TensorType) -> None:
    if reduction not in REDUCTIONS:
        raise ShapeError(f"{op}: unknown reduction {reduction!r}; reductions: {', '.join(REDUCTIONS)}")
    if reduction != "none":
        require_kind(op, x, *NUMERIC)


def _scatter_into(x: np.ndarray, where: tuple[np.ndarray, ...], upd: np.ndarray,
                  reduction: str) -> np.ndarray:
    """A copy of ``x`` with ``upd`` written (or combined by ``reduction``) at ``where``; the combining
    ufunc runs at compute precision, so half floats round once."""
    if reduction == "none":
        out = x.copy()
        out[where] = upd
        return out
    wide = x.astype(compute_dtype(x.dtype))
    _UFUNCS[reduction].at(wide, where, upd.astype(wide.dtype))
    return wide.astype(x.dtype)


# ---- gather_elements / scatter_elements ---------------------------------------------------
def _gather_elements_infer(inputs, a):  # noqa: ANN001, ANN202
    x, idx = inputs
    _indices("gather_elements", idx)
    axis = _axis("gather_elements", a.axis, x)
    _require("gather_elements", idx.rank == x.rank, "data and indices must have one rank", x, idx)
    _fits_within("gather_elements", idx, x, axis)
    return [x.with_shape(idx.shape)]


def _gather_elements_ref(inputs, a):  # noqa: ANN001, ANN202
    x, idx = inputs
    return x[_along(x, idx, a.axis % x.ndim, "gather_elements")]


def _scatter_elements_infer(inputs, a):  # noqa: ANN001, ANN202
    x, idx, upd = inputs
    _indices("scatter_elements", idx)
    require_same_dtype("scatter_elements", [x, upd])
    axis = _axis("scatter_elements", a.axis, x)
    _require("scatter_elements", idx.rank == x.rank, "data and indices must have one rank", x, idx)
    _same_shape("scatter_elements", idx, upd, "indices and updates")
    _fits_within("scatter_elements", idx, x, axis)
    _check_reduction("scatter_elements", a.reduction, x)
    return [x]


def _scatter_elements_ref(inputs, a):  # noqa: ANN001, ANN202
    x, idx, upd = inputs
    return _scatter_into(x, _along(x, idx, a.axis % x.ndim, "scatter_elements"), upd, a.reduction)


# ---- gather_nd / scatter_nd ---------------------------------------------------------------
def _depth(op: str, idx: TensorType, x: TensorType, batch: int) -> int:
    """The length m of the index tuples (the last dim of the indices): static, 1 <= m <= rank - batch."""
    _indices(op, idx)
    _require(op, idx.rank >= 1, "indices need rank >= 1 (their last axis holds the index tuples)", x, idx)
    m = idx.shape[-1]
    _require(op, isinstance(m, int) and 1 <= m <= x.rank - batch,
             f"the last dim of the indices ({dim_str(m)}) must be a static int in [1, {x.rank - batch}]",
             x, idx)
    return int(m)


def _gather_nd_infer(inputs, a):  # noqa: ANN001, ANN202
    x, idx = inputs
    b = a.batch_dims
    _require("gather_nd", 0 <= b < min(x.rank, idx.rank), f"batch_dims {b} must be in [0, min(ranks))",
             x, idx)
    m = _depth("gather_nd", idx, x, b)
    _require("gather_nd", all(dim_eq(d, e).proved for d, e in zip(x.shape[:b], idx.shape[:b], strict=True)),
             f"the first {b} (batch) dims of data and indices must be equal", x, idx)
    return [x.with_shape(idx.shape[:-1] + x.shape[b + m:])]


def _flat_positions(op: str, idx: np.ndarray, dims: Sequence[int]) -> list[np.ndarray]:
    """The index tuples of ``idx`` (last axis) as one wrapped position array per indexed dim."""
    tuples = idx.reshape(-1, idx.shape[-1])
    return [_wrap(op, tuples[:, j], d, j) for j, d in enumerate(dims)]


def _gather_nd_ref(inputs, a):  # noqa: ANN001, ANN202
    x, idx = inputs
    b, m = a.batch_dims, idx.shape[-1]
    batch = int(np.prod(x.shape[:b], dtype=np.int64))
    per = int(np.prod(idx.shape[b:-1], dtype=np.int64))
    xs = x.reshape((batch,) + x.shape[b:])
    pos = _flat_positions("gather_nd", idx.reshape(batch * per, m), x.shape[b:b + m])
    rows = np.repeat(np.arange(batch), per)
    out = xs[(rows, *pos)]
    return out.reshape(idx.shape[:-1] + x.shape[b + m:])


def _scatter_nd_infer(inputs, a):  # noqa: ANN001, ANN202
    x, idx, upd = inputs
    require_same_dtype("scatter_nd", [x, upd])
    m = _depth("scatter_nd", idx, x, 0)
    want = x.with_shape(idx.shape[:-1] + x.shape[m:])
    _same_shape("scatter_nd", upd, want, f"updates must have shape indices.shape[:-1] + data.shape[{m}:]")
    _check_reduction("scatter_nd", a.reduction, x)
    return [x]


def _scatter_nd_ref(inputs, a):  # noqa: ANN001, ANN202
    x, idx, upd = inputs
    m = idx.shape[-1]
    pos = _flat_positions("scatter_nd", idx, x.shape[:m])
    return _scatter_into(x, tuple(pos), upd.reshape((-1,) + x.shape[m:]), a.reduction)


# ---- cumsum / cumprod ---------------------------------------------------------------------
def _cumulative(name: str, fn, identity: int) -> None:  # noqa: ANN001
    def infer(inputs, a):  # noqa: ANN001, ANN202
        x = inputs[0]
        require_kind(name, x, *NUMERIC)
        _axis(name, a.axis, x)
        return [x]

    def reference(inputs, a):  # noqa: ANN001, ANN202
        x = inputs[0]
        axis = a.axis % x.ndim
        v = x.astype(compute_dtype(x.dtype), copy=False)
        v = np.flip(v, axis) if a.reverse else v
        out = fn(v, axis=axis, dtype=v.dtype)
        if a.exclusive:  # shift by one along the axis, the op's identity first
            head = np.full_like(np.take(out, [0], axis=axis), identity)
            out = np.concatenate([head, np.take(out, np.arange(out.shape[axis] - 1), axis=axis)], axis=axis)
        out = np.flip(out, axis) if a.reverse else out
        return np.ascontiguousarray(out).astype(x.dtype)

    defop(name, infer, reference,
          attrs={"axis": AttrSpec("int", 0),
                 "exclusive": AttrSpec("bool", False, doc="leave out the own element"),
                 "reverse": AttrSpec("bool", False, doc="accumulate from the end of the axis")},
          doc=f"Running {'sum' if identity == 0 else 'product'} along axis (ONNX Cum*: exclusive, reverse).")


# ---- topk ---------------------------------------------------------------------------------
def _topk_infer(inputs, a):  # noqa: ANN001, ANN202
    x = inputs[0]
    require_kind("topk", x, *NUMERIC, "bool")
    axis = _axis("topk", a.axis, x)
    d = x.shape[axis]
    if a.k < 0 or not dim_le(a.k, d).proved:
        raise ShapeError(f"topk: k = {a.k} must be in [0, {dim_str(d)}] (axis {axis} of {x}); hint: "
                         "k may not exceed the axis")
    shape = [a.k if i == axis else s for i, s in enumerate(x.shape)]
    return [x.with_shape(shape), TensorType(i64, shape)]


def _topk_ref(inputs, a):  # noqa: ANN001, ANN202
    x = inputs[0]
    axis = a.axis % x.ndim
    v = x.astype(compute_dtype(x.dtype), copy=False)
    if a.largest:
        # A stable ascending sort of the flipped axis, reversed: descending, ties by lower index.
        n = v.shape[axis]
        order = (n - 1 - np.argsort(np.flip(v, axis), axis=axis, kind="stable"))
        order = np.flip(order, axis)
    else:
        order = np.argsort(v, axis=axis, kind="stable")
    idx = np.take(order, np.arange(a.k), axis=axis)
    return [np.take_along_axis(x, idx, axis=axis), idx.astype(np.int64)]


# ---- trilu --------------------------------------------------------------------------------
def _trilu_infer(inputs, a):  # noqa: ANN001, ANN202
    x = inputs[0]
    if x.rank < 2:
        raise ShapeError(f"trilu: needs a tensor of rank >= 2 (matrices in the last two axes), got {x}")
    return [x]


def _trilu_ref(inputs, a):  # noqa: ANN001, ANN202
    x = inputs[0]
    rows, cols = x.shape[-2:]
    i, j = np.arange(rows)[:, None], np.arange(cols)[None, :]
    keep = (j - i >= a.k) if a.upper else (j - i <= a.k)
    return np.where(keep, x, np.zeros((), x.dtype))


# ---- registration -------------------------------------------------------------------------
defop("gather_elements", _gather_elements_infer, _gather_elements_ref, inputs=(2, 2),
      attrs={"axis": AttrSpec("int", 0)},
      doc="out[..i..] = x[..idx[..i..]..] along axis (ONNX GatherElements); the result has idx's shape.")
defop("scatter_elements", _scatter_elements_infer, _scatter_elements_ref, inputs=(3, 3),
      attrs={"axis": AttrSpec("int", 0),
             "reduction": AttrSpec("str", "none", doc="'none', 'add', 'mul', 'max' or 'min'")},
      doc="x with updates written (or combined) at idx along axis (ONNX ScatterElements).")
defop("gather_nd", _gather_nd_infer, _gather_nd_ref, inputs=(2, 2),
      attrs={"batch_dims": AttrSpec("int", 0)},
      doc="Slices of x at the index tuples in idx's last axis, after batch_dims shared axes (ONNX GatherND).")
defop("scatter_nd", _scatter_nd_infer, _scatter_nd_ref, inputs=(3, 3),
      attrs={"reduction": AttrSpec("str", "none", doc="'none', 'add', 'mul', 'max' or 'min'")},
      doc="x with slices of updates written (or combined) at the index tuples of idx (ONNX ScatterND).")
_cumulative("cumsum", np.cumsum, 0)
_cumulative("cumprod", np.cumprod, 1)
defop("topk", _topk_infer, _topk_ref, results=2,
      attrs={"k": AttrSpec("int"), "axis": AttrSpec("int", -1), "largest": AttrSpec("bool", True),
             "sorted": AttrSpec("bool", True, doc="results are always sorted; kept for export")},
      doc="The k largest (or smallest) entries along axis, sorted, and their i64 indices; ties: lower index.")
defop("trilu", _trilu_infer, _trilu_ref, attrs={"upper": AttrSpec("bool", True), "k": AttrSpec("int", 0)},
      doc="Keep the upper (j - i >= k) or lower (j - i <= k) triangle of the last two axes, zero the rest.")

