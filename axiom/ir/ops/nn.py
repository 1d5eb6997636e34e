"""Neural-network ops: conv2d, batch_norm, layer_norm, softmax, log_softmax, dropout; the 2-D
pools live in :mod:`axiom.ir.ops.pooling`, imported here so that they register with these.

Images are NCHW by default; conv2d, batch_norm and the pools take ``layout = "NHWC"`` for
channels-last activations (conv weights stay OIHW either way). Everything here is inference
semantics (batch_norm uses the running statistics, dropout is the identity) and computes
f16/bf16 in f32.
"""

from __future__ import annotations

import numpy as np
import sympy

from axiom.ir.dims import Dim, dim_eq, dim_str, dims_equal
from axiom.ir.errors import AttributeError_, ShapeError
from axiom.ir.opdef import AttrSpec
from axiom.ir.ops import pooling  # noqa: F401  (registers the pooling ops)
from axiom.ir.ops.common import apply_in, at_compute_precision, defop, require_kind, require_same_dtype
from axiom.ir.ops.conv_shapes import (
    LAYOUT_ATTR,
    array_from_nchw,
    array_to_nchw,
    check_layout,
    check_window_attrs,
    from_nchw,
    out_hw,
    pad_for_windows,
    to_nchw,
    window_taps,
)
from axiom.ir.ops.reduction import normalize_axes
from axiom.ir.types import TensorType


def _proved_equal(a: Dim, b: Dim) -> bool:
    return dim_eq(a, b).proved


# ---- conv2d -------------------------------------------------------------------------------
def _conv_infer(inputs, a):  # noqa: ANN001, ANN202
    x, w = inputs[0], inputs[1]
    dt = require_same_dtype("conv2d", inputs)
    require_kind("conv2d", x, "float")
    check_layout("conv2d", a.layout)
    where = f"input {x}, weight {w}"
    if x.rank != 4 or w.rank != 4:
        raise ShapeError(f"conv2d: needs input [{', '.join(a.layout)}] and weight [O, C/groups, kh, kw], "
                         f"got {where}; hint: add a batch dim with unsqueeze")
    check_window_attrs("conv2d", a.stride, a.padding, a.dilation)
    g = a.groups
    if g < 1:
        raise AttributeError_(f"conv2d: groups must be >= 1, got {g}")
    shape = to_nchw(x.shape, a.layout)
    n, c = shape[0], shape[1]
    o = w.shape[0]
    if not _proved_equal(c, w.shape[1] * g):
        raise ShapeError(f"conv2d: input channels {dim_str(c)} must equal weight dim 1 "
                         f"({dim_str(w.shape[1])}) times groups ({g}) ({where}); "
                         f"hint: the weight is [O, C/groups, kh, kw] and the input {a.layout}")
    if sympy.Mod(o, g) != 0:
        raise ShapeError(f"conv2d: output channels {dim_str(o)} must be provably divisible by groups {g} "
                         f"({where}); hint: the weight is [O, C/groups, kh, kw] with O a multiple of groups")
    if len(inputs) == 3:
        bias = inputs[2]
        if bias.rank != 1 or not _proved_equal(bias.shape[0], o):
            raise ShapeError(f"conv2d: bias must be [{dim_str(o)}], got {bias} ({where}); "
                             "hint: one bias per output channel")
    oh, ow = out_hw("conv2d", shape, w.shape[2:], a.stride, a.padding, a.dilation, False, where)
    return [TensorType(dt, from_nchw((n, o, oh, ow), a.layout))]


def _conv_reference(inputs, a):  # noqa: ANN001, ANN202
    def fn(x: np.ndarray, w: np.ndarray, *bias: np.ndarray) -> np.ndarray:
        x = array_to_nchw(x, a.layout)
        n, c = x.shape[:2]
        o, cg, kh, kw = w.shape
        g = a.groups
        out = out_hw("conv2d", x.shape, (kh, kw), a.stride, a.padding, a.dilation, False, "")
        xp = pad_for_windows(x, a.padding, out, (kh, kw), a.stride, a.dilation, 0.0)
        taps = list(window_taps(xp, out, (kh, kw), a.stride, a.dilation))
        cols = np.stack(taps, axis=2).reshape(n, g, cg, kh * kw, *out)
        wg = w.reshape(g, o // g, cg, kh * kw)
        y = np.einsum("ngckhw,gock->ngohw", cols, wg, optimize=True).reshape(n, o, *out)
        return array_from_nchw(y + bias[0].reshape(1, o, 1, 1) if bias else y, a.layout)

    return apply_in(fn, inputs[0].dtype, *inputs)


defop("conv2d", _conv_infer, _conv_reference, inputs=(2, 3),
      attrs={"stride": AttrSpec("ints", (1, 1)),
             "padding": AttrSpec("ints", (0, 0, 0, 0), doc="(top, left, bottom, right)"),
             "dilation": AttrSpec("ints", (1, 1)),
             "groups": AttrSpec("int", 1),
             "layout": LAYOUT_ATTR},
      doc="2-D cross-correlation of x[N, C, H, W] (or [N, H, W, C] when NHWC) with w[O, C/groups, kh, kw], "
          "plus bias[O].")


# ---- batch_norm ---------------------------------------------------------------------------
def channel_axis(layout: str, rank: int) -> int:
    """Where batch_norm's channels are: axis 1 for NCHW, the last axis for NHWC."""
    return 1 if layout == "NCHW" else rank - 1


def _batch_norm_infer(inputs, a):  # noqa: ANN001, ANN202
    x = inputs[0]
    require_same_dtype("batch_norm", inputs)
    require_kind("batch_norm", x, "float")
    check_layout("batch_norm", a.layout)
    if x.rank < 2:
        raise ShapeError(f"batch_norm: needs x of rank >= 2 with channels on axis 1 (NCHW) or last (NHWC), "
                         f"got {x}")
    axis = channel_axis(a.layout, x.rank)
    for name, p in zip(("scale", "bias", "mean", "var"), inputs[1:], strict=True):
        if p.rank != 1 or not _proved_equal(p.shape[0], x.shape[axis]):
            raise ShapeError(f"batch_norm: {name} must be [{dim_str(x.shape[axis])}], got {p} for input {x}; "
                             f"hint: one value per channel (axis {axis}, layout {a.layout})")
    return [x]


def _channel_view(p: np.ndarray, rank: int, layout: str) -> np.ndarray:
    """A per-channel vector shaped to broadcast against x (a 1-D vector already does for NHWC)."""
    return p if layout == "NHWC" else p.reshape(p.shape[0], *([1] * (rank - 2)))


def _batch_norm_reference(inputs, a):  # noqa: ANN001, ANN202
    def fn(x, scale, bias, mean, var):  # noqa: ANN001, ANN202
        inv = 1.0 / np.sqrt(var + a.epsilon)
        v = [_channel_view(p, x.ndim, a.layout) for p in (scale, bias, mean, inv)]
        return (x - v[2]) * v[3] * v[0] + v[1]

    return apply_in(fn, inputs[0].dtype, *inputs)


@at_compute_precision
def _batch_norm_decompose(b, inputs, a):  # noqa: ANN001, ANN202
    x, scale, bias, mean, var = inputs
    eps = b.constant(np.array(a.epsilon, x.dtype.np_dtype))
    factor = b.op("mul", scale, b.op("rsqrt", b.op("add", var, eps)))
    shift = b.op("sub", bias, b.op("mul", mean, factor))
    if x.rank > 2 and a.layout == "NCHW":
        shape = (x.shape[1], *([1] * (x.rank - 2)))
        factor = b.op("reshape", factor, shape=shape)
        shift = b.op("reshape", shift, shape=shape)
    return [b.op("add", b.op("mul", x, factor), shift)]


defop("batch_norm", _batch_norm_infer, _batch_norm_reference, inputs=(5, 5),
      attrs={"epsilon": AttrSpec("float", 1e-5), "layout": LAYOUT_ATTR}, decompose=_batch_norm_decompose,
      doc="Inference batch norm over the channel axis (1 for NCHW, last for NHWC): "
          "(x - mean) / sqrt(var + eps) * scale + bias.")


# ---- layer_norm ---------------------------------------------------------------------------
def _layer_norm_axes(x: TensorType, axis: int) -> tuple[int, ...]:
    (first,) = normalize_axes("layer_norm", x, [axis])
    return tuple(range(first, x.rank))


def _layer_norm_infer(inputs, a):  # noqa: ANN001, ANN202
    x = inputs[0]
    require_same_dtype("layer_norm", inputs)
    require_kind("layer_norm", x, "float")
    if x.rank == 0:
        raise ShapeError(f"layer_norm: needs x of rank >= 1, got {x}")
    axes = _layer_norm_axes(x, a.axis)
    inner = x.shape[axes[0]:]
    for name, p in zip(("scale", "bias"), inputs[1:], strict=False):
        if not dims_equal(p.shape, inner).proved:
            want = TensorType(x.dtype, inner)
            raise ShapeError(f"layer_norm: {name} must be {want} (x.shape[{a.axis}:]), got {p} "
                             f"for input {x}; "
                             "hint: scale and bias cover the normalised axes")
    return [x]


def _layer_norm_reference(inputs, a):  # noqa: ANN001, ANN202
    def fn(x, *params):  # noqa: ANN001, ANN202
        axes = tuple(range(a.axis % x.ndim, x.ndim))
        d = x - x.mean(axis=axes, keepdims=True)
        y = d / np.sqrt((d * d).mean(axis=axes, keepdims=True) + a.epsilon)
        if params:
            y = y * params[0]
        return y + params[1] if len(params) == 2 else y

    return apply_in(fn, inputs[0].dtype, *inputs)


@at_compute_precision
def _layer_norm_decompose(b, inputs, a):  # noqa: ANN001, ANN202
    x = inputs[0]
    axes = _layer_norm_axes(x.type, a.axis)
    d = b.op("sub", x, b.op("mean", x, axes=axes, keepdims=True))
    var = b.op("mean", b.op("mul", d, d), axes=axes, keepdims=True)
    eps = b.constant(np.array(a.epsilon, x.dtype.np_dtype))
    y = b.op("mul", d, b.op("rsqrt", b.op("add", var, eps)))
    if len(inputs) > 1:
        y = b.op("mul", y, inputs[1])
    if len(inputs) > 2:
        y = b.op("add", y, inputs[2])
    return [y]


defop("layer_norm", _layer_norm_infer, _layer_norm_reference, inputs=(1, 3),
      attrs={"axis": AttrSpec("int", -1, doc="first normalised axis; the rest follow it"),
             "epsilon": AttrSpec("float", 1e-5)},
      decompose=_layer_norm_decompose,
      doc="Normalise over axes axis..rank-1 to zero mean and unit variance, then scale and shift.")


# ---- softmax, log_softmax -----------------------------------------------------------------
def _softmax_infer(name: str):  # noqa: ANN202
    def infer(inputs, a):  # noqa: ANN001, ANN202
        x = inputs[0]
        require_kind(name, x, "float")
        normalize_axes(name, x, [a.axis])
        return [x]

    return infer


def _softmax(x: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


@at_compute_precision
def _softmax_decompose(b, inputs, a):  # noqa: ANN001, ANN202
    x = inputs[0]
    e = b.op("exp", b.op("sub", x, b.op("max", x, axes=(a.axis,), keepdims=True)))
    return [b.op("div", e, b.op("sum", e, axes=(a.axis,), keepdims=True))]


@at_compute_precision
def _log_softmax_decompose(b, inputs, a):  # noqa: ANN001, ANN202
    x = inputs[0]
    shifted = b.op("sub", x, b.op("max", x, axes=(a.axis,), keepdims=True))
    total = b.op("sum", b.op("exp", shifted), axes=(a.axis,), keepdims=True)
    return [b.op("sub", shifted, b.op("log", total))]


for _name, _fn, _dec, _doc in (
        ("softmax", _softmax, _softmax_decompose, "exp(x) / sum(exp(x)) along axis, computed stably."),
        ("log_softmax", _log_softmax, _log_softmax_decompose, "x - log(sum(exp(x))) along axis, stably.")):
    defop(_name, _softmax_infer(_name),
          lambda i, a, fn=_fn: apply_in(lambda v: fn(v, a.axis), i[0].dtype, i[0]),
          attrs={"axis": AttrSpec("int", -1)}, decompose=_dec, doc=_doc)


# ---- dropout ------------------------------------------------------------------------------
def _dropout_infer(inputs, a):  # noqa: ANN001, ANN202
    require_kind("dropout", inputs[0], "float")
    if not 0.0 <= a.rate < 1.0:
        raise AttributeError_(f"dropout: rate must lie in [0, 1), got {a.rate}")
    return [inputs[0]]


defop("dropout", _dropout_infer, lambda i, a: i[0], attrs={"rate": AttrSpec("float", 0.5)},
      decompose=lambda b, inputs, a: [inputs[0]],
      doc="Identity at inference; the rate is kept so that export can write it back.")
