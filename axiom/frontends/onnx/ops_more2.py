"""ONNX activations, normalisation and reductions composed of IR ops: PRelu, HardSigmoid, HardSwish,
Elu, Selu, GlobalMaxPool, InstanceNormalization, ReduceMin/Prod/L1/L2/SumSquare/LogSum/LogSumExp,
ArgMax/ArgMin."""

from __future__ import annotations

from axiom.frontends.onnx.ops_common import Ctx, converter
from axiom.ir.graph import Value


# ---- activations --------------------------------------------------------------------------------
@converter("PRelu", since=7)
def _prelu(cx: Ctx) -> Value:
    """x if x >= 0 else slope * x, with the slope broadcast to x."""
    b = cx.b
    x, slope = cx.input(0), cx.input(1)
    negative = b.op("less", x, cx.scalar(0, x))
    return b.op("where", negative, b.op("mul", x, slope), x)


def _affine(cx: Ctx, x: Value, scale: float, shift: float) -> Value:
    return cx.b.op("add", cx.b.op("mul", x, cx.scalar(scale, x)), cx.scalar(shift, x))


@converter("HardSigmoid", since=6)
def _hard_sigmoid(cx: Ctx) -> Value:
    """clip(alpha * x + beta, 0, 1)."""
    x = cx.input(0)
    y = _affine(cx, x, float(cx.attr("alpha", 0.2)), float(cx.attr("beta", 0.5)))
    return cx.b.op("clip", y, min=0.0, max=1.0)


@converter("HardSwish", since=14)
def _hard_swish(cx: Ctx) -> Value:
    """x * clip(x / 6 + 0.5, 0, 1)."""
    x = cx.input(0)
    gate = cx.b.op("clip", _affine(cx, x, 1 / 6, 0.5), min=0.0, max=1.0)
    return cx.b.op("mul", x, gate)


def _elu(cx: Ctx, x: Value, alpha: float) -> Value:
    """x if x > 0 else alpha * (exp(x) - 1)."""
    b = cx.b
    below = _affine(cx, b.op("exp", x), alpha, -alpha)
    return b.op("where", b.op("greater", x, cx.scalar(0, x)), x, below)


@converter("Elu", since=6)
def _elu_op(cx: Ctx) -> Value:
    return _elu(cx, cx.input(0), float(cx.attr("alpha", 1.0)))


@converter("Selu", since=6)
def _selu(cx: Ctx) -> Value:
    """gamma * elu(x, alpha)."""
    x = cx.input(0)
    alpha = float(cx.attr("alpha", 1.67326319217681884765625))
    gamma = float(cx.attr("gamma", 1.05070102214813232421875))
    return cx.b.op("mul", _elu(cx, x, alpha), cx.scalar(gamma, x))


# ---- pooling and normalisation --------------------------------------------------------------
@converter("GlobalMaxPool", since=1)
def _global_max_pool(cx: Ctx) -> Value:
    """The largest element over every spatial axis, which stay as size-1 dims."""
    x = cx.input(0)
    if x.rank < 3:
        raise cx.unsupported(f"needs an [N, C, spatial...] input, got {x.type}")
    return cx.b.op("max", x, axes=tuple(range(2, x.rank)), keepdims=True)


@converter("InstanceNormalization", since=6)
def _instance_norm(cx: Ctx) -> Value:
    """(x - mean) / sqrt(var + eps) * scale + bias over the spatial axes, per sample and channel."""
    b = cx.b
    x, scale, bias = cx.input(0), cx.input(1), cx.input(2)
    if x.rank < 3:
        raise cx.unsupported(f"needs an [N, C, spatial...] input, got {x.type}")
    axes = tuple(range(2, x.rank))
    centred = b.op("sub", x, b.op("mean", x, axes=axes, keepdims=True))
    var = b.op("mean", b.op("mul", centred, centred), axes=axes, keepdims=True)
    inv = b.op("rsqrt", b.op("add", var, cx.scalar(float(cx.attr("epsilon", 1e-5)), x)))
    per_channel = (x.shape[1],) + (1,) * (x.rank - 2)
    scale = b.op("reshape", scale, shape=per_channel)
    bias = b.op("reshape", bias, shape=per_channel)
    return b.op("add", b.op("mul", b.op("mul", centred, inv), scale), bias)


# ---- reductions -----------------------------------------------------------------------------
def _reduce_axes(cx: Ctx, from_input: bool) -> tuple[int, ...] | None:
    if not from_input:
        axes = cx.attr("axes")
        return None if axes is None else tuple(int(a) for a in axes)
    data = cx.const(1)
    return None if data is None else tuple(int(a) for a in data.reshape(-1))


def _reduce(cx: Ctx, from_input: bool) -> Value:
    """ReduceMin/Prod directly; L1, L2, SumSquare, LogSum and LogSumExp (stably, shifted by the max)
    composed."""
    b = cx.b
    x = cx.input(0)
    axes = _reduce_axes(cx, from_input) or None
    if axes is None and cx.attr("noop_with_empty_axes", 0):
        axes = ()  # reduce over no axis: L1 still takes |x|, SumSquare x * x, LogSum log(x)
    keep = bool(cx.attr("keepdims", 1))
    op = cx.node.op_type
    if op in ("ReduceMin", "ReduceProd"):
        return b.op("min" if op == "ReduceMin" else "prod", x, axes=axes, keepdims=keep)
    if op in ("ReduceL1", "ReduceLogSum"):
        total = b.op("sum", b.op("abs", x) if op == "ReduceL1" else x, axes=axes, keepdims=keep)
        return total if op == "ReduceL1" else b.op("log", total)
    if op == "ReduceLogSumExp":
        top = b.op("max", x, axes=axes, keepdims=True)
        # An infinite max (all -inf, an empty set, or a +inf) would make x - top NaN: shift by 0 there.
        top = b.op("where", b.op("is_inf", top), cx.scalar(0, x), top)
        total = b.op("sum", b.op("exp", b.op("sub", x, top)), axes=axes, keepdims=True)
        y = b.op("add", b.op("log", total), top)
        return y if keep or axes == () else b.op("squeeze", y, axes=axes or tuple(range(x.rank)))
    squares = b.op("sum", b.op("mul", x, x), axes=axes, keepdims=keep)
    return squares if op == "ReduceSumSquare" else b.op("sqrt", squares)


_MORE_REDUCE = ("ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceSumSquare", "ReduceLogSum",
                "ReduceLogSumExp")


@converter(*_MORE_REDUCE, since=1, until=17)
def _reduce_attr(cx: Ctx) -> Value:
    return _reduce(cx, from_input=False)


@converter(*_MORE_REDUCE, since=18, const_inputs=(1,))
def _reduce_input(cx: Ctx) -> Value:
    return _reduce(cx, from_input=True)


@converter("ArgMax", "ArgMin", since=1)
def _arg(cx: Ctx) -> Value:
    op = "argmax" if cx.node.op_type == "ArgMax" else "argmin"
    return cx.b.op(op, cx.input(0), axis=int(cx.attr("axis", 0)), keepdims=bool(cx.attr("keepdims", 1)),
                   select_last_index=bool(cx.attr("select_last_index", 0)))
