"""decompose: every decomposable op as Before/Expected IR text, the `ops` option, and the
oracle: each case (and MNIST) decomposed runs like the original through the numpy backend."""

import numpy as np
import pytest

import axiom
from axiom.compiler.passbase import PipelineError, parse_pipeline
from axiom.compiler.passes.decompose import decomposable_ops
from axiom.compiler.testing import assert_pass, run_on_text
from axiom.examples.mnist import fake_digits, mnist
from axiom.ir import parse_graph

# One graph per decomposable op, and what the default `decompose` (every op) makes of it.
CASES: dict[str, tuple[str, str]] = {
    "batch_norm": ("""
graph @g(%x: f32[N, 2], %s: f32[2], %b: f32[2], %m: f32[2], %v: f32[2]) -> (f32[N, 2]) {
  %y = batch_norm(%x, %s, %b, %m, %v) {epsilon = 0.001} : f32[N, 2]
  return %y
}""", """
graph @g(%x: f32[N, 2], %s: f32[2], %b: f32[2], %m: f32[2], %v: f32[2]) -> (f32[N, 2]) {
  %eps = const {name = "c"} dense<0.001> : f32[]
  %0 = add(%v, %eps) : f32[2]
  %1 = sqrt(%0) : f32[2]
  %2 = reciprocal(%1) : f32[2]
  %factor = mul(%s, %2) : f32[2]
  %3 = mul(%m, %factor) : f32[2]
  %shift = sub(%b, %3) : f32[2]
  %4 = mul(%x, %factor) : f32[N, 2]
  %y = add(%4, %shift) : f32[N, 2]
  return %y
}"""),
    "dropout": ("""
graph @g(%x: f32[N, 3]) -> (f32[N, 3]) {
  %d = dropout(%x) {rate = 0.25} : f32[N, 3]
  %y = exp(%d) : f32[N, 3]
  return %y
}""", """
graph @g(%x: f32[N, 3]) -> (f32[N, 3]) {
  %y = exp(%x) : f32[N, 3]
  return %y
}"""),
    "flatten": ("""
graph @g(%x: f32[N, 2, 3]) -> (f32[N, 6]) {
  %y = flatten(%x) {axis = 1} : f32[N, 6]
  return %y
}""", """
graph @g(%x: f32[N, 2, 3]) -> (f32[N, 6]) {
  %y = reshape(%x) {shape = [N, 6]} : f32[N, 6]
  return %y
}"""),
    "global_avg_pool2d": ("""
graph @g(%x: f32[N, 2, 3, 3]) -> (f32[N, 2, 1, 1]) {
  %y = global_avg_pool2d(%x) : f32[N, 2, 1, 1]
  return %y
}""", """
graph @g(%x: f32[N, 2, 3, 3]) -> (f32[N, 2, 1, 1]) {
  %0 = sum(%x) {axes = [2, 3], keepdims = true} : f32[N, 2, 1, 1]
  %1 = const {name = "c"} dense<9.0> : f32[]
  %y = div(%0, %1) : f32[N, 2, 1, 1]
  return %y
}"""),
    "layer_norm": ("""
graph @g(%x: f32[N, 4], %s: f32[4], %b: f32[4]) -> (f32[N, 4]) {
  %y = layer_norm(%x, %s, %b) {axis = -1, epsilon = 1e-05} : f32[N, 4]
  return %y
}""", """
graph @g(%x: f32[N, 4], %s: f32[4], %b: f32[4]) -> (f32[N, 4]) {
  %0 = sum(%x) {axes = [1], keepdims = true} : f32[N, 1]
  %1 = const {name = "c_1"} dense<4.0> : f32[]
  %mean = div(%0, %1) : f32[N, 1]
  %d = sub(%x, %mean) : f32[N, 4]
  %2 = mul(%d, %d) : f32[N, 4]
  %3 = sum(%2) {axes = [1], keepdims = true} : f32[N, 1]
  %4 = const {name = "c_2"} dense<4.0> : f32[]
  %var = div(%3, %4) : f32[N, 1]
  %eps = const {name = "c"} dense<1e-05> : f32[]
  %5 = add(%var, %eps) : f32[N, 1]
  %6 = sqrt(%5) : f32[N, 1]
  %7 = reciprocal(%6) : f32[N, 1]
  %8 = mul(%d, %7) : f32[N, 4]
  %9 = mul(%8, %s) : f32[N, 4]
  %y = add(%9, %b) : f32[N, 4]
  return %y
}"""),
    "linear": ("""
graph @g(%x: f32[N, 3], %w: f32[2, 3], %b: f32[2]) -> (f32[N, 2]) {
  %y = linear(%x, %w, %b) : f32[N, 2]
  return %y
}""", """
graph @g(%x: f32[N, 3], %w: f32[2, 3], %b: f32[2]) -> (f32[N, 2]) {
  %t = transpose(%w) {perm = [1, 0]} : f32[3, 2]
  %0 = matmul(%x, %t) : f32[N, 2]
  %y = add(%0, %b) : f32[N, 2]
  return %y
}"""),
    "log_softmax": ("""
graph @g(%x: f32[N, 3]) -> (f32[N, 3]) {
  %y = log_softmax(%x) {axis = -1} : f32[N, 3]
  return %y
}""", """
graph @g(%x: f32[N, 3]) -> (f32[N, 3]) {
  %0 = max(%x) {axes = [-1], keepdims = true} : f32[N, 1]
  %shifted = sub(%x, %0) : f32[N, 3]
  %1 = exp(%shifted) : f32[N, 3]
  %2 = sum(%1) {axes = [-1], keepdims = true} : f32[N, 1]
  %3 = log(%2) : f32[N, 1]
  %y = sub(%shifted, %3) : f32[N, 3]
  return %y
}"""),
    "mean": ("""
graph @g(%x: f32[N, 3]) -> (f32[N]) {
  %y = mean(%x) {axes = [1], keepdims = false} : f32[N]
  return %y
}""", """
graph @g(%x: f32[N, 3]) -> (f32[N]) {
  %0 = sum(%x) {axes = [1], keepdims = false} : f32[N]
  %1 = const {name = "c"} dense<3.0> : f32[]
  %y = div(%0, %1) : f32[N]
  return %y
}"""),
    "rsqrt": ("""
graph @g(%x: f32[N, 3]) -> (f32[N, 3]) {
  %y = rsqrt(%x) : f32[N, 3]
  return %y
}""", """
graph @g(%x: f32[N, 3]) -> (f32[N, 3]) {
  %0 = sqrt(%x) : f32[N, 3]
  %y = reciprocal(%0) : f32[N, 3]
  return %y
}"""),
    "softmax": ("""
graph @g(%x: f32[N, 3]) -> (f32[N, 3]) {
  %y = softmax(%x) {axis = 1} : f32[N, 3]
  return %y
}""", """
graph @g(%x: f32[N, 3]) -> (f32[N, 3]) {
  %0 = max(%x) {axes = [1], keepdims = true} : f32[N, 1]
  %1 = sub(%x, %0) : f32[N, 3]
  %e = exp(%1) : f32[N, 3]
  %2 = sum(%e) {axes = [1], keepdims = true} : f32[N, 1]
  %y = div(%e, %2) : f32[N, 3]
  return %y
}"""),
    "softplus": ("""
graph @g(%x: f32[N, 3]) -> (f32[N, 3]) {
  %y = softplus(%x) : f32[N, 3]
  return %y
}""", """
graph @g(%x: f32[N, 3]) -> (f32[N, 3]) {
  %zero = const {name = "c"} dense<0.0> : f32[]
  %0 = abs(%x) : f32[N, 3]
  %1 = neg(%0) : f32[N, 3]
  %one = const {name = "c_1"} dense<1.0> : f32[]
  %2 = maximum(%x, %zero) : f32[N, 3]
  %3 = exp(%1) : f32[N, 3]
  %4 = add(%one, %3) : f32[N, 3]
  %5 = log(%4) : f32[N, 3]
  %y = add(%2, %5) : f32[N, 3]
  return %y
}"""),
    "squeeze": ("""
graph @g(%x: f32[N, 1, 3]) -> (f32[N, 3]) {
  %y = squeeze(%x) {axes = [1]} : f32[N, 3]
  return %y
}""", """
graph @g(%x: f32[N, 1, 3]) -> (f32[N, 3]) {
  %y = reshape(%x) {shape = [N, 3]} : f32[N, 3]
  return %y
}"""),
    "unsqueeze": ("""
graph @g(%x: f32[N, 3]) -> (f32[N, 1, 3]) {
  %y = unsqueeze(%x) {axes = [1]} : f32[N, 1, 3]
  return %y
}""", """
graph @g(%x: f32[N, 3]) -> (f32[N, 1, 3]) {
  %y = reshape(%x) {shape = [N, 1, 3]} : f32[N, 1, 3]
  return %y
}"""),
}


def test_every_decomposable_op_has_a_case():
    assert sorted(CASES) == decomposable_ops()


@pytest.mark.parametrize("op", sorted(CASES))
def test_decompose_before_expected(op):
    before, expected = CASES[op]
    ctx = assert_pass(before, "decompose", expected)
    assert ctx.stats[f"pattern.decompose.{op}"] == 1


def inputs_for(graph, batch: int, seed: int) -> list[np.ndarray]:
    """Random inputs with N = batch; variances and rsqrt's operand positive."""
    rng = np.random.default_rng(seed)
    positive = {"v"} | ({"x"} if any(n.op.name == "rsqrt" for n in graph.nodes) else set())
    arrays = []
    for v in graph.inputs:
        shape = [batch if not isinstance(d, int) else d for d in v.shape]
        a = rng.uniform(0.1, 2.0, shape) if v.name in positive else rng.normal(0.0, 2.0, shape)
        arrays.append(a.astype(np.float32))
    return arrays


@pytest.mark.parametrize("op", sorted(CASES))
@pytest.mark.parametrize("batch", [1, 5])
def test_oracle_every_decomposition_computes_the_same(op, batch):
    graph = parse_graph(CASES[op][0])
    args = inputs_for(graph, batch, seed=batch)
    want = axiom.compile(graph, backend="numpy", opt_level=0)(*args)
    exe = axiom.compile(graph, backend="numpy", passes="decompose")
    assert not {n.op.name for n in exe.ir.nodes} & set(decomposable_ops())
    np.testing.assert_allclose(exe(*args), want, rtol=1e-5, atol=1e-6)


def test_only_the_selected_ops_decompose_and_what_they_make_stays():
    before = """
graph @g(%x: f32[N, 4]) -> (f32[N, 4]) {
  %y = layer_norm(%x) {axis = -1, epsilon = 1e-05} : f32[N, 4]
  %z = softmax(%y) {axis = -1} : f32[N, 4]
  return %z
}"""
    ops = [n.op.name for n in run_on_text(before, "decompose{ops=layer_norm}").nodes]
    assert "layer_norm" not in ops and {"mean", "rsqrt", "softmax"} <= set(ops)
    ops = [n.op.name for n in run_on_text(before, "decompose{ops=layer_norm+mean+rsqrt}").nodes]
    assert not {"layer_norm", "mean", "rsqrt"} & set(ops) and "softmax" in ops


def test_ops_option_is_checked_and_printed_so_that_it_parses_back():
    (p,) = parse_pipeline("decompose{ops=softmax+layer_norm}")
    assert str(p) == "decompose{ops=softmax+layer_norm}"
    assert [op.name for op in p.selected()] == ["softmax", "layer_norm"]
    with pytest.raises(PipelineError, match="'relu' has no decomposition; ops with one: batch_norm"):
        parse_pipeline("decompose{ops=relu}")
    with pytest.raises(PipelineError, match="unknown op 'sofmax'.*did you mean 'softmax'"):
        parse_pipeline("decompose{ops=sofmax}")


def test_mnist_decomposed_matches_the_original():
    x, _ = fake_digits(3)
    want = axiom.compile(mnist, backend="numpy", opt_level=0)(x)
    exe = axiom.compile(mnist, backend="numpy", passes="decompose")
    ops = {n.op.name for n in exe.ir.nodes}
    assert not ops & {"linear", "flatten", "dropout", "softmax"} and "matmul" in ops
    np.testing.assert_allclose(exe(x), want, rtol=1e-5, atol=1e-7)
