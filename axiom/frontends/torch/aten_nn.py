"""ATen converters for the neural-network ops: matrix products, convolution, pooling, softmax, layer
and batch norm, embedding."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from torch import fx

from axiom.frontends.torch.aten_common import Ctx, aten, schema_args
from axiom.ir.graph import Value


@aten("mm.default", "bmm.default", "matmul.default")
def _matmul(cx: Ctx) -> Value:
    return cx.b.matmul(cx.tensor("self"), cx.tensor("mat2" if "mat2" in cx.raw else "other"))


@aten("addmm.default")
def _addmm(cx: Ctx) -> Value:
    prod = cx.b.matmul(cx.tensor("mat1"), cx.tensor("mat2"))
    alpha, beta = cx.arg("alpha"), cx.arg("beta")
    if alpha != 1:
        prod = cx.b.mul(prod, cx.scalar(alpha, prod.dtype))
    if beta == 0:
        return prod
    bias = cx.tensor("self")
    return cx.b.add(prod, bias if beta == 1 else cx.b.mul(bias, cx.scalar(beta, bias.dtype)))


@aten("linear.default")
def _linear(cx: Ctx) -> Value:
    bias = cx.arg("bias")
    return cx.b.linear(cx.tensor("input"), cx.tensor("weight"), *([] if bias is None else [bias]))


def _pair(v: int | Sequence[int], default: Sequence[int] = ()) -> list[int]:
    """A torch size argument (an int, one int per axis, or an empty list meaning ``default``) as 2 ints."""
    if isinstance(v, int):
        return [v, v]
    v = list(v) or list(default)
    return v * 2 if len(v) == 1 else v


def _conv_check(node: fx.Node) -> str | None:
    args = schema_args(node)
    if args["transposed"]:
        return "transposed convolution is not supported"
    rank = len(args["weight"].meta["val"].shape)
    return None if rank in (3, 4) else f"{rank - 2}-D convolution (only 1-D and 2-D are supported)"


@aten("convolution.default", check=_conv_check)
def _convolution(cx: Ctx) -> Value:
    x, w, bias = cx.tensor("input"), cx.tensor("weight"), cx.arg("bias")
    stride, padding, dilation = (list(cx.arg(n)) for n in ("stride", "padding", "dilation"))
    one_d = w.rank == 3
    if one_d:  # as a 2-D convolution over a height of 1
        x, w = cx.b.unsqueeze(x, axes=[2]), cx.b.unsqueeze(w, axes=[2])
        stride, padding, dilation = [1, *stride], [0, *padding], [1, *dilation]
    stride, padding, dilation = _pair(stride), _pair(padding), _pair(dilation)
    ins = [x, w] if bias is None else [x, w, bias]
    out = cx.b.conv2d(*ins, stride=stride, padding=padding * 2, dilation=dilation, groups=cx.arg("groups"))
    return cx.b.squeeze(out, axes=[2]) if one_d else out


def _window(cx: Ctx) -> dict:
    kernel = _pair(cx.arg("kernel_size"))
    return {"kernel": kernel, "stride": _pair(cx.arg("stride"), kernel),
            "padding": _pair(cx.arg("padding")) * 2, "ceil_mode": bool(cx.arg("ceil_mode"))}


@aten("max_pool2d_with_indices.default", outputs=1)
def _max_pool_indices(cx: Ctx) -> tuple[Value, None]:
    return (_max_pool(cx), None)


@aten("max_pool2d.default")
def _max_pool(cx: Ctx) -> Value:
    return cx.b.max_pool2d(cx.tensor("self"), dilation=_pair(cx.arg("dilation")), **_window(cx))


def _avg_check(node: fx.Node) -> str | None:
    return None if schema_args(node).get("divisor_override") is None else "divisor_override is not supported"


@aten("avg_pool2d.default", check=_avg_check)
def _avg_pool(cx: Ctx) -> Value:
    return cx.b.avg_pool2d(cx.tensor("self"), count_include_pad=bool(cx.arg("count_include_pad")),
                           **_window(cx))


def _adaptive_check(node: fx.Node) -> str | None:
    args = schema_args(node)
    hw = args["self"].meta["val"].shape[-2:]
    out = _pair(args["output_size"])
    if out == [1, 1]:
        return None
    if all(isinstance(d, int) for d in hw) and all(d % o == 0 for d, o in zip(hw, out, strict=True)):
        return None
    return f"an output size {out} that does not evenly divide the input's {list(hw)}"


@aten("_adaptive_avg_pool2d.default", "adaptive_avg_pool2d.default", check=_adaptive_check)
def _adaptive_avg_pool(cx: Ctx) -> Value:
    x = cx.tensor("self")
    out = _pair(cx.arg("output_size"))
    if out == [1, 1]:
        return cx.b.global_avg_pool2d(x)
    kernel = [int(d) // o for d, o in zip(x.shape[-2:], out, strict=True)]
    return cx.b.avg_pool2d(x, kernel=kernel, stride=kernel)


@aten("_softmax.default", "softmax.int")
def _softmax(cx: Ctx) -> Value:
    return cx.b.softmax(cx.as_dtype(cx.tensor("self"), cx.out_dtype()), axis=cx.arg("dim"))


@aten("_log_softmax.default", "log_softmax.int")
def _log_softmax(cx: Ctx) -> Value:
    return cx.b.log_softmax(cx.as_dtype(cx.tensor("self"), cx.out_dtype()), axis=cx.arg("dim"))


def _param(cx: Ctx, name: str, size: int, fill: float, like: Value) -> Value:
    """An optional affine parameter, or a constant of ``fill`` when it is None."""
    v = cx.arg(name)
    return v if v is not None else cx.b.constant(np.full(size, fill, like.dtype.np_dtype))


@aten("native_layer_norm.default", outputs=1)
def _layer_norm(cx: Ctx) -> tuple[Value, None, None]:
    x, shape = cx.tensor("input"), list(cx.arg("normalized_shape"))
    weight, bias = cx.arg("weight"), cx.arg("bias")
    ins = [x]
    if weight is not None or bias is not None:
        ins.append(weight if weight is not None else cx.b.constant(np.ones(shape, x.dtype.np_dtype)))
    if bias is not None:
        ins.append(bias)
    return (cx.b.layer_norm(*ins, axis=-len(shape), epsilon=float(cx.arg("eps"))), None, None)


@aten("_native_batch_norm_legit_no_training.default", outputs=1)
def _batch_norm(cx: Ctx) -> tuple[Value, None, None]:
    x = cx.tensor("input")
    c = int(x.shape[1])
    ins = [x, _param(cx, "weight", c, 1.0, x), _param(cx, "bias", c, 0.0, x),
           cx.tensor("running_mean"), cx.tensor("running_var")]
    return (cx.b.batch_norm(*ins, epsilon=float(cx.arg("eps"))), None, None)


@aten("embedding.default")
def _embedding(cx: Ctx) -> Value:
    return cx.b.gather(cx.tensor("weight"), cx.tensor("indices"), axis=0)
