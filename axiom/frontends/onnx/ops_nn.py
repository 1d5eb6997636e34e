"""ONNX linear algebra and neural-network ops: MatMul, Gemm, Conv, the 2-D pools, BatchNormalization,
Softmax and LogSoftmax (LayerNormalization is in ops_norm_loss)."""

from __future__ import annotations

from onnx import NodeProto

from axiom.frontends.onnx.ops_common import Ctx, attr_of, converter, only_first_output
from axiom.ir.graph import Value


@converter("MatMul", since=1)
def _matmul(cx: Ctx) -> Value:
    return cx.b.op("matmul", cx.input(0), cx.input(1))


@converter("Gemm", since=7)
def _gemm(cx: Ctx) -> Value:
    """alpha * A' @ B' + beta * C, with A' and B' transposed as transA and transB say."""
    b = cx.b
    a, w = cx.input(0), cx.input(1)
    if cx.attr("transA", 0):
        a = b.op("transpose", a, perm=(1, 0))
    if cx.attr("transB", 0):
        w = b.op("transpose", w, perm=(1, 0))
    y = b.op("matmul", a, w)
    alpha, beta = float(cx.attr("alpha", 1.0)), float(cx.attr("beta", 1.0))
    if alpha != 1.0:
        y = b.op("mul", y, cx.scalar(alpha, y))
    if not cx.has_input(2) or beta == 0.0:
        return y
    c = cx.input(2)
    if beta != 1.0:
        c = b.op("mul", c, cx.scalar(beta, c))
    return b.op("add", y, c)


# ---- windows: Conv and the pools ------------------------------------------------------------
def _window_check(node: NodeProto, opset: int) -> str | None:
    kernel = attr_of(node, "kernel_shape")
    if kernel is not None and len(kernel) != 2:
        return f"only 2-D windows are supported, got kernel_shape={list(kernel)}"
    auto_pad = attr_of(node, "auto_pad", "NOTSET")
    if auto_pad not in ("NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"):
        return f"unknown auto_pad {auto_pad!r}"
    if attr_of(node, "storage_order", 0):
        return "storage_order=1 (column-major indices) is not supported"
    return only_first_output(node, opset)


def _padding(cx: Ctx, x: Value, kernel: tuple[int, ...], stride: tuple[int, ...],
             dilation: tuple[int, ...]) -> tuple[int, ...]:
    """ONNX pads [top, left, bottom, right] (our order), or the ones auto_pad asks for."""
    auto_pad = cx.attr("auto_pad", "NOTSET")
    if auto_pad == "NOTSET":
        return tuple(cx.attr("pads", (0, 0, 0, 0)))
    if auto_pad == "VALID":
        return (0, 0, 0, 0)
    begin, end = [], []
    for size, k, s, d in zip(x.shape[2:], kernel, stride, dilation, strict=True):
        if not isinstance(size, int):
            raise cx.unsupported(f"auto_pad={auto_pad} needs static spatial dims, got input {x.type}")
        out = -(-size // s)
        total = max(0, (out - 1) * s + (k - 1) * d + 1 - size)
        small = total // 2
        begin.append(small if auto_pad == "SAME_UPPER" else total - small)
        end.append(total - begin[-1])
    return (*begin, *end)


def _require_image(cx: Ctx, x: Value) -> None:
    if x.rank != 4:
        raise cx.unsupported(f"only 2-D images (rank-4 NCHW input) are supported, got {x.type}")


@converter("Conv", since=1, check=_window_check)
def _conv(cx: Ctx) -> Value:
    return conv2d_of(cx, cx.input(0), cx.input(1), cx.input(2) if cx.has_input(2) else None)


def conv2d_of(cx: Ctx, x: Value, w: Value, bias: Value | None) -> Value:
    """The conv2d a Conv-like node's attributes describe (kernel, strides, dilations, pads, group)."""
    _require_image(cx, x)
    kernel = tuple(cx.attr("kernel_shape", w.shape[2:]))
    stride = tuple(cx.attr("strides", (1, 1)))
    dilation = tuple(cx.attr("dilations", (1, 1)))
    if not all(isinstance(k, int) for k in kernel):
        raise cx.unsupported(f"the kernel size must be static, got weight {w.type}")
    padding = _padding(cx, x, kernel, stride, dilation)
    operands = [x, w] if bias is None else [x, w, bias]
    return cx.b.op("conv2d", *operands, stride=stride, padding=padding, dilation=dilation,
                   groups=int(cx.attr("group", 1)))


def _pool_window(cx: Ctx, x: Value, dilation: tuple[int, ...]) -> dict:
    """The window attributes both pools share: kernel, stride, padding (auto_pad resolved), ceil mode."""
    kernel = tuple(cx.attr("kernel_shape"))
    stride = tuple(cx.attr("strides", (1, 1)))
    return {"kernel": kernel, "stride": stride, "padding": _padding(cx, x, kernel, stride, dilation),
            "ceil_mode": bool(cx.attr("ceil_mode", 0))}


@converter("MaxPool", since=8, check=_window_check)
def _max_pool(cx: Ctx) -> Value:
    x = cx.input(0)
    _require_image(cx, x)
    dilation = tuple(cx.attr("dilations", (1, 1)))
    return cx.b.op("max_pool2d", x, dilation=dilation, **_pool_window(cx, x, dilation))


def _avg_pool_check(node: NodeProto, opset: int) -> str | None:
    dilations = attr_of(node, "dilations")
    if dilations is not None and any(d != 1 for d in dilations):
        return f"dilations={list(dilations)} are not supported by AveragePool"
    return _window_check(node, opset)


@converter("AveragePool", since=7, check=_avg_pool_check)
def _avg_pool(cx: Ctx) -> Value:
    x = cx.input(0)
    _require_image(cx, x)
    return cx.b.op("avg_pool2d", x, count_include_pad=bool(cx.attr("count_include_pad", 0)),
                   **_pool_window(cx, x, (1, 1)))


@converter("GlobalAveragePool", since=1)
def _global_avg_pool(cx: Ctx) -> Value:
    x = cx.input(0)
    _require_image(cx, x)
    return cx.b.op("global_avg_pool2d", x)


# ---- normalisation -----------------------------------------------------------------------
def _batch_norm_check(node: NodeProto, opset: int) -> str | None:
    if attr_of(node, "training_mode", 0):
        return "training_mode=1 is not supported (inference only)"
    return only_first_output(node, opset)


@converter("BatchNormalization", since=7, check=_batch_norm_check)
def _batch_norm(cx: Ctx) -> Value:
    return cx.b.op("batch_norm", *(cx.input(i) for i in range(5)), epsilon=float(cx.attr("epsilon", 1e-5)))


# ---- softmax -------------------------------------------------------------------------------
@converter("Softmax", "LogSoftmax", since=13)
def _softmax(cx: Ctx) -> Value:
    op = "softmax" if cx.node.op_type == "Softmax" else "log_softmax"
    return cx.b.op(op, cx.input(0), axis=int(cx.attr("axis", -1)))


@converter("Softmax", "LogSoftmax", since=1, until=12)
def _softmax_2d(cx: Ctx) -> Value:
    """Before opset 13 the input is flattened to 2-D at ``axis`` (default 1) and normalised over
    the second dim, so every axis from ``axis`` on is normalised together."""
    op = "softmax" if cx.node.op_type == "Softmax" else "log_softmax"
    x = cx.input(0)
    axis = int(cx.attr("axis", 1))
    axis = axis + x.rank if axis < 0 else axis
    if axis == x.rank - 1:
        return cx.b.op(op, x, axis=-1)
    flat = cx.b.op("flatten", x, axis=axis)
    return cx.b.op("reshape", cx.b.op(op, flat, axis=-1), shape=x.shape)
