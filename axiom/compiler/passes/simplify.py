"""simplify: exact algebraic identities, as declarative patterns driven to a fixed point.

The arithmetic patterns live in :mod:`simplify_patterns`; this module adds the ones over
shapes, casts, reductions and matmul, and the pass. Every pattern counts its hits in
``ctx.stats["pattern.<name>"]``. Each is exact for every input (see the patterns'
docstrings for why); identities that are not exact in IEEE arithmetic (x * 0, x - x and
neg(a - b) on floats, exp(log(x)), x + 0.0 where x may be -0.0, a float sum over no axes)
are matched only where they are, or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from axiom.compiler.context import PassContext
from axiom.compiler.passbase import Pass, register_pass
from axiom.compiler.passes.simplify_patterns import ARITHMETIC_PATTERNS, build_if_typed, keeps_type
from axiom.compiler.rewriter import Pattern, Rewriter, apply_patterns, pattern
from axiom.ir.dtypes import DType, bf16
from axiom.ir.graph import Graph, Node, Value
from axiom.ir.ops.reduction import normalize_axes

# Ops that only reinterpret the row-major element order under a new shape.
VIEW_OPS = ("reshape", "flatten", "squeeze", "unsqueeze")

# Float types holding every value of a narrower float type exactly (range and precision).
_WIDER_FLOATS = {"f16": ("f32", "f64"), "bf16": ("f32", "f64"), "f32": ("f64",)}
# Significand bits, implicit bit included: integers up to 2**bits convert exactly.
_SIGNIFICAND = {"f16": 11, "bf16": 8, "f32": 24, "f64": 53}


def transpose_perm(node: Node) -> list[int]:
    """The permutation of a transpose node; perm=None reverses the axes."""
    perm = node.attrs["perm"]
    return list(range(node.inputs[0].rank))[::-1] if perm is None else list(perm)


@pattern("transpose-transpose", "transpose")
def transpose_transpose(node: Node, rw: Rewriter) -> Value | None:
    """transpose(transpose(x, p), q) -> transpose(x, r) with r[i] = p[q[i]], or x itself when
    r is the identity: both read element x[idx] into the same place, no arithmetic."""
    inner = rw.producer(node.inputs[0], "transpose")
    if inner is None:
        return None
    p, q = transpose_perm(inner), transpose_perm(node)
    r = [p[i] for i in q]
    x = inner.inputs[0]
    if r == list(range(len(r))):
        return x if keeps_type(node, x) else None
    return build_if_typed(rw, "transpose", [x], node.results[0].type, perm=r)


@pattern("reshape-chain", *VIEW_OPS)
def reshape_chain(node: Node, rw: Rewriter) -> Value | None:
    """A reshape/flatten/squeeze/unsqueeze of one of those -> one reshape of the original, or
    the original itself when the shapes agree: each keeps the row-major element order, so
    the chain is one reinterpretation."""
    inner = node.inputs[0].producer
    if inner is None or inner.op.name not in VIEW_OPS:
        return None
    x, want = inner.inputs[0], node.results[0].type
    if x.type == want:
        return x
    return build_if_typed(rw, "reshape", [x], want, shape=want.shape)


def holds(small: DType, big: DType) -> bool:
    """Does ``big`` represent every value of ``small`` exactly (so a cast to it is lossless)?"""
    if small == big or small.is_bool:
        return True
    if big.is_bool:
        return False
    if small.is_float:
        return big.name in _WIDER_FLOATS.get(small.name, ())
    info_lo, info_hi = _int_range(small)
    if big.is_float:
        return max(-info_lo, info_hi) <= 2 ** _SIGNIFICAND[big.name]
    lo, hi = _int_range(big)
    return lo <= info_lo and info_hi <= hi


def _int_range(t: DType) -> tuple[int, int]:
    if t.kind == "uint":
        return 0, 2**t.bits - 1
    return -(2 ** (t.bits - 1)), 2 ** (t.bits - 1) - 1


@pattern("cast-cast", "cast")
def cast_cast(node: Node, rw: Rewriter) -> Value | None:
    """cast(cast(x: A, B), C) -> cast(x, C), or x when C is A, when B holds every value of A
    exactly and converting a value to C gives the same result from B as from A:

    - C holds A too (everything is exact; this covers round trips A -> B -> A), or
    - C is bool (nonzero test, NaN -> true, whatever the source), or
    - C is an integer and A, B are both integers (wrap modulo 2**bits) or both floats
      (truncate, saturate, NaN -> 0).

    Not folded: int -> float -> int (the float path saturates, the integer path wraps); a
    rounding C reached from different source kinds (i32 -> f64 -> bf16: the rounding paths
    of numpy and ml_dtypes differ); and bf16 -> float -> int, because the cast reference
    converts bf16 to integers with a plain (wrapping) astype rather than the truncating,
    saturating conversion that it applies to the other float types."""
    inner = rw.producer(node.inputs[0], "cast")
    if inner is None:
        return None
    x = inner.inputs[0]
    a, b, c = x.dtype, inner.attrs["to"], node.attrs["to"]
    if not holds(a, b):
        return None
    same_kind = c.is_int and a.is_float == b.is_float and a != bf16
    if not (holds(a, c) or c.is_bool or same_kind):
        return None
    if c == a:
        return x
    return rw.b.op("cast", x, to=c)


@pattern("reduce-trivial", "sum", "max", "min", "prod")
def reduce_trivial(node: Node, rw: Rewriter) -> Value | None:
    """A reduction over no axes, or over axes of static size 1 only, -> x (reshaped when the
    axes are dropped): max, min and prod of one element are that element (-0.0 and NaN
    kept). sum only for integers: numpy starts a float sum from +0.0, so -0.0 sums to +0.0
    (mean likewise, and mean has no integer form)."""
    x = node.inputs[0]
    if node.op.name == "sum" and x.dtype.is_float:
        return None
    axes = normalize_axes(node.op.name, x.type, node.attrs["axes"])
    if any(not (isinstance(x.shape[a], int) and x.shape[a] == 1) for a in axes):
        return None
    want = node.results[0].type
    if x.type == want:
        return x
    return build_if_typed(rw, "reshape", [x], want, shape=want.shape)


@pattern("matmul-transpose-linear", "matmul")
def matmul_transpose_linear(node: Node, rw: Rewriter) -> Value | None:
    """matmul(x, transpose(w)) -> linear(x, w) for a float 2-D w: linear is defined as
    x @ w^T, and its reference is ``np.matmul(x, w.T)``, the same products summed by the same
    matmul (over a transposed view instead of a transposed copy, which numpy's BLAS gemm
    reads with its transpose flag). It saves materialising w^T on every call. Disable with
    ``simplify{linear=false}`` where a backend's gemm could sum the two layouts differently."""
    x, t = node.inputs
    inner = rw.producer(t, "transpose")
    if inner is None or not x.dtype.is_float:
        return None
    w = inner.inputs[0]
    if w.rank != 2 or transpose_perm(inner) != [1, 0]:
        return None
    return build_if_typed(rw, "linear", [x, w], node.results[0].type)


SHAPE_PATTERNS: tuple[Pattern, ...] = (transpose_transpose, reshape_chain, cast_cast, reduce_trivial)


@register_pass
@dataclass(frozen=True)
class Simplify(Pass):
    """Apply the exact algebraic identities (``ARITHMETIC_PATTERNS``, ``SHAPE_PATTERNS`` and,
    with ``linear``, matmul(x, transpose(w)) -> linear(x, w)) until none matches."""

    name = "simplify"
    linear: bool = True

    def run(self, graph: Graph, ctx: PassContext) -> bool:
        patterns = [*ARITHMETIC_PATTERNS, *SHAPE_PATTERNS]
        if self.linear:
            patterns.append(matmul_transpose_linear)
        return apply_patterns(graph, patterns, ctx)
