"""ONNX elementwise ops: arithmetic, activations, comparisons and logic, Clip, Cast, Where, plus the
pass-through ops (Identity, Dropout) and Constant."""

from __future__ import annotations

import functools

import numpy as np
from onnx import numpy_helper

from axiom.frontends.onnx.ops_common import (
    ONNX_DTYPES,
    Ctx,
    attr_of,
    converter,
    dtype_name,
    only_first_output,
)
from axiom.ir.graph import Value

_UNARY = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "Exp": "exp", "Log": "log", "Sqrt": "sqrt",
          "Neg": "neg", "Abs": "abs", "Softplus": "softplus", "Sin": "sin", "Cos": "cos",
          "Reciprocal": "reciprocal", "Not": "logical_not"}
_BINARY = {"Add": "add", "Sub": "sub", "Mul": "mul", "Div": "div", "Equal": "equal", "Less": "less",
           "Greater": "greater", "And": "logical_and", "Or": "logical_or", "Xor": "logical_xor"}


@converter(*_UNARY, since=1)  # opsets before 6 only add the ignored legacy consumed_inputs attribute
def _unary(cx: Ctx) -> Value:
    return cx.b.op(_UNARY[cx.node.op_type], cx.input(0))


@converter("Erf", since=9)
def _erf(cx: Ctx) -> Value:
    return cx.b.op("erf", cx.input(0))


@converter(*_BINARY, since=7)
def _binary(cx: Ctx) -> Value:
    return cx.b.op(_BINARY[cx.node.op_type], cx.input(0), cx.input(1))


@converter("LessOrEqual", "GreaterOrEqual", since=12)
def _compare_or_equal(cx: Ctx) -> Value:
    op = "less_equal" if cx.node.op_type == "LessOrEqual" else "greater_equal"
    return cx.b.op(op, cx.input(0), cx.input(1))


@converter("Max", "Min", "Sum", since=8)
def _variadic(cx: Ctx) -> Value:
    op = {"Max": "maximum", "Min": "minimum", "Sum": "add"}[cx.node.op_type]
    return functools.reduce(lambda x, y: cx.b.op(op, x, y), cx.inputs())


@converter("Pow", since=7)
def _pow(cx: Ctx) -> Value:
    """ONNX lets the exponent's type differ from the base's (opset 12+); ours does not, so cast it."""
    x, y = cx.input(0), cx.input(1)
    if x.dtype.kind != "float":  # integer bases: ours is a float op, so compute in f64 (exact to 2^53)
        wide = cx.b.op("pow", cx.b.op("cast", x, to="f64"), cx.b.op("cast", y, to="f64"))
        return cx.b.op("cast", wide, to=x.dtype)
    if y.dtype != x.dtype:
        y = cx.b.op("cast", y, to=x.dtype)
    return cx.b.op("pow", x, y)


@converter("LeakyRelu", since=6)
def _leaky_relu(cx: Ctx) -> Value:
    return cx.b.op("leaky_relu", cx.input(0), alpha=float(cx.attr("alpha", 0.01)))


def _gelu_check(node, opset: int) -> str | None:  # noqa: ANN001
    approx = attr_of(node, "approximate", "none")
    return None if approx in ("none", "tanh") else f"approximate={approx!r} is not 'none' or 'tanh'"


@converter("Gelu", since=20, check=_gelu_check)
def _gelu(cx: Ctx) -> Value:
    return cx.b.op("gelu", cx.input(0), approximate=cx.attr("approximate", "none"))


@converter("Clip", since=6, until=10)
def _clip_attrs(cx: Ctx) -> Value:
    return cx.b.op("clip", cx.input(0), min=cx.attr("min"), max=cx.attr("max"))


@converter("Clip", since=11, const_inputs=(1, 2))
def _clip_inputs(cx: Ctx) -> Value:
    lo, hi = cx.const(1), cx.const(2)
    return cx.b.op("clip", cx.input(0), min=None if lo is None else float(lo),
                   max=None if hi is None else float(hi))


def _cast_check(node, opset: int) -> str | None:  # noqa: ANN001
    to = attr_of(node, "to")
    return None if to in ONNX_DTYPES else f"cast to {dtype_name(to)} is not supported"


@converter("Cast", since=6, check=_cast_check)
def _cast(cx: Ctx) -> Value:
    return cx.b.op("cast", cx.input(0), to=ONNX_DTYPES[cx.attr("to")])


@converter("Where", since=9)
def _where(cx: Ctx) -> Value:
    return cx.b.op("where", cx.input(0), cx.input(1), cx.input(2))


@converter("Identity", since=1)
def _identity(cx: Ctx) -> Value:
    return cx.input(0)


@converter("Dropout", since=7, until=11, check=only_first_output)
def _dropout_attr(cx: Ctx) -> Value:
    return cx.b.op("dropout", cx.input(0), rate=float(cx.attr("ratio", 0.5)))


def _dropout_check(node, opset: int) -> str | None:  # noqa: ANN001
    return only_first_output(node, opset)


@converter("Dropout", since=12, const_inputs=(1, 2), check=_dropout_check)
def _dropout_inputs(cx: Ctx) -> Value:
    ratio, training = cx.const(1), cx.const(2)
    if training is not None and bool(training):
        raise cx.unsupported("training_mode=True; only inference is supported")
    return cx.b.op("dropout", cx.input(0), rate=0.5 if ratio is None else float(ratio))


_CONSTANT_KINDS = ("value", "value_float", "value_floats", "value_int", "value_ints")


def constant_array(node) -> np.ndarray | None:  # noqa: ANN001
    """The data of a Constant node, or None for kinds we do not read (sparse, strings)."""
    for a in node.attribute:
        if a.name == "value":
            arr = numpy_helper.to_array(a.t)
            return arr if arr.dtype.kind in "fiub" else None
        if a.name in ("value_float", "value_floats"):
            return np.asarray(a.f if a.name == "value_float" else list(a.floats), np.float32)
        if a.name in ("value_int", "value_ints"):
            return np.asarray(a.i if a.name == "value_int" else list(a.ints), np.int64)
    return None


def _constant_check(node, opset: int) -> str | None:  # noqa: ANN001
    kinds = [a.name for a in node.attribute]
    if constant_array(node) is None:
        return f"a Constant of kind {kinds} is not supported (only numeric tensors, floats and ints)"
    return None


@converter("Constant", since=1, check=_constant_check)
def _constant(cx: Ctx) -> Value:
    arr = constant_array(cx.node)
    assert arr is not None  # the check refused every other kind
    return cx.b.constant(arr, name=cx.node.output[0])
