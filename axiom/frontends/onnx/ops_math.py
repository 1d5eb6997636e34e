"""ONNX converters for math ops: Mod, BitShift, bitwise logic, rounding, IsInf/IsNaN, Sign, trigonometric
functions, CastLike and more activations (Celu, ThresholdedRelu, Shrink, Softsign, Mish, Swish, Mean)."""

from __future__ import annotations

import functools

from axiom.frontends.onnx.ops_common import Ctx, attr_of, converter
from axiom.ir.graph import Value

# ONNX op -> (IR op, first opset with today's semantics).
_UNARY = {"Tan": ("tan", 7), "Asin": ("asin", 7), "Acos": ("acos", 7), "Atan": ("atan", 7),
          "Sinh": ("sinh", 9), "Cosh": ("cosh", 9), "Asinh": ("asinh", 9), "Acosh": ("acosh", 9),
          "Atanh": ("atanh", 9), "Floor": ("floor", 6), "Ceil": ("ceil", 6), "Round": ("round", 11),
          "Sign": ("sign", 9), "IsNaN": ("is_nan", 9), "BitwiseNot": ("bitwise_not", 18)}
_BITWISE = {"BitwiseAnd": "bitwise_and", "BitwiseOr": "bitwise_or", "BitwiseXor": "bitwise_xor"}


def _register_unary() -> None:
    def convert(cx: Ctx) -> Value:
        return cx.b.op(_UNARY[cx.node.op_type][0], cx.input(0))

    for onnx_op, (_, since) in _UNARY.items():
        converter(onnx_op, since=since)(convert)


_register_unary()


@converter(*_BITWISE, since=18)
def _bitwise(cx: Ctx) -> Value:
    return cx.b.op(_BITWISE[cx.node.op_type], cx.input(0), cx.input(1))


@converter("IsInf", since=10)
def _is_inf(cx: Ctx) -> Value:
    return cx.b.op("is_inf", cx.input(0), detect_positive=bool(cx.attr("detect_positive", 1)),
                   detect_negative=bool(cx.attr("detect_negative", 1)))


def _mod_check(node, opset: int) -> str | None:  # noqa: ANN001
    fmod = attr_of(node, "fmod", 0)
    return None if fmod in (0, 1) else f"fmod={fmod} is not 0 or 1"


@converter("Mod", since=10, check=_mod_check)
def _mod(cx: Ctx) -> Value:
    """Integer x mod 0 is undefined in ONNX; ours gives 0, as integer Div does."""
    return cx.b.op("mod", cx.input(0), cx.input(1), fmod=bool(cx.attr("fmod", 0)))


def _bitshift_check(node, opset: int) -> str | None:  # noqa: ANN001
    direction = attr_of(node, "direction")
    return None if direction in ("LEFT", "RIGHT") else f"direction={direction!r} is not LEFT or RIGHT"


@converter("BitShift", since=11, check=_bitshift_check)
def _bitshift(cx: Ctx) -> Value:
    return cx.b.op("bitshift", cx.input(0), cx.input(1), direction=cx.attr("direction"))


@converter("CastLike", since=15)
def _cast_like(cx: Ctx) -> Value:
    """Cast to the dtype of input 1 (only its type is read); saturate matters for float8 only."""
    x, like = cx.input(0), cx.input(1)
    return x if x.dtype == like.dtype else cx.b.op("cast", x, to=like.dtype)


# ---- activations composed of IR ops ---------------------------------------------------------
@converter("Celu", since=12)
def _celu(cx: Ctx) -> Value:
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1))."""
    b, x = cx.b, cx.input(0)
    alpha = float(cx.attr("alpha", 1.0))
    zero = cx.scalar(0, x)
    neg = b.op("mul", b.op("sub", b.op("exp", b.op("div", x, cx.scalar(alpha, x))), cx.scalar(1, x)),
               cx.scalar(alpha, x))
    return b.op("add", b.op("maximum", x, zero), b.op("minimum", neg, zero))


@converter("ThresholdedRelu", since=10)
def _thresholded_relu(cx: Ctx) -> Value:
    """x where x > alpha, else 0."""
    x = cx.input(0)
    above = cx.b.op("greater", x, cx.scalar(float(cx.attr("alpha", 1.0)), x))
    return cx.b.op("where", above, x, cx.scalar(0, x))


@converter("Shrink", since=9)
def _shrink(cx: Ctx) -> Value:
    """x + bias where x < -lambd, x - bias where x > lambd, else 0."""
    b, x = cx.b, cx.input(0)
    lambd, bias = float(cx.attr("lambd", 0.5)), float(cx.attr("bias", 0.0))
    low = b.op("where", b.op("less", x, cx.scalar(-lambd, x)), b.op("add", x, cx.scalar(bias, x)),
               cx.scalar(0, x))
    return b.op("where", b.op("greater", x, cx.scalar(lambd, x)), b.op("sub", x, cx.scalar(bias, x)), low)


@converter("Softsign", since=1)
def _softsign(cx: Ctx) -> Value:
    """x / (1 + |x|)."""
    x = cx.input(0)
    return cx.b.op("div", x, cx.b.op("add", cx.b.op("abs", x), cx.scalar(1, x)))


@converter("Mish", since=18)
def _mish(cx: Ctx) -> Value:
    """x * tanh(softplus(x))."""
    x = cx.input(0)
    return cx.b.op("mul", x, cx.b.op("tanh", cx.b.op("softplus", x)))


@converter("Swish", since=24)
def _swish(cx: Ctx) -> Value:
    """x * sigmoid(alpha * x)."""
    x = cx.input(0)
    alpha = float(cx.attr("alpha", 1.0))
    scaled = x if alpha == 1.0 else cx.b.op("mul", x, cx.scalar(alpha, x))
    return cx.b.op("mul", x, cx.b.op("sigmoid", scaled))


@converter("Mean", since=6)
def _mean(cx: Ctx) -> Value:
    """The sum of the inputs (broadcast) over their count."""
    xs = cx.inputs()
    total = functools.reduce(lambda x, y: cx.b.op("add", x, y), xs)
    return total if len(xs) == 1 else cx.b.op("div", total, cx.scalar(len(xs), total))
