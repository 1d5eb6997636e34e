"""ONNX converters for normalisations and losses: LayerNormalization (with its Mean and InvStdDev outputs),
RMSNormalization, GroupNormalization, MeanVarianceNormalization, LpNormalization, LRN,
NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss, composed of IR reductions and elementwise ops."""

from __future__ import annotations

import numpy as np

from axiom.frontends.onnx.ops_common import ONNX_DTYPES, Ctx, converter, used_outputs
from axiom.ir.dims import as_dim
from axiom.ir.graph import Value


def _tail_axes(cx: Ctx, x: Value) -> tuple[int, ...]:
    """The axes from the ``axis`` attribute to the last one."""
    axis = int(cx.attr("axis", -1))
    if not -x.rank <= axis < x.rank:
        raise cx.unsupported(f"axis {axis} is out of range for {x.type}")
    return tuple(range(axis % x.rank, x.rank))


def _stash(cx: Ctx, x: Value) -> Value:
    """x in the stage-one precision that stash_type names (1: f32)."""
    stash = int(cx.attr("stash_type", 1))
    dtype = ONNX_DTYPES.get(stash)
    if dtype is None or dtype.kind != "float":
        raise cx.unsupported(f"stash_type={stash} is not a float type we support")
    return x if x.dtype == dtype else cx.b.op("cast", x, to=dtype)


def _back(cx: Ctx, y: Value, like: Value) -> Value:
    return y if y.dtype == like.dtype else cx.b.op("cast", y, to=like.dtype)


def _inv_std(cx: Ctx, var: Value) -> Value:
    """1 / sqrt(var + epsilon), in the order the spec writes it."""
    eps = cx.scalar(float(cx.attr("epsilon", 1e-5)), var)
    return cx.b.op("reciprocal", cx.b.op("sqrt", cx.b.op("add", var, eps)))


# ---- LayerNormalization, RMSNormalization -------------------------------------------------------
@converter("LayerNormalization", since=17)
def _layer_norm(cx: Ctx) -> tuple[Value, ...] | Value:
    """The layer_norm op when only Y is named; else spelled out so that Mean and InvStdDev (of the
    stash_type dtype, shaped like X with the normalised axes kept as 1) come out too."""
    b = cx.b
    x, scale = cx.input(0), cx.input(1)
    axes = _tail_axes(cx, x)
    if used_outputs(cx.node) == 1 and cx.node.output[0]:
        operands = [x, scale] + ([cx.input(2)] if cx.has_input(2) else [])
        return b.op("layer_norm", *operands, axis=axes[0], epsilon=float(cx.attr("epsilon", 1e-5)))
    xs = _stash(cx, x)
    mean = b.op("mean", xs, axes=axes, keepdims=True)
    centred = b.op("sub", xs, mean)
    inv = _inv_std(cx, b.op("mean", b.op("mul", centred, centred), axes=axes, keepdims=True))
    y = b.op("mul", _back(cx, b.op("mul", centred, inv), x), scale)
    if cx.has_input(2):
        y = b.op("add", y, cx.input(2))
    return y, mean, inv


@converter("RMSNormalization", since=23)
def _rms_norm(cx: Ctx) -> Value:
    """x / sqrt(mean(x^2 over axis..) + epsilon) * scale."""
    b = cx.b
    x = cx.input(0)
    xs = _stash(cx, x)
    inv = _inv_std(cx, b.op("mean", b.op("mul", xs, xs), axes=_tail_axes(cx, x), keepdims=True))
    return b.op("mul", _back(cx, b.op("mul", xs, inv), x), cx.input(1))


# ---- GroupNormalization, MeanVarianceNormalization ----------------------------------------------
def _per_channel(cx: Ctx, v: Value, x: Value) -> Value:
    """A scale/bias [C] as [C, 1, ...] for x [N, C, ...]."""
    return cx.b.op("reshape", v, shape=(x.shape[1],) + (1,) * (x.rank - 2))


@converter("GroupNormalization", since=21)
def _group_norm(cx: Ctx) -> Value:
    """Normalise each sample's groups of C/num_groups channels, then scale and shift per channel. Opset 18's
    per-group scale is not converted: onnx's checker rejects that deprecated version before import."""
    b = cx.b
    x = cx.input(0)
    groups = int(cx.attr("num_groups"))
    if x.rank < 3 or not isinstance(x.shape[1], int) or x.shape[1] % groups:
        raise cx.unsupported(f"needs [N, C, ...] with a static C divisible by num_groups={groups}, "
                             f"got {x.type}")
    xs = _stash(cx, x)
    rest = 1
    for d in x.shape[2:]:
        rest = rest * d
    grouped = b.op("reshape", xs, shape=(x.shape[0], groups, as_dim(x.shape[1] // groups * rest)))
    centred = b.op("sub", grouped, b.op("mean", grouped, axes=(2,), keepdims=True))
    inv = _inv_std(cx, b.op("mean", b.op("mul", centred, centred), axes=(2,), keepdims=True))
    normal = _back(cx, b.op("reshape", b.op("mul", centred, inv), shape=x.shape), x)
    scaled = b.op("mul", normal, _per_channel(cx, cx.input(1), x))
    return b.op("add", scaled, _per_channel(cx, cx.input(2), x))


@converter("MeanVarianceNormalization", since=9)
def _mvn(cx: Ctx) -> Value:
    """(x - E[x]) / (std(x) + 1e-9) over ``axes``, as the function body; its variance E[x^2] - E[x]^2 is
    computed as E[(x - E[x])^2], which does not cancel (onnxruntime does the same)."""
    b = cx.b
    x = cx.input(0)
    axes = tuple(int(a) for a in cx.attr("axes", (0, 2, 3)))
    centred = b.op("sub", x, b.op("mean", x, axes=axes, keepdims=True))
    std = b.op("sqrt", b.op("mean", b.op("mul", centred, centred), axes=axes, keepdims=True))
    return b.op("div", centred, b.op("add", std, cx.scalar(1e-9, x)))


# ---- LpNormalization, LRN -----------------------------------------------------------------------
@converter("LpNormalization", since=1)
def _lp_norm(cx: Ctx) -> Value:
    """x / ||x||_p along axis (p 1 or 2); an all-zero slice stays zero."""
    b = cx.b
    x = cx.input(0)
    p = int(cx.attr("p", 2))
    axis = int(cx.attr("axis", -1))
    if p == 1:
        norm = b.op("sum", b.op("abs", x), axes=(axis,), keepdims=True)
    elif p == 2:
        norm = b.op("sqrt", b.op("sum", b.op("mul", x, x), axes=(axis,), keepdims=True))
    else:
        raise cx.unsupported(f"p={p} (only 1 and 2 are defined)")
    zero = b.op("equal", norm, cx.scalar(0.0, x))
    return b.op("where", zero, cx.scalar(0.0, x), b.op("div", x, norm))


@converter("LRN", since=1)
def _lrn(cx: Ctx) -> Value:
    """x / (bias + alpha/size * sum of x^2 over a window of ``size`` channels) ^ beta; the window
    is summed as ``size`` shifted slices of the zero-padded squares."""
    b = cx.b
    x = cx.input(0)
    size = int(cx.attr("size"))
    channels = x.shape[1] if x.rank >= 3 else None
    if not isinstance(channels, int) or size < 1:
        raise cx.unsupported(f"needs [N, C, ...] with a static C and size >= 1, got {x.type}, size={size}")
    before, after = (size - 1) // 2, size // 2
    pads = [0] * (2 * x.rank)
    pads[1], pads[x.rank + 1] = before, after
    squares = b.op("pad", b.op("mul", x, x), pads=tuple(pads))
    total = None
    for k in range(size):
        piece = b.op("slice", squares, starts=(k,), ends=(k + channels,), axes=(1,))
        total = piece if total is None else b.op("add", total, piece)
    alpha, beta, bias = (float(cx.attr(n, d)) for n, d in (("alpha", 1e-4), ("beta", 0.75), ("bias", 1.0)))
    base = b.op("add", b.op("mul", total, cx.scalar(alpha / size, x)), cx.scalar(bias, x))
    return b.op("div", x, b.op("pow", base, cx.scalar(beta, x)))


# ---- NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss -----------------------------------------
def _one_hot(cx: Ctx, target: Value, classes: int, rank: int) -> Value:
    """[N, C, d...] bool: class c is the target of sample (n, d...)."""
    shape = (1, classes) + (1,) * (rank - 2)
    arange = cx.b.constant(np.arange(classes, dtype=target.dtype.np_dtype).reshape(shape))
    return cx.b.op("equal", arange, cx.b.op("unsqueeze", target, axes=(1,)))


def _pick(cx: Ctx, hot: Value, values: Value) -> Value:
    """sum over the class axis of values where hot: values[n, target[n, d...], d...]."""
    zero = cx.scalar(0.0, values)
    return cx.b.op("sum", cx.b.op("where", hot, values, zero), axes=(1,))


def _nll(cx: Ctx, logp: Value, target: Value) -> Value:
    """The loss of log-probabilities logp [N, C, d...] at integer targets [N, d...], weighted by
    input 2 (per class), with ignore_index's samples left out, reduced as ``reduction`` says."""
    b = cx.b
    classes = logp.shape[1]
    if logp.rank < 2 or not isinstance(classes, int):
        raise cx.unsupported(f"input must be [N, C, ...] with a static C, got {logp.type}")
    reduction = cx.attr("reduction", "mean")
    if reduction not in ("none", "sum", "mean"):
        raise cx.unsupported(f"reduction={reduction!r} (expected none, sum or mean)")
    hot = _one_hot(cx, target, classes, logp.rank)
    loss = b.op("neg", _pick(cx, hot, logp))
    weight = None
    if cx.has_input(2):
        w = b.op("reshape", cx.input(2), shape=(1, classes) + (1,) * (logp.rank - 2))
        weight = _pick(cx, hot, w)
    ignore = cx.attr("ignore_index")
    if ignore is not None:
        kept = b.op("not_equal", target, b.constant(np.array(ignore, target.dtype.np_dtype)))
        weight = b.op("where", kept, cx.scalar(1.0, logp) if weight is None else weight, cx.scalar(0.0, logp))
    if weight is not None:
        loss = b.op("mul", loss, weight)
    if reduction == "none":
        return loss
    if reduction == "sum" or weight is None:
        return b.op(reduction, loss)
    return b.op("div", b.op("sum", loss), b.op("sum", weight))


@converter("NegativeLogLikelihoodLoss", since=12)
def _nll_loss(cx: Ctx) -> Value:
    return _nll(cx, cx.input(0), cx.input(1))


@converter("SoftmaxCrossEntropyLoss", since=12)
def _softmax_cross_entropy(cx: Ctx) -> tuple[Value, Value]:
    """The NLL loss of log_softmax over the class axis, and those log-probabilities."""
    logp = cx.b.op("log_softmax", cx.input(0), axis=1)
    return _nll(cx, logp, cx.input(1)), logp
