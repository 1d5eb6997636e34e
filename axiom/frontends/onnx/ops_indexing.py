"""ONNX converters for indexing ops: GatherElements, GatherND, ScatterElements, Scatter, ScatterND, CumSum,
CumProd, TopK, Trilu, OneHot, Hardmax, EyeLike, ReverseSequence, Compress, NonZero and TensorScatter.

Inputs that decide shapes or axes (CumSum's axis, TopK's K, Trilu's k, OneHot's depth, Compress's
condition, NonZero's input) must be constants; the rest (indices, updates, OneHot's values, sequence
lengths, write indices) are run-time values. Ops without an IR op of their own are built from existing
ones: equality against a constant arange, where, gather_elements and scatter_elements.
"""

from __future__ import annotations

import numpy as np

from axiom.frontends.onnx.ops_common import ONNX_DTYPES, Ctx, converter, dtype_name
from axiom.ir.dims import Dim
from axiom.ir.dtypes import i64
from axiom.ir.graph import Value

_REDUCTIONS = ("none", "add", "mul", "max", "min")


def _scalar_int(cx: Ctx, i: int, what: str, default: int | None = None) -> int:
    """Constant input ``i`` as one int (a scalar or a 1-element tensor); ``default`` when absent."""
    data = cx.const(i)
    if data is None:
        if default is None:
            raise cx.unsupported(f"needs its {what} input")
        return default
    if data.dtype == object or data.size != 1:
        raise cx.unsupported(f"{what} must be one static integer, got {data.tolist()}")
    return int(data.reshape(-1)[0])


def _static(cx: Ctx, d: Dim, what: str) -> int:
    if not isinstance(d, int):
        raise cx.unsupported(f"{what} must be static, got {d}")
    return d


def _arange_on(n: int, axis: int, rank: int) -> np.ndarray:
    """0..n-1 (i64) laid along ``axis`` of a rank-``rank`` tensor of ones elsewhere."""
    return np.arange(n, dtype=np.int64).reshape([n if i == axis else 1 for i in range(rank)])


def _as_i64(cx: Ctx, v: Value) -> Value:
    return v if v.dtype == i64 else cx.b.op("cast", v, to=i64)


# ---- gathers and scatters -----------------------------------------------------------------
@converter("GatherElements", since=11)
def _gather_elements(cx: Ctx) -> Value:
    return cx.b.op("gather_elements", cx.input(0), cx.input(1), axis=int(cx.attr("axis", 0)))


@converter("GatherND", since=11)
def _gather_nd(cx: Ctx) -> Value:
    return cx.b.op("gather_nd", cx.input(0), cx.input(1), batch_dims=int(cx.attr("batch_dims", 0)))


def _reduction(cx: Ctx) -> str:
    r = cx.attr("reduction", "none")
    if r not in _REDUCTIONS:
        raise cx.unsupported(f"reduction {r!r} is not supported (only {', '.join(_REDUCTIONS)})")
    return r


@converter("ScatterElements", "Scatter", since=9)
def _scatter_elements(cx: Ctx) -> Value:
    return cx.b.op("scatter_elements", cx.input(0), cx.input(1), cx.input(2), axis=int(cx.attr("axis", 0)),
                   reduction=_reduction(cx))


@converter("ScatterND", since=11)
def _scatter_nd(cx: Ctx) -> Value:
    return cx.b.op("scatter_nd", cx.input(0), cx.input(1), cx.input(2), reduction=_reduction(cx))


@converter("TensorScatter", since=24)
def _tensor_scatter(cx: Ctx) -> Value:
    """present = past with update written along ``axis`` from each batch row's write index on (modulo
    the cache length in circular mode): a scatter_elements at write_index[b] + arange(sequence_length)."""
    past, update = cx.input(0), cx.input(1)
    mode = cx.attr("mode", "linear")
    if mode not in ("linear", "circular"):
        raise cx.unsupported(f"mode {mode!r} is not supported (only 'linear', 'circular')")
    rank, b = past.rank, cx.b
    axis = int(cx.attr("axis", -2)) % max(rank, 1)
    if rank < 2 or axis == 0:
        raise cx.unsupported(f"axis {cx.attr('axis', -2)} must name a non-batch axis of {past.type}")
    length = _static(cx, update.shape[axis], "the update's sequence length")
    idx = b.constant(_arange_on(length, axis, rank))
    if cx.has_input(2):
        starts = b.op("reshape", _as_i64(cx, cx.input(2)), shape=[past.shape[0]] + [1] * (rank - 1))
        idx = b.op("add", starts, idx)
    if mode == "circular":  # idx >= 0, so idx - M * (idx / M) is idx mod M
        m = b.constant(np.array(_static(cx, past.shape[axis], "the cache length"), np.int64))
        idx = b.op("sub", idx, b.op("mul", m, b.op("div", idx, m)))
    idx = b.op("expand", idx, shape=list(update.shape))
    return b.op("scatter_elements", past, idx, update, axis=axis)


# ---- cumulative ops, TopK, Trilu ----------------------------------------------------------
def _cumulative(cx: Ctx, op: str) -> Value:
    return cx.b.op(op, cx.input(0), axis=_scalar_int(cx, 1, "axis"), exclusive=bool(cx.attr("exclusive", 0)),
                   reverse=bool(cx.attr("reverse", 0)))


@converter("CumSum", since=11, const_inputs=(1,))
def _cumsum(cx: Ctx) -> Value:
    return _cumulative(cx, "cumsum")


@converter("CumProd", since=26, const_inputs=(1,))
def _cumprod(cx: Ctx) -> Value:
    return _cumulative(cx, "cumprod")


def _topk(cx: Ctx, k: int) -> tuple[Value, Value]:
    return cx.b.op("topk", cx.input(0), k=k, axis=int(cx.attr("axis", -1)),
                   largest=bool(cx.attr("largest", 1)), sorted=bool(cx.attr("sorted", 1)))


@converter("TopK", since=1, until=9)
def _topk_attr(cx: Ctx) -> tuple[Value, Value]:
    return _topk(cx, int(cx.attr("k")))


@converter("TopK", since=10, const_inputs=(1,))
def _topk_input(cx: Ctx) -> tuple[Value, Value]:
    return _topk(cx, _scalar_int(cx, 1, "K"))


@converter("Trilu", since=14, const_inputs=(1,))
def _trilu(cx: Ctx) -> Value:
    return cx.b.op("trilu", cx.input(0), upper=bool(cx.attr("upper", 1)), k=_scalar_int(cx, 1, "k", 0))


# ---- OneHot, Hardmax, EyeLike -------------------------------------------------------------
@converter("OneHot", since=9, const_inputs=(1,))
def _one_hot(cx: Ctx) -> Value:
    """where(unsqueeze(idx) == arange(depth), on, off); negative indices count from depth, out-of-range
    ones match nothing (a row of off values)."""
    data = cx.const(1)
    if data is None or data.dtype == object or data.size != 1:
        raise cx.unsupported("depth must be one static number")
    depth = int(data.reshape(-1)[0])
    if depth < 1:
        raise cx.unsupported(f"depth {depth} must be >= 1")
    b, values = cx.b, cx.input(2)
    idx = _as_i64(cx, cx.input(0))
    rank = idx.rank + 1
    axis = int(cx.attr("axis", -1))
    if not -rank <= axis < rank:
        raise cx.unsupported(f"axis {axis} is out of range for a rank-{rank} result")
    axis %= rank
    zero = b.constant(np.array(0, np.int64))
    idx = b.op("where", b.op("less", idx, zero), b.op("add", idx, b.constant(np.array(depth, np.int64))), idx)
    hit = b.op("equal", b.op("unsqueeze", idx, axes=[axis]), b.constant(_arange_on(depth, axis, rank)))
    flat = b.op("reshape", values, shape=[2]) if values.shape != (2,) else values
    off, on = (b.op("reshape", b.op("slice", flat, starts=[i], ends=[i + 1]), shape=[]) for i in (0, 1))
    return b.op("where", hit, on, off)


def _hardmax_along(cx: Ctx, x: Value, axis: int) -> Value:
    """1 where x is the first maximum along ``axis``, else 0 (argmax compared with an arange)."""
    b = cx.b
    n = _static(cx, x.shape[axis], f"axis {axis} of {x.type}")
    best = b.op("argmax", x, axis=axis, keepdims=True)
    hit = b.op("equal", best, b.constant(_arange_on(n, axis, x.rank)))
    return b.op("cast", hit, to=x.dtype)


@converter("Hardmax", since=1)
def _hardmax(cx: Ctx) -> Value:
    """Opset 13 works along one axis (default -1); earlier opsets coerce to 2-D at axis (default 1)."""
    x = cx.input(0)
    if x.rank == 0:
        raise cx.unsupported(f"needs a tensor of rank >= 1, got {x.type}")
    if cx.opset >= 13:
        return _hardmax_along(cx, x, int(cx.attr("axis", -1)) % x.rank)
    axis = int(cx.attr("axis", 1))
    flat = cx.b.op("flatten", x, axis=axis)
    return cx.b.op("reshape", _hardmax_along(cx, flat, 1), shape=list(x.shape))


@converter("EyeLike", since=9)
def _eye_like(cx: Ctx) -> Value:
    x = cx.input(0)
    if x.rank != 2:
        raise cx.unsupported(f"needs a 2-D input, got {x.type}")
    rows, cols = (_static(cx, d, "the input's shape") for d in x.shape)
    dtype = x.dtype
    if cx.attr("dtype") is not None:
        code = int(cx.attr("dtype"))
        if code not in ONNX_DTYPES:
            raise cx.unsupported(f"dtype {dtype_name(code)} is not supported")
        dtype = ONNX_DTYPES[code]
    return cx.b.constant(np.eye(rows, cols, k=int(cx.attr("k", 0)), dtype=dtype.np_dtype))


# ---- ReverseSequence, Compress, NonZero ---------------------------------------------------
@converter("ReverseSequence", since=10)
def _reverse_sequence(cx: Ctx) -> Value:
    """gather_elements along the time axis at t' = len[b] - 1 - t for t < len[b], else t."""
    x, b = cx.input(0), cx.b
    t_axis, b_axis = int(cx.attr("time_axis", 0)), int(cx.attr("batch_axis", 1))
    if x.rank < 2 or {t_axis, b_axis} != {0, 1}:
        raise cx.unsupported(f"time_axis {t_axis} and batch_axis {b_axis} must be 0 and 1 of a rank >= 2 "
                             f"input, got {x.type}")
    steps = b.constant(_arange_on(_static(cx, x.shape[t_axis], "the time axis"), t_axis, x.rank))
    lens = b.op("reshape", _as_i64(cx, cx.input(1)),
                shape=[x.shape[b_axis] if i == b_axis else 1 for i in range(x.rank)])
    back = b.op("sub", b.op("sub", lens, b.constant(np.array(1, np.int64))), steps)
    idx = b.op("where", b.op("less", steps, lens), back, steps)
    return b.op("gather_elements", x, b.op("expand", idx, shape=list(x.shape)), axis=t_axis)


@converter("Compress", since=9, const_inputs=(1,))
def _compress(cx: Ctx) -> Value:
    """A gather at the constant condition's true positions (of the flattened input without an axis)."""
    x, cond = cx.input(0), cx.const(1)
    if cond.dtype == object:
        raise cx.unsupported("condition must be static")
    picked = np.flatnonzero(cond.reshape(-1)).astype(np.int64)
    axis = cx.attr("axis")
    if axis is None:
        x, axis = cx.b.op("reshape", x, shape=[x.type.numel]), 0
    return cx.b.op("gather", x, cx.b.constant(picked), axis=int(axis))


@converter("NonZero", since=9, const_inputs=(0,))
def _nonzero(cx: Ctx) -> Value:
    """Folded: the indices of the constant input's non-zero entries, [rank, count] i64."""
    data = cx.const(0)
    if data.dtype == object or data.ndim == 0:
        raise cx.unsupported("the input must be a static tensor of rank >= 1")
    return cx.b.constant(np.array(np.nonzero(data), dtype=np.int64).reshape(data.ndim, -1))
