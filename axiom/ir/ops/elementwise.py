"""Elementwise ops: unary math, activations, binary arithmetic with broadcasting,
comparisons, logic, where and cast.

Semantics worth knowing: integer ``div`` truncates toward zero and a zero divisor gives 0;
half-precision floats compute in f32 and round back.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy import special

from axiom.ir.dtypes import boolean, dtype_from_numpy
from axiom.ir.opdef import AttrSpec
from axiom.ir.ops.common import (
    apply_in,
    at_compute_precision,
    broadcast_shapes,
    defop,
    require_kind,
    require_same_dtype,
)
from axiom.ir.types import TensorType

FLOAT = ("float",)
NUMERIC = ("float", "int", "uint")
SIGNED = ("float", "int")


# ---- unary ------------------------------------------------------------------------------
def _unary(name: str, fn: Callable[..., np.ndarray], kinds: tuple[str, ...] = FLOAT,
           attrs: dict[str, AttrSpec] | None = None, decompose=None, doc: str = "") -> None:  # noqa: ANN001
    def infer(inputs, a):  # noqa: ANN001, ANN202
        require_kind(name, inputs[0], *kinds)
        return [inputs[0]]

    def reference(inputs, a):  # noqa: ANN001, ANN202
        x = inputs[0]
        return apply_in(lambda v: fn(v, a), x.dtype, x)

    defop(name, infer, reference, attrs=attrs, decompose=decompose,
          traits=("elementwise", "unary"), doc=doc or f"Elementwise {name}.")


def _gelu(x: np.ndarray, a) -> np.ndarray:  # noqa: ANN001
    if a.approximate == "tanh":
        c = np.sqrt(2.0 / np.pi).astype(x.dtype)
        return 0.5 * x * (1.0 + np.tanh(c * (x + 0.044715 * x**3)))
    return 0.5 * x * (1.0 + special.erf(x / np.sqrt(2.0).astype(x.dtype)))


def _softplus(x: np.ndarray, a) -> np.ndarray:  # noqa: ANN001
    # log(1 + exp(x)) without overflow: max(x, 0) + log1p(exp(-|x|)).
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def _clip(x: np.ndarray, a) -> np.ndarray:  # noqa: ANN001
    if x.dtype.kind in "iu":
        # Clamp in the integer domain (to [ceil(min), floor(max)]): through float64, big i64
        # values would round.
        info = np.iinfo(x.dtype)
        lo = info.min if a.min is None else math.ceil(min(max(a.min, info.min), info.max))
        hi = info.max if a.max is None else math.floor(min(max(a.max, info.min), info.max))
        return np.minimum(np.maximum(x, np.asarray(lo, x.dtype)), np.asarray(hi, x.dtype))
    lo = -np.inf if a.min is None else a.min
    hi = np.inf if a.max is None else a.max
    return np.minimum(np.maximum(x, lo), hi)


def _sigmoid(x: np.ndarray, a) -> np.ndarray:  # noqa: ANN001
    return special.expit(x)


@at_compute_precision
def _decompose_rsqrt(b, inputs, attrs):  # noqa: ANN001, ANN202
    return [b.op("reciprocal", b.op("sqrt", inputs[0]))]


@at_compute_precision
def _decompose_softplus(b, inputs, attrs):  # noqa: ANN001, ANN202
    x = inputs[0]
    zero = b.constant(np.zeros((), x.dtype.np_dtype))
    neg_abs = b.op("neg", b.op("abs", x))
    one = b.constant(np.ones((), x.dtype.np_dtype))
    return [b.op("add", b.op("maximum", x, zero), b.op("log", b.op("add", one, b.op("exp", neg_abs))))]


_unary("neg", lambda x, a: -x, SIGNED)
_unary("abs", lambda x, a: np.abs(x), NUMERIC)
_unary("exp", lambda x, a: np.exp(x))
_unary("log", lambda x, a: np.log(x))
_unary("sqrt", lambda x, a: np.sqrt(x))
_unary("rsqrt", lambda x, a: 1.0 / np.sqrt(x), decompose=_decompose_rsqrt)
_unary("reciprocal", lambda x, a: 1.0 / x)
_unary("sin", lambda x, a: np.sin(x))
_unary("cos", lambda x, a: np.cos(x))
_unary("tanh", lambda x, a: np.tanh(x))
_unary("erf", lambda x, a: special.erf(x))
_unary("sigmoid", _sigmoid, doc="1 / (1 + exp(-x)).")
_unary("relu", lambda x, a: np.maximum(x, 0), SIGNED)
_unary("leaky_relu", lambda x, a: np.where(x >= 0, x, x * a.alpha),
       attrs={"alpha": AttrSpec("float", 0.01)}, doc="x if x >= 0 else alpha * x.")
_unary("gelu", _gelu, attrs={"approximate": AttrSpec("str", "none", doc="'none' (erf) or 'tanh'")},
       doc="x * Phi(x), exactly with erf or with the tanh approximation.")
_unary("softplus", _softplus, decompose=_decompose_softplus, doc="log(1 + exp(x)).")
_unary("clip", _clip, NUMERIC,
       attrs={"min": AttrSpec("float", None, optional=True), "max": AttrSpec("float", None, optional=True)},
       doc="Clamp into [min, max]; a missing bound is unbounded.")


# ---- binary -----------------------------------------------------------------------------
def _int_div(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    # Take off the truncated remainder first so the floor division is exact: abs() would
    # overflow on the most negative int.
    safe = np.where(y == 0, 1, y).astype(y.dtype)
    q = (x - np.fmod(x, safe)) // safe
    return np.where(y == 0, 0, q)


def _div(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return x / y if x.dtype.kind == "f" else _int_div(x, y)


def _binary(name: str, fn: Callable[[np.ndarray, np.ndarray], np.ndarray], kinds=NUMERIC,  # noqa: ANN001
            result_bool: bool = False, traits: tuple[str, ...] = (), doc: str = "") -> None:
    def infer(inputs, a):  # noqa: ANN001, ANN202
        dt = require_same_dtype(name, inputs)
        require_kind(name, inputs[0], *kinds)
        shape = broadcast_shapes(name, inputs[0].shape, inputs[1].shape)
        return [TensorType(boolean if result_bool else dt, shape)]

    def reference(inputs, a):  # noqa: ANN001, ANN202
        out = boolean.np_dtype if result_bool else inputs[0].dtype
        return apply_in(fn, out, inputs[0], inputs[1])

    defop(name, infer, reference, inputs=(2, 2),
          traits=("elementwise", "binary", *traits), doc=doc or f"Elementwise {name} with broadcasting.")


_binary("add", np.add, traits=("commutative",))
_binary("sub", np.subtract)
_binary("mul", np.multiply, traits=("commutative",))
_binary("div", _div, doc="x / y; integers truncate toward zero and x / 0 is 0.")
_binary("pow", np.power, FLOAT)
_binary("maximum", np.maximum, traits=("commutative",))
_binary("minimum", np.minimum, traits=("commutative",))
ALL = ("float", "int", "uint", "bool")
_binary("equal", np.equal, ALL, True, ("commutative",))
_binary("not_equal", np.not_equal, ALL, True, ("commutative",))
_binary("less", np.less, NUMERIC, True)
_binary("less_equal", np.less_equal, NUMERIC, True)
_binary("greater", np.greater, NUMERIC, True)
_binary("greater_equal", np.greater_equal, NUMERIC, True)
_binary("logical_and", np.logical_and, ("bool",), True, ("commutative",))
_binary("logical_or", np.logical_or, ("bool",), True, ("commutative",))
_binary("logical_xor", np.logical_xor, ("bool",), True, ("commutative",))
_unary("logical_not", lambda x, a: np.logical_not(x), ("bool",))


# ---- where, cast ------------------------------------------------------------------------
def _where_infer(inputs, a):  # noqa: ANN001, ANN202
    require_kind("where", inputs[0], "bool")
    dt = require_same_dtype("where", inputs[1:])
    return [TensorType(dt, broadcast_shapes("where", *(t.shape for t in inputs)))]


defop("where", _where_infer, lambda i, a: np.where(i[0], i[1], i[2]).astype(i[1].dtype, copy=False),
      inputs=(3, 3), traits=("elementwise",), doc="cond ? x : y, with broadcasting.")


def _cast_reference(inputs, a):  # noqa: ANN001, ANN202
    x = inputs[0]
    to = a.to.np_dtype
    with np.errstate(all="ignore"):
        # Classify by Axiom's dtype: numpy's kind of bf16 (ml_dtypes) is 'V', not 'f'.
        if dtype_from_numpy(x.dtype).is_float and a.to.is_int:
            # Truncate toward zero; NaN becomes 0 and out-of-range values saturate.
            info = np.iinfo(to)
            y = np.nan_to_num(np.trunc(x.astype(np.float64)), nan=0.0)
            out = np.clip(y, info.min, info.max).astype(to)
            # float64 rounds i64's max up to 2**63, which would wrap to the min: pin it.
            return np.where(y >= info.max, np.asarray(info.max, to), out)
        return x.astype(to)


defop("cast", lambda i, a: [i[0].with_dtype(a.to)], _cast_reference,
      attrs={"to": AttrSpec("dtype")}, traits=("elementwise", "unary"),
      doc="Convert the element type; float to int truncates toward zero, saturates, NaN -> 0.")
