"""ONNX export of the math ops (axiom/ir/ops/math_ops.py): mostly one ONNX node each; integer ``mod``
by zero and over-wide ``bitshift`` are guarded, since ONNX leaves those undefined."""

from __future__ import annotations

from axiom.frontends.onnx.export import elem_type
from axiom.frontends.onnx.export_ops import exporter, safe_divisor
from axiom.ir.errors import UnsupportedError

_ONE_NODE = {"tan": "Tan", "asin": "Asin", "acos": "Acos", "atan": "Atan", "sinh": "Sinh", "cosh": "Cosh",
             "asinh": "Asinh", "acosh": "Acosh", "atanh": "Atanh", "floor": "Floor", "ceil": "Ceil",
             "round": "Round", "sign": "Sign", "is_nan": "IsNaN", "bitwise_not": "BitwiseNot",
             "bitwise_and": "BitwiseAnd", "bitwise_or": "BitwiseOr", "bitwise_xor": "BitwiseXor"}


@exporter(*_ONE_NODE)
def _one_node(ctx, node, ins, problems):  # noqa: ANN001, ANN202
    return ctx.add(_ONE_NODE[node.op.name], ins)


@exporter("is_inf")
def _is_inf(ctx, node, ins, problems):  # noqa: ANN001, ANN202
    a = node.attrs
    return ctx.add("IsInf", ins, detect_positive=int(a.detect_positive),
                   detect_negative=int(a.detect_negative))


@exporter("mod")
def _mod(ctx, node, ins, problems):  # noqa: ANN001, ANN202
    dt = node.results[0].dtype
    if dt.is_float:  # ONNX's Mod takes floats only with fmod=1; else move fmod's r to y's sign, as numpy
        r = ctx.add1("Mod", ins, fmod=1)
        if node.attrs.fmod:
            return [r]
        zero = ctx.scalar(0, dt)
        signs_differ = ctx.add1("Xor", [ctx.add1("Less", [r, zero]), ctx.add1("Less", [ins[1], zero])])
        adjust = ctx.add1("And", [signs_differ, ctx.add1("Not", [ctx.add1("Equal", [r, zero])])])
        return ctx.add("Where", [adjust, ctx.add1("Add", [r, ins[1]]), r])
    nonzero, safe = safe_divisor(ctx, ins[1], dt)  # y == 0 becomes 1 and its remainder 0
    rem = ctx.add1("Mod", [ins[0], safe], fmod=int(node.attrs.fmod))
    return ctx.add("Mul", [rem, nonzero])


@exporter("bitshift")
def _bitshift(ctx, node, ins, problems):  # noqa: ANN001, ANN202
    dt = node.results[0].dtype
    if dt.kind == "int":
        if ctx.opset < 28:
            raise UnsupportedError(f"BitShift of signed {dt} needs ONNX opset 28, exporting at {ctx.opset}")
        return ctx.add("BitShift", ins, direction=node.attrs.direction)
    # Unsigned: ONNX leaves shifts by the bit width or more undefined; ours give 0 (a multiplied mask,
    # since onnxruntime's Where lacks u16/u32/u64).
    fits = ctx.add1("Cast", [ctx.add1("Less", [ins[1], ctx.scalar(dt.bits, dt)])], to=elem_type(dt))
    shifted = ctx.add1("BitShift", [ins[0], ctx.add1("Mul", [ins[1], fits])], direction=node.attrs.direction)
    return ctx.add("Mul", [shifted, fits])
