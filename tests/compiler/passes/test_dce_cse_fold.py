"""dce, cse and fold-constants as Before/Expected IR text, plus the oracle on MNIST."""

import numpy as np
import pytest

import axiom
from axiom.compiler.testing import assert_pass, run_on_text
from axiom.examples.mnist import fake_digits, mnist


def test_dce_erases_dead_nodes_and_constants():
    ctx = assert_pass("""
graph @g(%x: f32[N, 4]) -> (f32[N, 4]) {
  %w = const {name = "w"} dense<[1.0, 2.0, 3.0, 4.0]> : f32[4]
  %dead = mul(%x, %w) : f32[N, 4]
  %dead2 = exp(%dead) : f32[N, 4]
  %y = relu(%x) : f32[N, 4]
  return %y
}""", "dce", """
graph @g(%x: f32[N, 4]) -> (f32[N, 4]) {
  %y = relu(%x) : f32[N, 4]
  return %y
}""")
    assert ctx.stats["dce.nodes"] == 3 and ctx.stats["dce.constants"] == 1


def test_dce_keeps_values_read_by_properties():
    text = """
graph @g(%x: f32[3]) -> (f32[3]) {
  %p = sigmoid(%x) : f32[3]
  %y = relu(%x) : f32[3]
  ensure finite(%p)
  return %y
}"""
    assert len(run_on_text(text, "dce").nodes) == 2


def test_cse_merges_equal_nodes_and_equal_constant_data():
    ctx = assert_pass("""
graph @g(%x: f32[N, 2]) -> (f32[N, 2], f32[N, 2]) {
  %a = const {name = "a"} dense<[1.0, 2.0]> : f32[2]
  %b = const {name = "b"} dense<[1.0, 2.0]> : f32[2]
  %0 = mul(%x, %a) : f32[N, 2]
  %1 = mul(%x, %b) : f32[N, 2]
  %2 = tanh(%0) : f32[N, 2]
  %3 = tanh(%1) : f32[N, 2]
  %4 = leaky_relu(%2) {alpha = 0.1} : f32[N, 2]
  %5 = leaky_relu(%3) {alpha = 0.2} : f32[N, 2]
  return %4, %5
}""", "cse,dce", """
graph @g(%x: f32[N, 2]) -> (f32[N, 2], f32[N, 2]) {
  %a = const {name = "a"} dense<[1.0, 2.0]> : f32[2]
  %0 = mul(%x, %a) : f32[N, 2]
  %2 = tanh(%0) : f32[N, 2]
  %4 = leaky_relu(%2) {alpha = 0.1} : f32[N, 2]
  %5 = leaky_relu(%2) {alpha = 0.2} : f32[N, 2]
  return %4, %5
}""")
    assert ctx.stats["cse.eliminated"] == 3


def test_cse_keeps_constants_of_different_dtype_apart():
    text = """
graph @g(%x: f32[2], %i: i32[2]) -> (f32[2], i32[2]) {
  %a = const {name = "a"} dense<[0.0, 0.0]> : f32[2]
  %b = const {name = "b"} dense<[0, 0]> : i32[2]
  %0 = add(%x, %a) : f32[2]
  %1 = add(%i, %b) : i32[2]
  return %0, %1
}"""
    assert len(run_on_text(text, "cse").nodes) == 4


def test_fold_constants_evaluates_with_the_reference():
    ctx = assert_pass("""
graph @g(%x: f32[N, 3]) -> (f32[N, 3]) {
  %a = const {name = "a"} dense<[1.0, 4.0, 9.0]> : f32[3]
  %s = sqrt(%a) : f32[3]
  %t = neg(%s) : f32[3]
  %y = add(%x, %t) : f32[N, 3]
  return %y
}""", "fold-constants,dce", """
graph @g(%x: f32[N, 3]) -> (f32[N, 3]) {
  %t = const {name = "neg_folded"} dense<[-1.0, -2.0, -3.0]> : f32[3]
  %y = add(%x, %t) : f32[N, 3]
  return %y
}""")
    assert ctx.stats["fold-constants.folded"] == 2


def test_fold_constants_respects_the_size_limit():
    text = """
graph @g() -> (f32[8]) {
  %a = const {name = "a"} dense<[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]> : f32[8]
  %b = exp(%a) : f32[8]
  return %b
}"""
    assert [n.op.name for n in run_on_text(text, "fold-constants{max-elements=4}").nodes] == ["const", "exp"]
    assert [n.op.name for n in run_on_text(text, "fold-constants,dce").nodes] == ["const"]


@pytest.mark.parametrize("level", [0, 1, 2, 3])
def test_every_level_keeps_mnist_outputs(level):
    x, _ = fake_digits(3)
    want = axiom.compile(mnist, backend="numpy", opt_level=0)(x)
    got = axiom.compile(mnist, backend="numpy", opt_level=level)(x)
    np.testing.assert_array_equal(got, want)
