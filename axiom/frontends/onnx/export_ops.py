"""The exporter table: one small function per IR op (or op family) that writes it as ONNX nodes.

Each takes the export context, the node, its operands' ONNX names and the problem list (used by
``fused``, whose body may hold unsupported ops), and returns the ONNX names of its results. The
mappings follow the IR semantics exactly, e.g. integer ``div`` by zero gives 0 and float-to-int
``cast`` saturates and maps NaN to 0, which plain ONNX ops leave undefined.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from axiom.frontends.onnx.export import ExportContext, elem_type, export_nodes
from axiom.ir.dims import dim_eq
from axiom.ir.errors import UnsupportedError
from axiom.ir.graph import Node

Exporter = Callable[[ExportContext, Node, list[str], list[str]], list[str]]
EXPORTERS: dict[str, Exporter] = {}


def _simple(op: str, onnx_op: str) -> None:
    """An op that is one ONNX node of the same operands and no attributes."""
    EXPORTERS[op] = lambda ctx, node, ins, problems: ctx.add(onnx_op, ins)


for _op, _onnx in {
        "neg": "Neg", "abs": "Abs", "exp": "Exp", "log": "Log", "sqrt": "Sqrt", "reciprocal": "Reciprocal",
        "sin": "Sin", "cos": "Cos", "tanh": "Tanh", "erf": "Erf", "sigmoid": "Sigmoid", "relu": "Relu",
        "softplus": "Softplus", "add": "Add", "sub": "Sub", "mul": "Mul", "pow": "Pow",
        "maximum": "Max", "minimum": "Min", "equal": "Equal", "less": "Less",
        "less_equal": "LessOrEqual", "greater": "Greater", "greater_equal": "GreaterOrEqual",
        "logical_and": "And", "logical_or": "Or", "logical_xor": "Xor", "logical_not": "Not",
        "where": "Where", "matmul": "MatMul", "dropout": "Identity"}.items():
    _simple(_op, _onnx)


def exporter(*ops: str) -> Callable[[Exporter], Exporter]:
    def register(fn: Exporter) -> Exporter:
        for op in ops:
            EXPORTERS[op] = fn
        return fn

    return register


def _channels_first(ctx: ExportContext, node: Node, ins: list[str], build: Callable[[list[str]], list[str]]
                    ) -> list[str]:
    """Export a layout-sensitive op: as is when NCHW; when NHWC, its image (operand 0) is transposed to
    channels-first, the ONNX op built on that, and the result transposed back (ONNX images are NCHW)."""
    if node.attrs.layout != "NHWC":
        return build(ins)
    rank = node.inputs[0].rank
    to_first = [0, rank - 1, *range(1, rank - 1)]
    to_last = [0, *range(2, rank), 1]
    first = ctx.add1("Transpose", [ins[0]], perm=to_first)
    return [ctx.add1("Transpose", [y], perm=to_last) for y in build([first, *ins[1:]])]


# ---- elementwise --------------------------------------------------------------------------
@exporter("const")
def _const(ctx, node, ins, problems):  # noqa: ANN001, ANN202
    return [ctx.graph_constant(node.attrs.name)]


@exporter("not_equal")
def _not_equal(ctx, node, ins, problems):  # noqa: ANN001, ANN202
    return [ctx.add1("Not", [ctx.add1("Equal", ins)])]


@exporter("rsqrt")
def _rsqrt(ctx, node, ins, problems):  # noqa: ANN001, ANN202
    return [ctx.add1("Reciprocal", [ctx.add1("Sqrt", ins)])]


@exporter("leaky_relu")
def _leaky_relu(ctx, node, ins, problems):  # noqa: ANN001, ANN202
    return ctx.add("LeakyRelu", ins, alpha=node.attrs.alpha)


@exporter("gelu")
def _gelu(ctx, node, ins, problems):  # noqa: ANN001, ANN202
    approximate = node.attrs.approximate
    if ctx.opset >= 20:
        return ctx.add("Gelu", ins, approximate=approximate)
    dt, x = node.inputs[0].dtype, ins[0]
    if approximate == "tanh":  # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        cube = ctx.add1("Mul", [ctx.add1("Mul", [x, x]), x])
        inner = ctx.add1("Add", [x, ctx.add1("Mul", [cube, ctx.scalar(0.044715, dt)])])
        t = ctx.add1("Tanh", [ctx.add1("Mul", [inner, ctx.scalar(math.sqrt(2 / math.pi), dt)])])
    else:  # 0.5 x (1 + erf(x / sqrt(2)))
        t = ctx.add1("Erf", [ctx.add1("Div", [x, ctx.scalar(math.sqrt(2.0), dt)])])
    half_x = ctx.add1("Mul", [x, ctx.scalar(0.5, dt)])
    return [ctx.add1("Mul", [half_x, ctx.add1("Add", [t, ctx.scalar(1, dt)])])]


@exporter("div")
def _div(ctx, node, ins, problems):  # noqa: ANN001, ANN202
    dt = node.results[0].dtype
    if dt.is_float:
        return ctx.add("Div", ins)
    # Integer Div truncates in ONNX too; a zero divisor is replaced by 1 and its quotient by 0.
    nonzero, safe = safe_divisor(ctx, ins[1], dt)
    return ctx.add("Mul", [ctx.add1("Div", [ins[0], safe]), nonzero])


def safe_divisor(ctx: ExportContext, y: str, dt) -> tuple[str, str]:  # noqa: ANN001 - DType
    """(1 where integer ``y`` is nonzero else 0, ``y`` with its zeros replaced by 1), both of ``y``'s type:
    multiplied masks, since onnxruntime's Where has no u16/u32/u64 kernels."""
    is_zero = ctx.add1("Equal", [y, ctx.scalar(0, dt)])
    nonzero = ctx.add1("Cast", [ctx.add1("Not", [is_zero])], to=elem_type(dt))
    return nonzero, ctx.add1("Add", [y, ctx.add1("Sub", [ctx.scalar(1, dt), nonzero])])


@exporter("cast")
def _cast(ctx, node, ins, problems):  # noqa: ANN001, ANN202
    src, to = node.inputs[0].dtype, node.attrs.to
    from axiom.frontends.onnx.export import elem_type

    if not (src.is_float and to.is_int):
        return ctx.add("Cast", ins, to=elem_type(to))
    # Float to int: NaN -> 0, saturate at the bounds, else truncate (Cast truncates in range).
    x = ins[0]
    info = np.iinfo(to.np_dtype)
    cleaned = ctx.add1("Where", [ctx.add1("IsNaN", [x]), ctx.scalar(0, src), x])
    lo_f, hi_f = ctx.scalar(info.min, src), ctx.scalar(info.max, src)
    clamped = ctx.add1("Max", [ctx.add1("Min", [cleaned, hi_f]), lo_f])
    y = ctx.add1("Cast", [clamped], to=elem_type(to))
    # hi_f may round above the max (2**31 for i32 in f32), where Cast would overflow: pin it.
    high = ctx.add1("GreaterOrEqual", [cleaned, hi_f])
    return ctx.add("Where", [high, ctx.scalar(info.max, to), y])


@exporter("clip")
def _clip(ctx, node, ins, problems):  # noqa: ANN001, ANN202
    dt, a = node.inputs[0].dtype, node.attrs
    lo, hi = a.min, a.max
    if dt.is_int:  # clamp to the integers inside [min, max] that the dtype holds, as the reference
        info = np.iinfo(dt.np_dtype)
        lo = None if lo is None else math.ceil(min(max(lo, info.min), info.max))
        hi = None if hi is None else math.floor(min(max(hi, info.min), info.max))
    bounds = ["" if b is None else ctx.scalar(b, dt) for b in (lo, hi)]
    return ctx.add("Clip", [ins[0], *bounds])


# ---- linear algebra and nn ----------------------------------------------------------------
@exporter("linear")
def _linear(ctx, node, ins, problems):  # noqa: ANN001, ANN202
    if node.inputs[0].rank == 2:
        return ctx.add("Gemm", ins, transB=1)
    y = ctx.add1("MatMul", [ins[0], ctx.add1("Transpose", [ins[1]], perm=[1, 0])])
    return [ctx.add1("Add", [y, ins[2]])] if len(ins) == 3 else [y]


@exporter("conv2d")
def _conv2d(ctx, node, ins, problems):  # noqa: ANN001, ANN202
    a = node.attrs
    kernel = [int(k) for k in node.inputs[1].shape[2:]]
    return _channels_first(ctx, node, ins, lambda xs: ctx.add(
        "Conv", xs, kernel_shape=kernel, strides=list(a.stride), pads=list(a.padding),
        dilations=list(a.dilation), group=a.groups))


def _window_attrs(node: Node) -> dict:
    a = node.attrs
    stride = a.kernel if a.stride is None else a.stride
    # IR padding (top, left, bottom, right) is ONNX's (h_begin, w_begin, h_end, w_end).
    return {"kernel_shape": list(a.kernel), "strides": list(stride), "pads": list(a.padding),
            "ceil_mode": int(a.ceil_mode)}


@exporter("max_pool2d")
def _max_pool(ctx, node, ins, problems):  # noqa: ANN001, ANN202
    return _channels_first(ctx, node, ins, lambda xs: ctx.add(
        "MaxPool", xs, dilations=list(node.attrs.dilation), **_window_attrs(node)))


@exporter("avg_pool2d")
def _avg_pool(ctx, node, ins, problems):  # noqa: ANN001, ANN202
    return _channels_first(ctx, node, ins, lambda xs: ctx.add(
        "AveragePool", xs, count_include_pad=int(node.attrs.count_include_pad), **_window_attrs(node)))


@exporter("global_avg_pool2d")
def _global_avg_pool(ctx, node, ins, problems):  # noqa: ANN001, ANN202
    return _channels_first(ctx, node, ins, lambda xs: ctx.add("GlobalAveragePool", xs))


@exporter("batch_norm")
def _batch_norm(ctx, node, ins, problems):  # noqa: ANN001, ANN202
    return _channels_first(ctx, node, ins, lambda xs: ctx.add("BatchNormalization", xs,
                                                               epsilon=node.attrs.epsilon))


@exporter("layer_norm")
def _layer_norm(ctx, node, ins, problems):  # noqa: ANN001, ANN202
    x = node.inputs[0]
    axis = node.attrs.axis % x.rank
    ins = list(ins)
    if len(ins) == 1:  # ONNX needs a scale: ones over the normalised dims
        inner = x.shape[axis:]
        if not all(isinstance(d, int) for d in inner):
            raise UnsupportedError("layer_norm without a scale over symbolic dims; hint: give a scale")
        ins.append(ctx.const(np.ones(inner, x.dtype.np_dtype), base="ones"))
    return ctx.add("LayerNormalization", ins, axis=axis, epsilon=node.attrs.epsilon)


@exporter("softmax", "log_softmax")
def _softmax(ctx, node, ins, problems):  # noqa: ANN001, ANN202
    op = "Softmax" if node.op.name == "softmax" else "LogSoftmax"
    return ctx.add(op, ins, axis=node.attrs.axis)


# ---- reductions ---------------------------------------------------------------------------
REDUCE_OPS = {"sum": "ReduceSum", "mean": "ReduceMean", "max": "ReduceMax", "min": "ReduceMin",
              "prod": "ReduceProd"}


@exporter(*REDUCE_OPS)
def _reduce(ctx, node, ins, problems):  # noqa: ANN001, ANN202
    axes = node.attrs.axes
    if axes is not None and len(axes) == 0:  # numpy: reduce over no axis
        return ctx.add("Identity", ins)
    operands = list(ins) if axes is None else [ins[0], ctx.ints(axes)]  # no axes input: all of them
    return ctx.add(REDUCE_OPS[node.op.name], operands, keepdims=int(node.attrs.keepdims))


@exporter("argmax", "argmin")
def _arg(ctx, node, ins, problems):  # noqa: ANN001, ANN202
    a = node.attrs
    op = "ArgMax" if node.op.name == "argmax" else "ArgMin"
    return ctx.add(op, ins, axis=a.axis, keepdims=int(a.keepdims), select_last_index=int(a.select_last_index))


# ---- shape ops ----------------------------------------------------------------------------
@exporter("reshape")
def _reshape(ctx, node, ins, problems):  # noqa: ANN001, ANN202
    src, target = node.inputs[0].shape, list(node.attrs.shape)
    if 0 in target:  # a real 0: spell every dim out, read literally
        return ctx.add("Reshape", [ins[0], ctx.shape_tensor(target)], allowzero=1)
    codes: list[object] = []
    for i, d in enumerate(target):
        same = i < len(src) and not isinstance(d, int) and dim_eq(src[i], d).proved
        codes.append(0 if same else d)  # 0 copies the input's dim at that position
    symbolic = [i for i, d in enumerate(codes) if not isinstance(d, int)]
    if len(symbolic) == 1:
        codes[symbolic[0]] = -1  # the one unknown dim is inferred from the element count
    if all(isinstance(d, int) for d in codes):
        return ctx.add("Reshape", [ins[0], ctx.ints(codes)])  # type: ignore[arg-type]
    return ctx.add("Reshape", [ins[0], ctx.shape_tensor(target)])


@exporter("expand")
def _expand(ctx, node, ins, problems):  # noqa: ANN001, ANN202
    src, target = node.inputs[0].shape, list(node.attrs.shape)
    lead = len(target) - len(src)
    dims = [1 if i >= lead and not isinstance(d, int) and dim_eq(src[i - lead], d).proved else d
            for i, d in enumerate(target)]  # ONNX Expand broadcasts, so 1 keeps the input's dim
    return ctx.add("Expand", [ins[0], ctx.shape_tensor(dims)])


@exporter("transpose")
def _transpose(ctx, node, ins, problems):  # noqa: ANN001, ANN202
    perm = node.attrs.perm
    rank = node.inputs[0].rank
    return ctx.add("Transpose", ins, perm=list(range(rank))[::-1] if perm is None else list(perm))


@exporter("flatten")
def _flatten(ctx, node, ins, problems):  # noqa: ANN001, ANN202
    return ctx.add("Flatten", ins, axis=node.attrs.axis)


@exporter("concat")
def _concat(ctx, node, ins, problems):  # noqa: ANN001, ANN202
    return ctx.add("Concat", ins, axis=node.attrs.axis)


@exporter("split")
def _split(ctx, node, ins, problems):  # noqa: ANN001, ANN202
    sizes = list(node.attrs.sizes)
    return ctx.add("Split", [ins[0], ctx.ints(sizes)], outputs=len(sizes), axis=node.attrs.axis)


@exporter("slice")
def _slice(ctx, node, ins, problems):  # noqa: ANN001, ANN202
    a = node.attrs
    operands = [ins[0], ctx.ints(a.starts), ctx.ints(a.ends)]
    operands.append("" if a.axes is None else ctx.ints(a.axes))
    if a.steps is not None:
        operands.append(ctx.ints(a.steps))
    return ctx.add("Slice", operands)


@exporter("squeeze", "unsqueeze")
def _squeeze(ctx, node, ins, problems):  # noqa: ANN001, ANN202
    axes = node.attrs.axes  # squeeze's axes are resolved when the node is built
    if not axes:  # ONNX Squeeze without axes would drop every 1, static or not
        return ctx.add("Identity", ins)
    op = "Squeeze" if node.op.name == "squeeze" else "Unsqueeze"
    return ctx.add(op, [ins[0], ctx.ints(axes)])


@exporter("gather")
def _gather(ctx, node, ins, problems):  # noqa: ANN001, ANN202
    return ctx.add("Gather", ins, axis=node.attrs.axis)


@exporter("pad")
def _pad(ctx, node, ins, problems):  # noqa: ANN001, ANN202
    a = node.attrs
    operands = [ins[0], ctx.ints(a.pads)]
    if a.mode == "constant":
        operands.append(ctx.scalar(a.value, node.inputs[0].dtype))
    return ctx.add("Pad", operands, mode=a.mode)


# ---- regions ------------------------------------------------------------------------------
@exporter("fused")
def _fused(ctx, node, ins, problems):  # noqa: ANN001, ANN202
    body = node.region
    for arg, name in zip(body.inputs, ins, strict=True):
        ctx.names[id(arg)] = name
    before = len(problems)
    export_nodes(ctx, body, problems)
    if len(problems) > before:
        raise UnsupportedError(f"its body ({node.attrs.kind or 'fused'}) holds the ops above")
    return [ctx.name(v) for v in body.outputs]
