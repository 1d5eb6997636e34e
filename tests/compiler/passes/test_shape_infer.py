"""shape-infer as Before/Expected IR text (re-deriving, bind, symbolic), its errors and
assumptions, and the oracle: MNIST specialised and made symbolic again runs as before."""

import numpy as np
import pytest

import axiom
from axiom.compiler.context import PassContext
from axiom.compiler.manager import PassFailure, PassManager
from axiom.compiler.passbase import PipelineError, parse_pipeline
from axiom.compiler.passes.shape_infer import ShapeInfer, shape_assumptions
from axiom.compiler.testing import assert_pass, run_on_text
from axiom.examples.mnist import fake_digits, mnist
from axiom.ir import parse_graph
from axiom.ir.errors import ShapeError

CONV = """
graph @g(%x: f32[N, 1, H, W]) -> (f32[N, 4*(H - 2)*(W - 2)]) {
  %w = const {name = "w"} : f32[4, 1, 3, 3]
  %y = conv2d(%x, %w) : f32[N, 4, H - 2, W - 2]    # model.py:4
  %r = relu(%y) : f32[N, 4, H - 2, W - 2]    # model.py:5
  %z = reshape(%r) {shape = [N, 4*(H - 2)*(W - 2)]} : f32[N, 4*(H - 2)*(W - 2)]    # model.py:6
  return %z
}"""


def test_without_options_nothing_changes_and_the_assumptions_are_recorded():
    ctx = assert_pass(CONV, "shape-infer", CONV)
    # The flattened 4*(H - 2)*(W - 2) follows from the two facts before it: no fact of its own.
    assert ctx.assumptions == ["H - 2 >= 1", "W - 2 >= 1"]
    assert ctx.remarks[0].message == "assumed H - 2 >= 1: needed by %y = conv2d at model.py:4"
    assert ctx.stats["shape-infer.rebuilt"] == 0
    assert shape_assumptions(parse_graph(CONV)) == ["H - 2 >= 1", "W - 2 >= 1"]


def test_assumptions_are_recorded_once_across_values_and_runs():
    text = """
graph @g(%x: f32[N, 2, H, 3]) -> (f32[N, 2, H - 2, 1]) {
  %w = const {name = "w"} : f32[2, 2, 3, 3]
  %a = conv2d(%x, %w) : f32[N, 2, H - 2, 1]
  %b = conv2d(%x, %w) : f32[N, 2, H - 2, 1]
  %c = add(%a, %b) : f32[N, 2, H - 2, 1]
  return %c
}"""
    ctx = PassContext()
    PassManager("shape-infer,shape-infer").run(parse_graph(text), ctx)
    assert ctx.assumptions == ["H - 2 >= 1"] and len(ctx.remarks) == 1


def test_symbols_and_their_sums_and_products_need_no_assumption():
    text = """
graph @g(%x: f32[N, 2*K], %y: f32[N + 1, 3]) -> (f32[2*K*N]) {
  %z = reshape(%x) {shape = [2*K*N]} : f32[2*K*N]
  return %z
}"""
    assert shape_assumptions(parse_graph(text)) == []


def test_bind_specialises_inputs_types_and_dims_attributes():
    ctx = assert_pass(CONV, "shape-infer{bind=N=8;H=32}", """
graph @g(%x: f32[8, 1, 32, W]) -> (f32[8, 120*W - 240]) {
  %w = const {name = "w"} : f32[4, 1, 3, 3]
  %y = conv2d(%x, %w) : f32[8, 4, 30, W - 2]
  %r = relu(%y) : f32[8, 4, 30, W - 2]
  %z = reshape(%r) {shape = [8, 120*W - 240]} : f32[8, 120*W - 240]
  return %z
}""")
    assert ctx.assumptions == ["W - 2 >= 1", "120*W - 240 >= 1"]
    assert ctx.stats["shape-infer.rebuilt"] == 3


def test_nodes_are_rebuilt_not_mutated():
    graph = parse_graph(CONV)
    old_conv = graph.nodes[1]
    PassManager([ShapeInfer(bind="H=5,W=6")]).run(graph, PassContext())
    assert old_conv not in graph.nodes and str(old_conv.results[0].type) == "f32[N, 4, H - 2, W - 2]"
    new_conv = graph.nodes[1]
    assert (new_conv.op, new_conv.attrs, new_conv.loc) == (old_conv.op, old_conv.attrs, old_conv.loc)
    assert str(new_conv.results[0].type) == "f32[N, 4, 3, 4]"


def test_bind_that_breaks_a_rule_names_the_node_and_both_shapes():
    with pytest.raises(PassFailure) as info:
        run_on_text(CONV, "shape-infer{bind=H=2}")
    text = str(info.value)
    assert "shape-infer: %y = conv2d at model.py:4 does not type-check any more" in text
    assert "operand types before: (f32[N, 1, H, W], f32[4, 1, 3, 3])" in text
    assert "operand types now:    (f32[N, 1, 2, W], f32[4, 1, 3, 3])" in text
    assert ">   %y = conv2d(%x, %w)" in text  # the manager shows the failing line
    assert isinstance(info.value.__cause__, ShapeError)


def test_binding_an_unused_symbol_is_an_error_listing_the_graphs_symbols():
    with pytest.raises(PassFailure, match="bind names n, which graph @g does not use; its symbols: H, N, W"):
        run_on_text(CONV, "shape-infer{bind=n=8}")


def test_options_are_checked_early_and_print_back_as_pipeline_items():
    assert str(ShapeInfer(bind="N=8, H=32")) == "shape-infer{bind=N=8;H=32}"
    (p,) = parse_pipeline(str(ShapeInfer(bind="N=8,H=32", symbolic="0:B x:1:T")))
    assert p == ShapeInfer(bind="N=8;H=32", symbolic="0:B;x:1:T")
    for bad, why in (("bind=N", "must be NAME=INT"), ("bind=N=0", "bind them to >= 1"),
                     ("bind=N=2;N=3", "gives N twice"), ("symbolic=N:0", "AXIS:NAME or INPUT:AXIS:NAME")):
        with pytest.raises(PipelineError, match=why):
            parse_pipeline(f"shape-infer{{{bad}}}")


STATIC = """
graph @g(%x: f32[8, 4, 3], %m: f32[8, 1], %table: f32[5, 2]) -> (f32[8, 12], f32[2, 8, 12], f32[5, 2]) {
  %r = reshape(%x) {shape = [8, 12]} : f32[8, 12]
  %e = expand(%m) {shape = [8, 12]} : f32[8, 12]
  %s = add(%r, %e) : f32[8, 12]
  %u = unsqueeze(%s) {axes = [0]} : f32[1, 8, 12]
  %v = expand(%u) {shape = [2, 8, 12]} : f32[2, 8, 12]
  %t = neg(%table) : f32[5, 2]
  return %s, %v, %t
}"""


def test_symbolic_makes_the_batch_dim_of_every_input_of_that_size_symbolic():
    ctx = assert_pass(STATIC, "shape-infer{symbolic=0:N}", """
graph @g(%x: f32[N, 4, 3], %m: f32[N, 1], %table: f32[5, 2]) -> (f32[N, 12], f32[2, N, 12], f32[5, 2]) {
  %r = reshape(%x) {shape = [N, 12]} : f32[N, 12]
  %e = expand(%m) {shape = [N, 12]} : f32[N, 12]
  %s = add(%r, %e) : f32[N, 12]
  %u = unsqueeze(%s) {axes = [0]} : f32[1, N, 12]
  %v = expand(%u) {shape = [2, N, 12]} : f32[2, N, 12]
  %t = neg(%table) : f32[5, 2]
  return %s, %v, %t
}""")
    assert [r.message for r in ctx.remarks] == [
        "symbolic 0:N: input %table keeps dim 0 = 5, which is not the 8 of the other inputs"]


def test_symbolic_for_one_named_input():
    text = """
graph @g(%x: f32[1, 3], %bias: f32[1, 3]) -> (f32[1, 3]) {
  %y = add(%x, %bias) : f32[1, 3]
  return %y
}"""
    assert_pass(text, "shape-infer{symbolic=x:0:B}", """
graph @g(%x: f32[B, 3], %bias: f32[1, 3]) -> (f32[B, 3]) {
  %y = add(%x, %bias) : f32[B, 3]
  return %y
}""")
    with pytest.raises(PassFailure, match="names input %y, but graph @g has inputs %x, %bias"):
        run_on_text(text, "shape-infer{symbolic=y:0:B}")
    with pytest.raises(PassFailure, match="no input of graph @g has a dim 2"):
        run_on_text(text, "shape-infer{symbolic=2:B}")


def test_symbolic_refuses_a_reshape_that_mixes_the_batch():
    text = """
graph @g(%x: f32[8, 4, 3]) -> (f32[4, 24]) {
  %r = reshape(%x) {shape = [4, 24]} : f32[4, 24]    # model.py:3
  return %r
}"""
    with pytest.raises(PassFailure) as info:
        run_on_text(text, "shape-infer{symbolic=0:N}")
    message = str(info.value)
    assert "%r = reshape at model.py:3 does not type-check any more" in message
    assert "before: (f32[8, 4, 3])" in message and "now:    (f32[N, 4, 3])" in message
    assert "hint: a static dim of this node" in message


def test_a_dim_that_is_never_positive_is_an_error():
    graph = parse_graph("""
graph @g(%x: f32[N, 2]) -> (f32[N, 2]) {
  return %x
}""")
    n = graph.inputs[0].shape[0]
    with pytest.raises(ValueError, match="negative for every value"):
        graph.inputs[0].type.with_shape([-n, 2])  # not even a type
    graph.inputs[0].type = graph.inputs[0].type.with_shape([1 - n, 2])
    with pytest.raises(ShapeError, match="input %x has type f32\\[1 - N, 2\\], whose dim 1 - N is below 1"):
        shape_assumptions(graph)


def test_oracle_mnist_bound_then_made_symbolic_again():
    x, _ = fake_digits(4)
    want = axiom.compile(mnist, backend="numpy", opt_level=0)(x)
    bound = axiom.compile(mnist, backend="numpy", passes="shape-infer{bind=N=4},fold-constants,cse,dce")
    assert str(bound.ir.inputs[0].type) == "f32[4, 1, 28, 28]"
    assert str(bound.ir.outputs[0].type) == "f32[4, 10]"
    np.testing.assert_array_equal(bound(x), want)
    again = axiom.compile(bound.ir, backend="numpy", passes="shape-infer{symbolic=0:B}")
    assert str(again.ir.outputs[0].type) == "f32[B, 10]"
    np.testing.assert_array_equal(again(x), want)
    small = axiom.compile(mnist, backend="numpy", opt_level=0)(x[:3])  # BLAS may round per batch size
    np.testing.assert_array_equal(again(x[:3]), small)


def test_oracle_mnist_reinferred_is_unchanged():
    x, _ = fake_digits(2)
    want = axiom.compile(mnist, backend="numpy", opt_level=0)(x)
    exe = axiom.compile(mnist, backend="numpy", passes="shape-infer")
    np.testing.assert_array_equal(exe(x), want)
