"""Math ops beyond the basics: integer modulo, bit shifts and bitwise logic, rounding, float classification
and the inverse/hyperbolic trigonometric functions.

Semantics worth knowing: ``mod`` follows the sign of the divisor (Python's %) unless ``fmod``, which
follows the dividend (C's fmod); an integer divisor of 0 gives 0, as integer ``div`` does. ``bitshift``
shifting by a negative amount or by the bit width or more leaves only the sign fill (0, or -1 for a right
shift of a negative x). ``round`` rounds half to even.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from axiom.ir.dtypes import boolean
from axiom.ir.errors import ShapeError
from axiom.ir.opdef import AttrSpec
from axiom.ir.ops.common import apply_in, broadcast_shapes, defop, require_kind, require_same_dtype
from axiom.ir.types import TensorType

FLOAT = ("float",)
INTEGER = ("int", "uint")
NUMERIC = ("float", "int", "uint")


# ---- unary ------------------------------------------------------------------------------
def _unary(name: str, fn: Callable[..., np.ndarray], kinds: tuple[str, ...] = FLOAT, doc: str = "",
           attrs: dict[str, AttrSpec] | None = None, result_bool: bool = False) -> None:
    def infer(inputs, a):  # noqa: ANN001, ANN202
        require_kind(name, inputs[0], *kinds)
        return [inputs[0].with_dtype(boolean) if result_bool else inputs[0]]

    def reference(inputs, a):  # noqa: ANN001, ANN202
        x = inputs[0]
        out = boolean.np_dtype if result_bool else x.dtype
        return apply_in(lambda v: fn(v, a), out, x)

    defop(name, infer, reference, attrs=attrs, traits=("elementwise", "unary"),
          doc=doc or f"Elementwise {name}.")


for _name, _fn in {"tan": np.tan, "asin": np.arcsin, "acos": np.arccos, "atan": np.arctan, "sinh": np.sinh,
                   "cosh": np.cosh, "asinh": np.arcsinh, "acosh": np.arccosh, "atanh": np.arctanh}.items():
    _unary(_name, lambda x, a, f=_fn: f(x))
_unary("floor", lambda x, a: np.floor(x), doc="Largest integer <= x (as a float).")
_unary("ceil", lambda x, a: np.ceil(x), doc="Smallest integer >= x (as a float).")
_unary("round", lambda x, a: np.round(x), doc="Nearest integer (as a float); halves round to even.")
_unary("sign", lambda x, a: np.sign(x), NUMERIC, doc="-1, 0 or 1 by the sign of x (NaN stays NaN).")
_unary("is_nan", lambda x, a: np.isnan(x), result_bool=True, doc="x is NaN (bool).")


def _is_inf(x: np.ndarray, a) -> np.ndarray:  # noqa: ANN001
    return (np.isposinf(x) & a.detect_positive) | (np.isneginf(x) & a.detect_negative)


_unary("is_inf", _is_inf, result_bool=True,
       attrs={"detect_positive": AttrSpec("bool", True), "detect_negative": AttrSpec("bool", True)},
       doc="x is +inf (when detect_positive) or -inf (when detect_negative) (bool).")
_unary("bitwise_not", lambda x, a: np.invert(x), INTEGER, doc="Bitwise complement of an integer.")


# ---- binary -----------------------------------------------------------------------------
def _binary(name: str, fn: Callable[..., np.ndarray], kinds: tuple[str, ...], doc: str,
            attrs: dict[str, AttrSpec] | None = None, check: Callable[..., None] | None = None,
            traits: tuple[str, ...] = ()) -> None:
    def infer(inputs, a):  # noqa: ANN001, ANN202
        dt = require_same_dtype(name, inputs)
        require_kind(name, inputs[0], *kinds)
        if check is not None:
            check(inputs, a)
        return [TensorType(dt, broadcast_shapes(name, inputs[0].shape, inputs[1].shape))]

    def reference(inputs, a):  # noqa: ANN001, ANN202
        return apply_in(lambda x, y: fn(x, y, a), inputs[0].dtype, inputs[0], inputs[1])

    defop(name, infer, reference, inputs=(2, 2), attrs=attrs,
          traits=("elementwise", "binary", *traits), doc=doc)


def _mod(x: np.ndarray, y: np.ndarray, a) -> np.ndarray:  # noqa: ANN001
    fn = np.fmod if a.fmod else np.mod
    if x.dtype.kind == "f":
        return fn(x, y)
    safe = np.where(y == 0, 1, y).astype(y.dtype)
    return np.where(y == 0, 0, fn(x, safe)).astype(x.dtype)


_binary("mod", _mod, NUMERIC, attrs={"fmod": AttrSpec("bool", False, doc="C fmod: the dividend's sign")},
        doc="Remainder with the divisor's sign (the dividend's when fmod); an integer x mod 0 is 0.")

_DIRECTIONS = ("LEFT", "RIGHT")


def _check_direction(inputs, a) -> None:  # noqa: ANN001
    if a.direction not in _DIRECTIONS:
        raise ShapeError(f"bitshift: direction must be LEFT or RIGHT, got {a.direction!r}")


def _bitshift(x: np.ndarray, y: np.ndarray, a) -> np.ndarray:  # noqa: ANN001
    bits = x.dtype.itemsize * 8
    outside = (y < 0) | (y >= bits)  # C leaves these undefined; every bit is shifted out
    amount = np.where(outside, 0, y).astype(y.dtype)
    if a.direction == "LEFT":
        return np.where(outside, 0, np.left_shift(x, amount)).astype(x.dtype)
    sign_fill = np.where(x < 0, np.right_shift(x, bits - 1), 0)  # -1 for a negative signed x, else 0
    return np.where(outside, sign_fill, np.right_shift(x, amount)).astype(x.dtype)


_binary("bitshift", _bitshift, INTEGER, attrs={"direction": AttrSpec("str", doc="LEFT or RIGHT")},
        check=_check_direction,
        doc="Shift x LEFT or RIGHT by y bits (RIGHT is arithmetic for signed x); a shift by a negative "
            "amount or by the bit width or more leaves only the sign fill: -1 for RIGHT of a negative x, "
            "else 0.")
_binary("bitwise_and", lambda x, y, a: np.bitwise_and(x, y), INTEGER, "Bitwise and of integers.",
        traits=("commutative",))
_binary("bitwise_or", lambda x, y, a: np.bitwise_or(x, y), INTEGER, "Bitwise or of integers.",
        traits=("commutative",))
_binary("bitwise_xor", lambda x, y, a: np.bitwise_xor(x, y), INTEGER, "Bitwise exclusive or of integers.",
        traits=("commutative",))
