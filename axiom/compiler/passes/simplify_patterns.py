"""The arithmetic patterns of the ``simplify`` pass, and the helpers its patterns share.

Every pattern here is exact: for every input (NaN, +-inf, -0.0, subnormals, the most
negative integer) the rewritten graph computes the same bits as the numpy reference of the
original, NaN payloads aside (a NaN stays a NaN). Where an identity of real arithmetic is
not exact in IEEE floats, the pattern says which case breaks it and matches only where that
case cannot arise (often: integers only). Half-precision floats compute in f32 and round
back; an identity that holds in f32 for every f16/bf16 input holds for them too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from axiom.compiler.rewriter import Pattern, Rewriter, pattern
from axiom.ir.errors import AttributeError_, ShapeError
from axiom.ir.graph import Node, Value
from axiom.ir.opdef import get_op
from axiom.ir.types import TensorType

# ---- helpers --------------------------------------------------------------------------------


def splat(rw: Rewriter, value: Value) -> float | int | bool | None:
    """The one element of a constant whose elements are all the same, else None. An expand of
    such a constant is one too (it is how ``zeros_of`` writes a zero of a symbolic shape).

    Floats compare by value and sign, so ``-0.0`` and ``0.0`` are different splats; a constant
    holding a NaN is never a splat (no identity below involves one).
    """
    if value.producer is not None and value.producer.op.name == "expand":
        value = value.producer.inputs[0]
    data = rw.const(value)
    if data is None or data.size == 0:
        return None
    if value.dtype.is_float:
        f = np.asarray(data).astype(np.float64)  # exact for every float dtype, bf16 included
        first = float(f.flat[0])
        if math.isnan(first) or not np.all(f == first) or not np.all(np.signbit(f) == np.signbit(first)):
            return None
        return first
    if not np.all(data == data.flat[0]):
        return None
    return bool(data.flat[0]) if value.dtype.is_bool else int(data.flat[0])


def is_neg_zero(x: float | int | bool | None) -> bool:
    return isinstance(x, float) and x == 0.0 and math.copysign(1.0, x) < 0


def is_pos_zero(x: float | int | bool | None) -> bool:
    return x is not None and x == 0 and not is_neg_zero(x)


def operand_and_splat(rw: Rewriter, node: Node) -> list[tuple[Value, Any]]:
    """(other operand, splat) for each operand of a binary node that is a splat constant;
    for a non-commutative op only the second operand counts."""
    a, b = node.inputs
    out = [(a, s) for s in [splat(rw, b)] if s is not None]
    if "commutative" in node.op.traits:
        out += [(b, s) for s in [splat(rw, a)] if s is not None]
    return out


def keeps_type(node: Node, value: Value) -> bool:
    """Can ``value`` replace the node's (single) result? Only with exactly the same type: an
    operand that the other one broadcasts up cannot."""
    return node.results[0].type == value.type


def build_if_typed(rw: Rewriter, op: str, inputs: Sequence[Value], want: TensorType,
                   **attrs: Any) -> Value | None:
    """Build ``op(inputs)`` before the matched node when its type rule gives exactly ``want``;
    otherwise build nothing and return None (a pattern must not build on a miss)."""
    opdef = get_op(op)
    try:
        made = opdef.make_attrs(attrs)
        if opdef.resolve is not None:
            made = opdef.resolve([v.type for v in inputs], made)
        types = opdef.infer_types([v.type for v in inputs], made)
    except (ShapeError, AttributeError_):
        return None
    if types != [want]:
        return None
    return rw.b.op(op, *inputs, **attrs)


def zeros_of(rw: Rewriter, t: TensorType) -> Value:
    """A value of type ``t`` that is all zeros: a scalar constant, expanded when ``t`` has dims
    (so symbolic shapes work and no large constant is made)."""
    zero = rw.b.constant(np.zeros((), t.dtype.np_dtype), "zero")
    return zero if t.rank == 0 else rw.b.op("expand", zero, shape=t.shape)


def never_negative_zero(value: Value) -> bool:
    """Is ``value`` known never to hold -0.0? True for the results of abs, exp and sigmoid,
    and of a cast from an integer or bool. Not relu: whether maximum(-0.0, 0) is -0.0 or
    +0.0 depends on numpy's code path (the dtype, SIMD or not)."""
    p = value.producer
    if p is None:
        return False
    if p.op.name in ("abs", "exp", "sigmoid"):
        return True
    return p.op.name == "cast" and not p.inputs[0].dtype.is_float


# ---- additive and multiplicative identities -------------------------------------------------


@pattern("add-zero", "add")
def add_zero(node: Node, rw: Rewriter) -> Value | None:
    """x + 0 -> x. Integers: exact (wrapping add of 0). Floats: x + (-0.0) == x for every x
    ((-0.0) + (-0.0) = -0.0, NaN stays NaN), but x + (+0.0) turns x = -0.0 into +0.0, so a
    +0.0 folds only when x cannot be -0.0 (see ``never_negative_zero``)."""
    for x, c in operand_and_splat(rw, node):
        if not keeps_type(node, x) or c != 0:
            continue
        if not x.dtype.is_float or is_neg_zero(c) or never_negative_zero(x):
            return x
    return None


@pattern("sub-zero", "sub")
def sub_zero(node: Node, rw: Rewriter) -> Value | None:
    """x - 0 -> x. Integers: exact. Floats: x - (+0.0) is x + (-0.0), exact for every x;
    x - (-0.0) is x + (+0.0), which folds only when x cannot be -0.0."""
    x, c = node.inputs[0], splat(rw, node.inputs[1])
    if c is None or c != 0 or not keeps_type(node, x):
        return None
    if not x.dtype.is_float or is_pos_zero(c) or never_negative_zero(x):
        return x
    return None


@pattern("mul-one", "mul")
def mul_one(node: Node, rw: Rewriter) -> Value | None:
    """x * 1 -> x: multiplying by one is exact in IEEE arithmetic (-0.0, inf and NaN
    included) and for wrapping integers."""
    for x, c in operand_and_splat(rw, node):
        if c == 1 and keeps_type(node, x):
            return x
    return None


@pattern("div-one", "div")
def div_one(node: Node, rw: Rewriter) -> Value | None:
    """x / 1 -> x: exact for floats, and integer division by 1 truncates nothing."""
    x, c = node.inputs[0], splat(rw, node.inputs[1])
    return x if c == 1 and keeps_type(node, x) else None


@pattern("mul-neg-one", "mul")
def mul_neg_one(node: Node, rw: Rewriter) -> Value | None:
    """x * -1 -> neg(x): for floats both flip the sign bit only (NaN stays NaN); for signed
    integers both wrap, the most negative value mapping to itself."""
    for x, c in operand_and_splat(rw, node):
        if c == -1 and x.dtype.kind in ("float", "int") and keeps_type(node, x):
            return rw.b.op("neg", x)
    return None


@pattern("mul-zero-int", "mul")
def mul_zero_int(node: Node, rw: Rewriter) -> Value | None:
    """x * 0 -> 0 for integers only: for floats 0 * inf and 0 * NaN are NaN and -x * 0 is -0.0."""
    if not node.inputs[0].dtype.is_int:
        return None
    if any(c == 0 for _, c in operand_and_splat(rw, node)):
        return zeros_of(rw, node.results[0].type)
    return None


@pattern("sub-self-int", "sub")
def sub_self_int(node: Node, rw: Rewriter) -> Value | None:
    """x - x -> 0 for integers only: for floats inf - inf and NaN - NaN are NaN."""
    a, b = node.inputs
    if a is not b or not a.dtype.is_int:
        return None
    return zeros_of(rw, node.results[0].type)


@pattern("div-pow2", "div")
def div_pow2(node: Node, rw: Rewriter) -> Value | None:
    """x / c -> x * (1/c) for a float constant c whose every element is +-2**k with 1/c
    exactly representable in the dtype: x / c and x * (1/c) are then the same real number,
    and IEEE rounds it once either way (in f32 for f16/bf16, then once more back, alike)."""
    x, c = node.inputs
    data = rw.const(c)
    if data is None or data.size == 0 or not x.dtype.is_float:
        return None
    f = np.asarray(data).astype(np.float64)
    if not np.all(np.isfinite(f)) or np.any(f == 0):
        return None
    mantissa, _ = np.frexp(f)
    if not np.all(np.abs(mantissa) == 0.5):
        return None
    with np.errstate(over="ignore", under="ignore"):
        recip = (1.0 / f).astype(c.dtype.np_dtype)
    if not np.array_equal(recip.astype(np.float64), 1.0 / f):
        return None  # 1/c overflows or underflows in this dtype
    return rw.b.op("mul", x, rw.b.constant(recip, "recip"))


# ---- negation -----------------------------------------------------------------------------------


@pattern("neg-neg", "neg")
def neg_neg(node: Node, rw: Rewriter) -> Value | None:
    """neg(neg(x)) -> x: two sign flips (wrapping twice for integers)."""
    inner = rw.producer(node.inputs[0], "neg")
    return inner.inputs[0] if inner is not None else None


@pattern("neg-sub-int", "neg")
def neg_sub_int(node: Node, rw: Rewriter) -> Value | None:
    """neg(a - b) -> b - a for integers only (both wrap to the same value). Not for floats:
    with a == b, -(a - b) is -0.0 while b - a is +0.0."""
    inner = rw.producer(node.inputs[0], "sub")
    if inner is None or not inner.inputs[0].dtype.is_int:
        return None
    a, b = inner.inputs
    return build_if_typed(rw, "sub", [b, a], node.results[0].type)


@pattern("add-neg", "add")
def add_neg(node: Node, rw: Rewriter) -> Value | None:
    """x + neg(y) -> x - y: IEEE defines x - y as x + (-y) (and float add is commutative, so
    neg(y) + x too); integers wrap alike."""
    for x, n in (node.inputs, node.inputs[::-1]):
        inner = rw.producer(n, "neg")
        if inner is not None:
            made = build_if_typed(rw, "sub", [x, inner.inputs[0]], node.results[0].type)
            if made is not None:
                return made
    return None


@pattern("sub-neg", "sub")
def sub_neg(node: Node, rw: Rewriter) -> Value | None:
    """x - neg(y) -> x + y: x - (-y) is x + y by the definition of IEEE subtraction."""
    inner = rw.producer(node.inputs[1], "neg")
    if inner is None:
        return None
    return build_if_typed(rw, "add", [node.inputs[0], inner.inputs[0]], node.results[0].type)


@pattern("abs-sign", "abs")
def abs_sign(node: Node, rw: Rewriter) -> Value | None:
    """abs(neg(x)) -> abs(x) and abs(abs(x)) -> abs(x): abs clears the sign bit whatever it
    was; for integers abs and neg both map the most negative value to itself."""
    if rw.producer(node.inputs[0], "abs") is not None:
        return node.inputs[0]
    inner = rw.producer(node.inputs[0], "neg")
    return rw.b.op("abs", inner.inputs[0]) if inner is not None else None


# ---- idempotent ops -----------------------------------------------------------------------------


@pattern("relu-relu", "relu")
def relu_relu(node: Node, rw: Rewriter) -> Value | None:
    """relu(relu(x)) -> relu(x): relu(y) == y for every y that relu returns (positive, NaN, or
    a zero that the same maximum already chose over 0)."""
    inner = rw.producer(node.inputs[0], "relu")
    return inner.results[0] if inner is not None else None


@pattern("not-not", "logical_not")
def not_not(node: Node, rw: Rewriter) -> Value | None:
    """logical_not(logical_not(x)) -> x on bools."""
    inner = rw.producer(node.inputs[0], "logical_not")
    return inner.inputs[0] if inner is not None else None


@pattern("binary-self", "maximum", "minimum", "logical_and", "logical_or")
def binary_self(node: Node, rw: Rewriter) -> Value | None:
    """max(x, x), min(x, x), x & x, x | x -> x: each picks x itself (NaN and -0.0 included)."""
    a, b = node.inputs
    return a if a is b and keeps_type(node, a) else None


@pattern("where-same", "where")
def where_same(node: Node, rw: Rewriter) -> Value | None:
    """where(c, x, x) -> x: both branches are x (when c does not broadcast x up)."""
    _, x, y = node.inputs
    return x if x is y and keeps_type(node, x) else None


@pattern("where-const", "where")
def where_const(node: Node, rw: Rewriter) -> Value | None:
    """where(true, x, y) -> x and where(false, x, y) -> y for a constant condition."""
    c = splat(rw, node.inputs[0])
    if c is None:
        return None
    chosen = node.inputs[1] if c else node.inputs[2]
    return chosen if keeps_type(node, chosen) else None


@pattern("where-not", "where")
def where_not(node: Node, rw: Rewriter) -> Value | None:
    """where(not c, x, y) -> where(c, y, x): the same element is chosen everywhere."""
    inner = rw.producer(node.inputs[0], "logical_not")
    if inner is None:
        return None
    _, x, y = node.inputs
    return build_if_typed(rw, "where", [inner.inputs[0], y, x], node.results[0].type)


ARITHMETIC_PATTERNS: tuple[Pattern, ...] = (
    add_zero, sub_zero, mul_one, div_one, mul_neg_one, mul_zero_int, sub_self_int, div_pow2,
    neg_neg, neg_sub_int, add_neg, sub_neg, abs_sign, relu_relu, not_not, binary_self,
    where_same, where_const, where_not,
)
