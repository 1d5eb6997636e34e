"""fold-batchnorm as Before/Expected IR text (exact binary fractions, so the folded weights are
exact), the cases it must leave alone, and the oracle: DSL models folded and unfolded agree."""

import numpy as np
import pytest

import axiom
from axiom import Tensor, f32
from axiom import ops as F
from axiom.compiler.context import PassContext
from axiom.compiler.testing import assert_pass, canonical_text, run_on_text
from axiom.examples.mnist import fake_digits, mnist
from axiom.ir import parse_graph
from axiom.nn import BatchNorm, Conv2d, Dense, Flatten, ReLU


def test_conv_then_batch_norm_folds_into_the_weights_and_bias():
    # f = scale / sqrt(var + eps) = [2/2, 3/4]; b' = (b - mean) * f + bias
    ctx = assert_pass("""
graph @g(%x: f32[N, 1, 4, 4]) -> (f32[N, 2, 2, 2]) {
  %w = const {name = "conv.weight"} dense<[[[[1.0, 2.0], [3.0, 4.0]]], [[[0.5, 0.25], [1.0, -1.0]]]]> : f32[2, 1, 2, 2]
  %b = const {name = "conv.bias"} dense<[1.0, -2.0]> : f32[2]
  %y = conv2d(%x, %w, %b) {stride = [2, 2]} : f32[N, 2, 2, 2]    # model.py:3
  %s = const {name = "bn.weight"} dense<[2.0, 3.0]> : f32[2]
  %t = const {name = "bn.bias"} dense<[0.5, 1.0]> : f32[2]
  %m = const {name = "bn.running_mean"} dense<[1.0, 2.0]> : f32[2]
  %v = const {name = "bn.running_var"} dense<[3.0, 15.0]> : f32[2]
  %z = batch_norm(%y, %s, %t, %m, %v) {epsilon = 1.0} : f32[N, 2, 2, 2]
  return %z
}""", "fold-batchnorm", """
graph @g(%x: f32[N, 1, 4, 4]) -> (f32[N, 2, 2, 2]) {
  %w = const {name = "conv.weight_folded"} dense<[[[[1.0, 2.0], [3.0, 4.0]]], [[[0.375, 0.1875], [0.75, -0.75]]]]> : f32[2, 1, 2, 2]
  %b = const {name = "conv.bias_folded"} dense<[0.5, -2.0]> : f32[2]
  %y = conv2d(%x, %w, %b) {stride = [2, 2]} : f32[N, 2, 2, 2]
  return %y
}""")  # noqa: E501
    assert ctx.stats["pattern.fold-batchnorm"] == 1


def test_linear_without_bias_then_batch_norm_on_2d_gets_a_bias():
    graph = run_on_text("""
graph @g(%x: f32[N, 3]) -> (f32[N, 2]) {
  %w = const {name = "fc.weight"} dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : f32[2, 3]
  %y = linear(%x, %w) : f32[N, 2]
  %s = const {name = "bn.weight"} dense<[1.0, 0.5]> : f32[2]
  %t = const {name = "bn.bias"} dense<[0.0, 1.0]> : f32[2]
  %m = const {name = "bn.running_mean"} dense<[2.0, -2.0]> : f32[2]
  %v = const {name = "bn.running_var"} dense<[0.25, 4.0]> : f32[2]
  %z = batch_norm(%y, %s, %t, %m, %v) {epsilon = 0.0} : f32[N, 2]
  return %z
}""", "fold-batchnorm")
    assert canonical_text(graph) == canonical_text(parse_graph("""
graph @g(%x: f32[N, 3]) -> (f32[N, 2]) {
  %w = const {name = "fc.weight_folded"} dense<[[2.0, 4.0, 6.0], [1.0, 1.25, 1.5]]> : f32[2, 3]
  %b = const {name = "fc.bias_folded"} dense<[-4.0, 1.5]> : f32[2]
  %y = linear(%x, %w, %b) : f32[N, 2]
  return %y
}"""))
    assert sorted(graph.constants) == ["fc.bias_folded", "fc.weight_folded"]  # the old weight is gone


def test_scale_then_shift_chain_folds_step_by_step():
    ctx = assert_pass("""
graph @g(%x: f32[N, 1, 3, 3]) -> (f32[N, 2, 3, 3]) {
  %w = const {name = "c.weight"} dense<[[[[1.0]]], [[[2.0]]]]> : f32[2, 1, 1, 1]
  %b = const {name = "c.bias"} dense<[0.5, 1.0]> : f32[2]
  %y = conv2d(%x, %w, %b) : f32[N, 2, 3, 3]
  %k = const {name = "k"} dense<[[[[3.0]], [[-1.0]]]]> : f32[1, 2, 1, 1]
  %s = mul(%k, %y) : f32[N, 2, 3, 3]
  %d = const {name = "d"} dense<[[[1.0]], [[2.0]]]> : f32[2, 1, 1]
  %t = add(%s, %d) : f32[N, 2, 3, 3]
  %r = relu(%t) : f32[N, 2, 3, 3]
  return %r
}""", "fold-batchnorm", """
graph @g(%x: f32[N, 1, 3, 3]) -> (f32[N, 2, 3, 3]) {
  %w = const {name = "c.weight_folded"} dense<[[[[3.0]]], [[[-2.0]]]]> : f32[2, 1, 1, 1]
  %b = const {name = "c.bias_folded_1"} dense<[2.5, 1.0]> : f32[2]
  %y = conv2d(%x, %w, %b) : f32[N, 2, 3, 3]
  %r = relu(%y) : f32[N, 2, 3, 3]
  return %r
}""")
    assert ctx.stats["pattern.fold-scale"] == 1 and ctx.stats["pattern.fold-shift"] == 1


def test_sub_folds_either_way_round_into_linear():
    assert_pass("""
graph @g(%x: f32[N, T, 2]) -> (f32[N, T, 2]) {
  %w = const {name = "fc.weight"} dense<[[1.0, 0.0], [0.0, 1.0]]> : f32[2, 2]
  %b = const {name = "fc.bias"} dense<[1.0, 2.0]> : f32[2]
  %y = linear(%x, %w, %b) : f32[N, T, 2]
  %d = const {name = "d"} dense<[0.5, 0.25]> : f32[2]
  %s = sub(%d, %y) : f32[N, T, 2]
  %e = const {name = "e"} dense<4.0> : f32[]
  %t = sub(%s, %e) : f32[N, T, 2]
  return %t
}""", "fold-batchnorm", """
graph @g(%x: f32[N, T, 2]) -> (f32[N, T, 2]) {
  %w = const {name = "fc.weight_folded"} dense<[[-1.0, -0.0], [-0.0, -1.0]]> : f32[2, 2]
  %b = const {name = "fc.bias_folded_1"} dense<[-4.5, -5.75]> : f32[2]
  %y = linear(%x, %w, %b) : f32[N, T, 2]
  return %y
}""")


UNFOLDABLE = {
    "the conv result has another user": """
graph @g(%x: f32[N, 1, 2, 2]) -> (f32[N, 1, 2, 2], f32[N, 1, 2, 2]) {
  %w = const {name = "w"} dense<[[[[2.0]]]]> : f32[1, 1, 1, 1]
  %y = conv2d(%x, %w) : f32[N, 1, 2, 2]
  %k = const {name = "k"} dense<[3.0]> : f32[1]
  %s = mul(%y, %k) : f32[N, 1, 2, 2]
  return %s, %y
}""",
    "a batch_norm parameter is not constant": """
graph @g(%x: f32[N, 2], %scale: f32[2]) -> (f32[N, 2]) {
  %w = const {name = "w"} dense<[[1.0, 2.0], [3.0, 4.0]]> : f32[2, 2]
  %y = linear(%x, %w) : f32[N, 2]
  %t = const {name = "t"} dense<[0.0, 1.0]> : f32[2]
  %z = batch_norm(%y, %scale, %t, %t, %t) : f32[N, 2]
  return %z
}""",
    "the weight is not constant": """
graph @g(%x: f32[N, 2], %w: f32[2, 2]) -> (f32[N, 2]) {
  %y = linear(%x, %w) : f32[N, 2]
  %k = const {name = "k"} dense<[3.0, 4.0]> : f32[2]
  %s = mul(%y, %k) : f32[N, 2]
  return %s
}""",
    "the constant varies along a spatial axis": """
graph @g(%x: f32[N, 1, 1, 2]) -> (f32[N, 1, 1, 2]) {
  %w = const {name = "w"} dense<[[[[2.0]]]]> : f32[1, 1, 1, 1]
  %y = conv2d(%x, %w) : f32[N, 1, 1, 2]
  %k = const {name = "k"} dense<[3.0, 4.0]> : f32[2]
  %s = add(%y, %k) : f32[N, 1, 1, 2]
  return %s
}""",
    "batch_norm after linear on a 3-D result (channels are not the features)": """
graph @g(%x: f32[N, 2, 2]) -> (f32[N, 2, 2]) {
  %w = const {name = "w"} dense<[[1.0, 2.0], [3.0, 4.0]]> : f32[2, 2]
  %y = linear(%x, %w) : f32[N, 2, 2]
  %t = const {name = "t"} dense<[1.0, 1.0]> : f32[2]
  %z = batch_norm(%y, %t, %t, %t, %t) : f32[N, 2, 2]
  return %z
}""",
}


@pytest.mark.parametrize("why", sorted(UNFOLDABLE))
def test_left_alone_when(why):
    text = UNFOLDABLE[why]
    assert_pass(text, "fold-batchnorm", text)


def test_a_fold_that_would_overflow_is_skipped_with_a_remark():
    text = """
graph @g(%x: f32[N, 2]) -> (f32[N, 2]) {
  %w = const {name = "w"} dense<[[1e+20, 0.0], [0.0, 1.0]]> : f32[2, 2]
  %y = linear(%x, %w) : f32[N, 2]    # model.py:2
  %k = const {name = "k"} dense<[1e+30, 2.0]> : f32[2]
  %s = mul(%y, %k) : f32[N, 2]    # model.py:3
  return %s
}"""
    ctx = PassContext()
    assert len(run_on_text(text, "fold-batchnorm", ctx).nodes) == 4
    assert "did not fold mul at model.py:3 into linear at model.py:2" in ctx.remarks[0].message
    assert "overflow" in ctx.remarks[0].message


@axiom.model(seed=3)
def convnet(x: Tensor[f32, "N", 3, 8, 8]) -> Tensor[f32, "N", 5]:  # noqa: F821
    y = x | Conv2d(3, 4, 3, padding=1) | BatchNorm(4) | ReLU()
    y = y | Conv2d(4, 6, 3, bias=False) | BatchNorm(6)
    gain = F.constant(np.linspace(0.5, 2.0, 6, dtype=np.float32).reshape(6, 1, 1))
    y = F.relu(y * gain + F.constant(np.float32(0.25)))
    y = y | Conv2d(6, 6, 1)
    y = F.relu(F.constant(np.full((1, 6, 1, 1), 0.5, np.float32)) - y)
    y = y | Flatten() | Dense(216, 16) | BatchNorm(16) | ReLU()
    return (y | Dense(16, 5)) * F.constant(np.float32(3.0)) - F.constant(np.arange(5, dtype=np.float32))


def randomize_params(model, seed: int) -> None:
    """Non-trivial batch-norm statistics (positive variances) and weights, reproducibly."""
    rng = np.random.default_rng(seed)
    model.load_params({name: (rng.uniform(0.2, 3.0, a.shape) if name.endswith("running_var")
                              else rng.normal(0.0, 1.0, a.shape)).astype(a.dtype)
                       for name, a in model.params.items()})


@pytest.mark.parametrize("batch", [1, 4])
def test_oracle_folded_convnet_matches_the_unfolded_one(batch):
    randomize_params(convnet, seed=batch)
    x = np.random.default_rng(batch).normal(size=(batch, 3, 8, 8)).astype(np.float32)
    want = axiom.compile(convnet, backend="numpy", opt_level=0)(x)
    exe = axiom.compile(convnet, backend="numpy", passes="fold-batchnorm")
    ops = [n.op.name for n in exe.ir.nodes]
    assert ops.count("conv2d") == 3 and ops.count("linear") == 2
    assert not {"batch_norm", "mul", "add", "sub"} & set(ops), ops
    np.testing.assert_allclose(exe(x), want, rtol=1e-5, atol=1e-5 * np.abs(want).max())


def test_mnist_has_nothing_to_fold_and_is_unchanged():
    x, _ = fake_digits(2)
    want = axiom.compile(mnist, backend="numpy", opt_level=0)(x)
    exe = axiom.compile(mnist, backend="numpy", passes="fold-batchnorm")
    assert canonical_text(exe.ir) == canonical_text(mnist.to_graph())
    np.testing.assert_array_equal(exe(x), want)
