"""canonicalize: one normal form for equivalent IR, so that later passes match one shape.

- A constant operand of a commutative binary op goes second (``mul(x, c)``, never
  ``mul(c, x)``), and a comparison with a constant first is flipped (``less(c, x)`` ->
  ``greater(x, c)``), so patterns need to look at the second operand only. ``sub(x, c)`` is
  kept as it is: it is not rewritten to ``add(x, -c)``.
- Ops that do nothing are removed: a transpose with the identity perm; a reshape, flatten,
  squeeze, unsqueeze or expand whose result has the input's type; a cast to the input's
  dtype; dropout (the IR has inference semantics); a concat or split of one piece; a slice
  that takes everything with positive steps; a pad of zero widths.

Every rewrite is exact (the same elements, the same bits). Hits are counted in
``ctx.stats["pattern.<name>"]``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from axiom.compiler.context import PassContext
from axiom.compiler.passbase import Pass, register_pass
from axiom.compiler.rewriter import Pattern, Rewriter, apply_patterns, pattern
from axiom.ir.errors import AttributeError_, ShapeError
from axiom.ir.graph import Graph, Node, Value
from axiom.ir.opdef import all_ops, get_op

COMMUTATIVE = tuple(op.name for op in all_ops() if "commutative" in op.traits)
# less(c, x) is greater(x, c): both false where either side is NaN.
FLIPPED = {"less": "greater", "greater": "less", "less_equal": "greater_equal",
           "greater_equal": "less_equal"}


def is_constant(value: Value) -> bool:
    """Is ``value`` made by a const node (with or without data in the table)?"""
    return value.producer is not None and value.producer.op.name == "const"


def _swapped(node: Node, rw: Rewriter, op: str) -> Value | None:
    """``op(b, a)`` for a node reading ``(a, b)`` with ``a`` a constant and ``b`` not, when
    its type is exactly the node's (broadcasting takes a dim from the first operand that has
    it, so two spellings of one symbolic dim could trade places); else None, building nothing."""
    a, b = node.inputs
    if not is_constant(a) or is_constant(b):
        return None
    try:
        types = get_op(op).infer_types([b.type, a.type], node.attrs)
    except (ShapeError, AttributeError_):
        return None
    if types != [r.type for r in node.results]:
        return None
    return rw.b.op(op, b, a)


@pattern("commute-constant", *COMMUTATIVE)
def commute_constant(node: Node, rw: Rewriter) -> Value | None:
    """op(c, x) -> op(x, c) for a commutative op and a constant c, which then sits in the
    canonical place. IEEE add and mul are commutative (-0.0 included; a NaN stays a NaN),
    and so are the comparisons and the logical ops.

    maximum and minimum are not, on signed zeros: of an equal pair numpy returns one operand
    or the other depending on the dtype and the SIMD path (maximum(-0.0, +0.0) is +0.0 for
    f32 on x86, -0.0 for f16). On floats they are swapped only when the constant has data
    and no zero element, so that an equal pair always has the same bits."""
    a = node.inputs[0]
    if node.op.name in ("maximum", "minimum") and a.dtype.is_float and not _signed_zero_safe(rw, a):
        return None
    return _swapped(node, rw, node.op.name)


def _signed_zero_safe(rw: Rewriter, const: Value) -> bool:
    data = rw.const(const)
    return data is not None and not bool((data == 0).any())


@pattern("flip-comparison", *FLIPPED)
def flip_comparison(node: Node, rw: Rewriter) -> Value | None:
    """less(c, x) -> greater(x, c) (and the same for <=, >, >=) for a constant c: c < x and
    x > c are the same predicate, false on NaN either way."""
    return _swapped(node, rw, FLIPPED[node.op.name])


def _noop_if_same_type(name: str, op: str, why: str, extra: Callable[[Node], bool] | None = None) -> Pattern:
    """A pattern removing an ``op`` node whose result type equals its first operand's."""

    def rewrite(node: Node, rw: Rewriter) -> Value | None:
        x = node.inputs[0]
        if node.results[0].type != x.type or (extra is not None and not extra(node)):
            return None
        return x

    rewrite.__doc__ = why
    rewrite.__name__ = name.replace("-", "_")
    return Pattern(name, (op,), rewrite)


def _identity_perm(node: Node) -> bool:
    perm = node.attrs["perm"]
    rank = node.inputs[0].rank
    return list(perm) == list(range(rank)) if perm is not None else rank <= 1


def _positive_steps(node: Node) -> bool:
    steps = node.attrs["steps"]
    return steps is None or all(s > 0 for s in steps)


transpose_identity = _noop_if_same_type(
    "transpose-identity", "transpose",
    "transpose(x) with the identity perm (or a reversal of <= 1 axis) -> x. Only the perm says "
    "so: a transpose of [3, 3] keeps the type but moves elements.", _identity_perm)
reshape_noop = _noop_if_same_type(
    "reshape-noop", "reshape", "reshape(x) to x's own shape -> x: the row-major order is kept.")
flatten_noop = _noop_if_same_type(
    "flatten-noop", "flatten", "flatten(x) that gives x's own shape -> x (a reshape to it).")
squeeze_noop = _noop_if_same_type(
    "squeeze-noop", "squeeze", "squeeze(x) dropping no axis -> x.")
unsqueeze_noop = _noop_if_same_type(
    "unsqueeze-noop", "unsqueeze", "unsqueeze(x) inserting no axis -> x.")
expand_noop = _noop_if_same_type(
    "expand-noop", "expand", "expand(x) to x's own shape -> x: nothing is broadcast.")
cast_noop = _noop_if_same_type(
    "cast-noop", "cast", "cast(x) to x's own dtype -> x: the conversion is the identity.")
dropout_inference = _noop_if_same_type(
    "dropout-inference", "dropout", "dropout(x) -> x: the IR has inference semantics, where "
    "dropout is the identity.")
concat_single = _noop_if_same_type(
    "concat-single", "concat", "concat of one operand -> that operand.")
slice_everything = _noop_if_same_type(
    "slice-everything", "slice",
    "slice(x) with positive steps and the input's type -> x: a slice of the same length with "
    "steps > 0 starts at 0 and takes every element (step > 1 would shorten any axis of size "
    ">= 2). Negative steps are kept: they reverse.", _positive_steps)
pad_zero = _noop_if_same_type(
    "pad-zero", "pad", "pad(x) with all widths 0 -> x, in every mode.",
    lambda node: not any(node.attrs["pads"]))


@pattern("split-single", "split")
def split_single(node: Node, rw: Rewriter) -> Value | None:
    """split(x) into one piece -> x."""
    x = node.inputs[0]
    return x if len(node.results) == 1 and node.results[0].type == x.type else None


CANONICAL_PATTERNS: tuple[Pattern, ...] = (
    commute_constant, flip_comparison, transpose_identity, reshape_noop, flatten_noop, squeeze_noop,
    unsqueeze_noop, expand_noop, cast_noop, dropout_inference, concat_single, split_single,
    slice_everything, pad_zero,
)


@register_pass
@dataclass(frozen=True)
class Canonicalize(Pass):
    """Rewrite the graph into the normal form of ``CANONICAL_PATTERNS`` (see the module)."""

    name = "canonicalize"

    def run(self, graph: Graph, ctx: PassContext) -> bool:
        return apply_patterns(graph, CANONICAL_PATTERNS, ctx)
