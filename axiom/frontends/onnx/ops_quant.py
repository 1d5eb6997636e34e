"""ONNX linear quantization: QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear and the integer
kernels MatMulInteger, ConvInteger, QLinearMatMul, QLinearConv, lowered to float and integer IR ops.

Integer products are exact: matmuls run in i32, convolutions in f64 (exact for 8-bit operands).
Requantization follows onnx's reference: the multiplier in the scales' dtype, the rest in f64,
rounding half to even and saturating to the output type's range."""

from __future__ import annotations

import numpy as np
import onnx

from axiom.frontends.onnx.ops_common import ONNX_DTYPES, Ctx, converter
from axiom.frontends.onnx.ops_nn import conv2d_of
from axiom.ir.dtypes import DType, f64, i32
from axiom.ir.graph import Value

INTEGER_KINDS = ("int", "uint")


def _cast(cx: Ctx, v: Value, dtype: DType) -> Value:
    return v if v.dtype == dtype else cx.b.op("cast", v, to=dtype.name)


def _along(cx: Ctx, p: Value, x: Value, axis: int, block: int) -> Value:
    """A scale or zero point shaped to broadcast against ``x``: a scalar as is, a 1-D one along ``axis``,
    a blocked one (same rank as x) repeated ``block`` times along ``axis`` and cut to x's length."""
    b = cx.b
    if p.rank == 0 or (p.rank == 1 and p.shape[0] == 1 and block == 0):
        return p if p.rank == 0 else b.op("reshape", p, shape=())
    axis %= x.rank
    if block == 0:
        if p.rank != 1:
            raise cx.unsupported(f"a per-axis scale must be 1-D, got {p.type}")
        return b.op("reshape", p, shape=tuple(p.shape[0] if i == axis else 1 for i in range(x.rank)))
    if p.rank != x.rank:
        raise cx.unsupported(f"a blocked scale must have the input's rank, got {p.type} for {x.type}")
    wide = b.op("unsqueeze", p, axes=(axis + 1,))
    shape = list(wide.shape)
    shape[axis + 1] = block
    wide = b.op("expand", wide, shape=tuple(shape))
    merged = list(p.shape)
    merged[axis] = p.shape[axis] * block
    flat = b.op("reshape", wide, shape=tuple(merged))
    return b.op("slice", flat, starts=(0,), ends=(x.shape[axis],), axes=(axis,))


def _saturate(cx: Ctx, v: Value, dtype: DType) -> Value:
    """Round half to even, clip to ``dtype``'s range, cast."""
    if dtype.kind not in INTEGER_KINDS:
        raise cx.unsupported(f"quantizing to {dtype} is not supported (integer types only)")
    info = np.iinfo(dtype.np_dtype)
    v = cx.b.op("clip", cx.b.op("round", v), min=float(info.min), max=float(info.max))
    return cx.b.op("cast", v, to=dtype.name)


def _quant_dtype(cx: Ctx, zp_index: int) -> DType:
    if cx.has_input(zp_index):
        return cx.input(zp_index).dtype
    code = cx.attr("output_dtype", 0) or onnx.TensorProto.UINT8
    if code not in ONNX_DTYPES:
        raise cx.unsupported(f"output_dtype {onnx.TensorProto.DataType.Name(code)} is not supported")
    return ONNX_DTYPES[code]


def _check_precision(cx: Ctx) -> None:
    if cx.attr("precision", 0):
        raise cx.unsupported("the precision attribute is not supported (the scale's dtype is used)")


@converter("QuantizeLinear", since=10)
def _quantize(cx: Ctx) -> Value:
    """y = saturate(round(x / scale) + zero_point), in the scale's precision."""
    _check_precision(cx)
    x, scale = cx.input(0), cx.input(1)
    axis, block = int(cx.attr("axis", 1)), int(cx.attr("block_size", 0))
    out = _quant_dtype(cx, 2)
    q = cx.b.op("round", cx.b.op("div", _cast(cx, x, scale.dtype), _along(cx, scale, x, axis, block)))
    if cx.has_input(2):
        q = cx.b.op("add", q, _cast(cx, _along(cx, cx.input(2), x, axis, block), scale.dtype))
    return _saturate(cx, q, out)


@converter("DequantizeLinear", since=10)
def _dequantize(cx: Ctx) -> Value:
    """y = (x - zero_point) * scale, in the scale's dtype (or output_dtype)."""
    x, scale = cx.input(0), cx.input(1)
    axis, block = int(cx.attr("axis", 1)), int(cx.attr("block_size", 0))
    if x.dtype.kind not in INTEGER_KINDS:
        raise cx.unsupported(f"dequantizing {x.dtype} is not supported (integer types only)")
    y = _cast(cx, x, scale.dtype)
    if cx.has_input(2):
        y = cx.b.op("sub", y, _cast(cx, _along(cx, cx.input(2), x, axis, block), scale.dtype))
    y = cx.b.op("mul", y, _along(cx, scale, x, axis, block))
    code = cx.attr("output_dtype", 0)
    return _cast(cx, y, ONNX_DTYPES[code]) if code in ONNX_DTYPES else y


@converter("DynamicQuantizeLinear", since=11)
def _dynamic_quantize(cx: Ctx) -> list[Value]:
    """uint8 quantization with scale and zero point from the data's range (widened to include 0)."""
    b, x = cx.b, cx.input(0)
    zero = cx.scalar(0.0, x)
    hi = b.op("maximum", b.op("max", x), zero)
    lo = b.op("minimum", b.op("min", x), zero)
    span = b.op("sub", hi, lo)
    span = b.op("where", b.op("equal", span, zero), cx.scalar(1.0, x), span)
    scale = b.op("div", span, cx.scalar(255.0, x))
    zp = b.op("round", b.op("clip", b.op("neg", b.op("div", lo, scale)), min=0.0, max=255.0))
    q = b.op("clip", b.op("add", b.op("round", b.op("div", x, scale)), zp), min=0.0, max=255.0)
    return [b.op("cast", q, to="u8"), scale, b.op("cast", zp, to="u8")]


def _centered(cx: Ctx, v: Value, zp_index: int, dtype: DType, per_row: bool = False) -> Value:
    """``v - zero_point`` in ``dtype``; a 1-D zero point of A's rows is made a column (``per_row``)."""
    v = _cast(cx, v, dtype)
    if not cx.has_input(zp_index):
        return v
    zp = _cast(cx, cx.input(zp_index), dtype)
    if per_row and zp.rank == 1 and zp.shape[0] != 1:
        zp = cx.b.op("unsqueeze", zp, axes=(1,))
    return cx.b.op("sub", v, zp)


def _conv_weight_zp(cx: Ctx, w: Value, zp_index: int) -> Value:
    """The conv weight minus its zero point (per output channel when 1-D), in f64."""
    w = _cast(cx, w, f64)
    if not cx.has_input(zp_index):
        return w
    zp = _cast(cx, cx.input(zp_index), f64)
    if zp.rank == 1 and zp.shape[0] != 1:
        zp = cx.b.op("reshape", zp, shape=(zp.shape[0], 1, 1, 1))
    return cx.b.op("sub", w, zp)


@converter("MatMulInteger", since=10)
def _matmul_integer(cx: Ctx) -> Value:
    a = _centered(cx, cx.input(0), 2, i32, per_row=True)
    return cx.b.op("matmul", a, _centered(cx, cx.input(1), 3, i32))


@converter("ConvInteger", since=10)
def _conv_integer(cx: Ctx) -> Value:
    x = _centered(cx, cx.input(0), 2, f64)
    y = conv2d_of(cx, x, _conv_weight_zp(cx, cx.input(1), 3), None)
    return cx.b.op("cast", y, to="i32")


def _requantize(cx: Ctx, acc: Value, scales: tuple[int, int], out_scale: int, out_zp: int,
                per_channel_axis: int | None) -> Value:
    """saturate(round(acc * (s_a * s_b / s_y)) + zp_y), the multiplier in the scales' dtype."""
    b = cx.b
    sa, sb = cx.input(scales[0]), cx.input(scales[1])
    if per_channel_axis is not None and sb.rank == 1 and sb.shape[0] != 1:
        sb = b.op("reshape", sb, shape=tuple(sb.shape[0] if i == per_channel_axis else 1
                                             for i in range(acc.rank)))
    mult = b.op("div", b.op("mul", sa, sb), cx.input(out_scale))
    r = b.op("mul", _cast(cx, acc, f64), _cast(cx, mult, f64))
    if not cx.has_input(out_zp):
        return _saturate(cx, r, cx.input(0).dtype)
    zp = cx.input(out_zp)
    return _saturate(cx, b.op("add", r, _cast(cx, zp, f64)), zp.dtype)


@converter("QLinearMatMul", since=10)
def _qlinear_matmul(cx: Ctx) -> Value:
    a = _centered(cx, cx.input(0), 2, i32, per_row=True)
    b = _centered(cx, cx.input(3), 5, i32)
    return _requantize(cx, cx.b.op("matmul", a, b), (1, 4), 6, 7, None)


@converter("QLinearConv", since=10)
def _qlinear_conv(cx: Ctx) -> Value:
    x = _centered(cx, cx.input(0), 2, f64)
    bias = _cast(cx, cx.input(8), f64) if cx.has_input(8) else None
    acc = conv2d_of(cx, x, _conv_weight_zp(cx, cx.input(3), 5), bias)
    return _requantize(cx, acc, (1, 4), 6, 7, 1)
