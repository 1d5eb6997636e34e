"""The pattern rewriter: indexed by op, driven to a fixed point, counting hits, keeping types."""

import pytest

from axiom.compiler import PassContext, apply_patterns, pattern
from axiom.compiler.testing import canonical_text
from axiom.ir import AxiomError, parse_graph


@pattern("double-neg", "neg")
def double_neg(node, rw):
    inner = rw.producer(node.inputs[0], "neg")
    return inner.inputs[0] if inner is not None else None


@pattern("mul-two-to-add", "mul")
def mul_two(node, rw):
    x, c = node.inputs
    return rw.b.add(x, x) if rw.is_splat(c, 2.0) else None


def test_fixed_point_with_counts_and_dead_node_cleanup():
    g = parse_graph("""graph @g(%x: f32[3]) -> (f32[3]) {
  %0 = neg(%x) : f32[3]
  %1 = neg(%0) : f32[3]
  %2 = neg(%1) : f32[3]
  %3 = neg(%2) : f32[3]
  %c = const {name = "c"} dense<[2.0, 2.0, 2.0]> : f32[3]
  %4 = mul(%3, %c) : f32[3]
  return %4
}""")
    ctx = PassContext()
    assert apply_patterns(g, [double_neg, mul_two], ctx)
    assert canonical_text(g) == canonical_text(parse_graph("""graph @g(%x: f32[3]) -> (f32[3]) {
  %0 = add(%x, %x) : f32[3]
  return %0
}"""))
    assert ctx.stats["pattern.double-neg"] == 2 and ctx.stats["pattern.mul-two-to-add"] == 1
    assert not apply_patterns(g, [double_neg, mul_two], ctx)


def test_a_rewrite_that_changes_a_type_is_refused():
    @pattern("bad", "relu")
    def bad(node, rw):
        return rw.b.cast(node.inputs[0], to="f64")

    g = parse_graph("graph @g(%x: f32[3]) -> (f32[3]) {\n  %0 = relu(%x) : f32[3]\n  return %0\n}")
    with pytest.raises(AxiomError, match="pattern 'bad' replaced f32\\[3\\] by f64\\[3\\] at relu"):
        apply_patterns(g, [bad])


def test_patterns_that_undo_each_other_are_stopped():
    @pattern("a", "exp")
    def a(node, rw):
        return rw.b.exp(node.inputs[0])

    g = parse_graph("graph @g(%x: f32[3]) -> (f32[3]) {\n  %0 = exp(%x) : f32[3]\n  return %0\n}")
    with pytest.raises(AxiomError, match="did not reach a fixed point"):
        apply_patterns(g, [a], max_rewrites=50)
