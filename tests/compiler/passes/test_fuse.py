"""fuse: Before/Expected IR for each kind of group (anchor + epilogue, residual, elementwise chain,
prologues), what must stay out (cycles, broadcasts, opaque ops), the options, idempotence and
redirected outputs/properties; and the oracle: the reference models and random graphs compute
bit for bit what they computed before fusion."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from axiom.backends.numpy.interpreter import run_graph
from axiom.compiler.passbase import PipelineError, parse_pipeline
from axiom.compiler.passes.fuse import ANCHORS
from axiom.compiler.pipeline import run_pipeline
from axiom.compiler.testing import assert_pass, run_on_text
from axiom.examples import mlp, mnist, resnet18, transformer
from axiom.ir import Graph, print_graph

sys.path.insert(0, str(Path(__file__).parents[2] / "ir"))
from random_graphs import fusable_graphs, graphs, random_inputs, same_bits  # noqa: E402

MATMUL_ADD_RELU = """
graph @g(%x: f32[N, 4], %w: f32[4, 3], %b: f32[3]) -> (f32[N, 3]) {
  %0 = matmul(%x, %w) : f32[N, 3]    # model.py:1
  %1 = add(%0, %b) : f32[N, 3]
  %2 = relu(%1) : f32[N, 3]
  return %2
}"""


def test_matmul_add_relu_is_one_region():
    ctx = assert_pass(MATMUL_ADD_RELU, "fuse", """
graph @g(%x: f32[N, 4], %w: f32[4, 3], %b: f32[3]) -> (f32[N, 3]) {
  %2 = fused(%x, %w, %b) {kind = "matmul+add+relu"} : f32[N, 3] {
    ^(%a, %ww, %bb)
    %0 = matmul(%a, %ww) : f32[N, 3]
    %1 = add(%0, %bb) : f32[N, 3]
    %2 = relu(%1) : f32[N, 3]
    yield %2
  }
  return %2
}""")
    assert dict(ctx.stats) == {"fuse.matmul+add+relu": 1, "fuse.regions": 1, "fuse.ops": 3}
    assert str(run_on_text(MATMUL_ADD_RELU, "fuse").nodes[0].loc) == "model.py:1"  # the anchor's


def test_conv_blocks_with_a_residual_add():
    assert_pass("""
graph @g(%x: f32[N, 2, 5, 5], %w1: f32[2, 2, 3, 3], %b: f32[2], %w2: f32[2, 2, 3, 3]) -> (f32[N, 2, 5, 5]) {
  %0 = conv2d(%x, %w1, %b) {padding = [1, 1, 1, 1]} : f32[N, 2, 5, 5]
  %1 = relu(%0) : f32[N, 2, 5, 5]
  %2 = conv2d(%1, %w2) {padding = [1, 1, 1, 1]} : f32[N, 2, 5, 5]
  %3 = add(%2, %x) : f32[N, 2, 5, 5]
  %4 = relu(%3) : f32[N, 2, 5, 5]
  return %4
}""", "fuse", """
graph @g(%x: f32[N, 2, 5, 5], %w1: f32[2, 2, 3, 3], %b: f32[2], %w2: f32[2, 2, 3, 3]) -> (f32[N, 2, 5, 5]) {
  %1 = fused(%x, %w1, %b) {kind = "conv2d+relu"} : f32[N, 2, 5, 5] {
    ^(%a, %w, %b)
    %0 = conv2d(%a, %w, %b) {padding = [1, 1, 1, 1]} : f32[N, 2, 5, 5]
    %1 = relu(%0) : f32[N, 2, 5, 5]
    yield %1
  }
  %4 = fused(%1, %w2, %x) {kind = "conv2d+add+relu"} : f32[N, 2, 5, 5] {
    ^(%a, %w, %residual)
    %2 = conv2d(%a, %w) {padding = [1, 1, 1, 1]} : f32[N, 2, 5, 5]
    %3 = add(%2, %residual) : f32[N, 2, 5, 5]
    %4 = relu(%3) : f32[N, 2, 5, 5]
    yield %4
  }
  return %4
}""")


def test_an_elementwise_chain_without_anchor_is_one_region():
    assert_pass("""
graph @g(%x: f32[N, 4], %y: f32[N, 4]) -> (f32[N, 4]) {
  %0 = exp(%x) : f32[N, 4]
  %1 = mul(%0, %y) : f32[N, 4]
  %2 = tanh(%1) : f32[N, 4]
  return %2
}""", "fuse", """
graph @g(%x: f32[N, 4], %y: f32[N, 4]) -> (f32[N, 4]) {
  %2 = fused(%x, %y) {kind = "exp+mul+tanh"} : f32[N, 4] {
    ^(%a, %b)
    %0 = exp(%a) : f32[N, 4]
    %1 = mul(%0, %b) : f32[N, 4]
    %2 = tanh(%1) : f32[N, 4]
    yield %2
  }
  return %2
}""")


# A prologue: an elementwise group whose results only the normaliser reads joins it.
PROLOGUES = {
    "softmax": ("%2 = softmax(%1) {axis = -1} : f32[N, 4]", "f32[N, 4]"),
    "log_softmax": ("%2 = log_softmax(%1) {axis = 1} : f32[N, 4]", "f32[N, 4]"),
    "layer_norm": ("%2 = layer_norm(%1, %g) : f32[N, 4]", "f32[N, 4]"),
    "sum": ("%2 = sum(%1) {axes = [1], keepdims = true} : f32[N, 1]", "f32[N, 1]"),
    "max": ("%2 = max(%1) {axes = [1]} : f32[N]", "f32[N]"),
}


@pytest.mark.parametrize("anchor", PROLOGUES)
def test_a_prologue_joins_a_normaliser_or_reduction(anchor):
    line, out = PROLOGUES[anchor]
    operands = "%x, %s, %m, %g" if "%g" in line else "%x, %s, %m"
    assert_pass(f"""
graph @g(%x: f32[N, 4], %s: f32[4], %m: f32[N, 4], %g: f32[4]) -> ({out}) {{
  %0 = mul(%x, %s) : f32[N, 4]
  %1 = add(%0, %m) : f32[N, 4]
  {line}
  return %2
}}""", "fuse", f"""
graph @g(%x: f32[N, 4], %s: f32[4], %m: f32[N, 4], %g: f32[4]) -> ({out}) {{
  %2 = fused({operands}) {{kind = "mul+add+{anchor}"}} : {out} {{
    ^({operands})
    %0 = mul(%x, %s) : f32[N, 4]
    %1 = add(%0, %m) : f32[N, 4]
    {line}
    yield %2
  }}
  return %2
}}""")


SCORES = """
graph @g(%x: f32[N, 4], %k: f32[]) -> (f32[N, 4], f32[N, 4]) {
  %0 = exp(%x) : f32[N, 4]
  %1 = mul(%0, %k) : f32[N, 4]
  %2 = softmax(%1) {axis = -1} : f32[N, 4]
  return %2, %OUT
}"""
EXP_MUL = """
graph @g(%x: f32[N, 4], %k: f32[]) -> (f32[N, 4], f32[N, 4]) {
  %RESULTS = fused(%x, %k) {kind = "exp+mul"} : TYPES {
    ^(%x, %k)
    %0 = exp(%x) : f32[N, 4]
    %1 = mul(%0, %k) : f32[N, 4]
    yield %YIELD
  }
  %2 = softmax(%1) {axis = -1} : f32[N, 4]
  return %2, %OUT
}"""


def exp_mul(results: str, out: str) -> str:
    types = ", ".join(["f32[N, 4]"] * len(results.split(",")))
    return (EXP_MUL.replace("%RESULTS", results).replace("TYPES", types).replace("%YIELD", results)
            .replace("%OUT", out))


def test_no_prologue_when_its_value_is_needed_elsewhere_or_when_turned_off():
    assert_pass(SCORES.replace("%OUT", "%0"), "fuse", exp_mul("%0, %1", "%0"))  # %0 is an output too
    assert_pass(SCORES.replace("%OUT", "%2"), "fuse{prologue=false}", exp_mul("%1", "%2"))
    assert_pass(SCORES.replace("%OUT", "%2"), "fuse", """
graph @g(%x: f32[N, 4], %k: f32[]) -> (f32[N, 4], f32[N, 4]) {
  %2 = fused(%x, %k) {kind = "exp+mul+softmax"} : f32[N, 4] {
    ^(%x, %k)
    %0 = exp(%x) : f32[N, 4]
    %1 = mul(%0, %k) : f32[N, 4]
    %2 = softmax(%1) {axis = -1} : f32[N, 4]
    yield %2
  }
  return %2, %2
}""")


def test_a_group_with_its_own_anchor_is_no_prologue():
    g = run_on_text("""
graph @g(%q: f32[N, 8], %kt: f32[8, 4], %k: f32[]) -> (f32[N, 4]) {
  %0 = matmul(%q, %kt) : f32[N, 4]
  %1 = mul(%0, %k) : f32[N, 4]
  %2 = softmax(%1) {axis = -1} : f32[N, 4]
  return %2
}""", "fuse")
    assert [n.attrs["kind"] if n.region else n.op.name for n in g.nodes] == ["matmul+mul", "softmax"]


def test_a_value_used_outside_the_group_is_an_extra_result():
    assert_pass("""
graph @g(%x: f32[N, 4], %w: f32[4, 3], %b: f32[3]) -> (f32[N, 3], f32[3, N]) {
  %0 = matmul(%x, %w) : f32[N, 3]
  %1 = add(%0, %b) : f32[N, 3]
  %2 = relu(%1) : f32[N, 3]
  %3 = transpose(%1) : f32[3, N]
  return %2, %3
}""", "fuse", """
graph @g(%x: f32[N, 4], %w: f32[4, 3], %b: f32[3]) -> (f32[N, 3], f32[3, N]) {
  %1, %2 = fused(%x, %w, %b) {kind = "matmul+add+relu"} : f32[N, 3], f32[N, 3] {
    ^(%x, %w, %b)
    %0 = matmul(%x, %w) : f32[N, 3]
    %1 = add(%0, %b) : f32[N, 3]
    %2 = relu(%1) : f32[N, 3]
    yield %1, %2
  }
  %3 = transpose(%1) : f32[3, N]
  return %2, %3
}""")


@pytest.mark.parametrize("opaque", ["transpose(%0) : f32[4, 4]", "reshape(%0) {shape = [4, 4]} : f32[4, 4]"])
def test_a_merge_that_would_make_a_cycle_is_refused(opaque):
    # add reads the matmul and, through an op that stays outside, the matmul again: with add in
    # the matmul's region, the region would feed the opaque op that feeds it
    assert_pass(f"""
graph @g(%x: f32[4, 4], %w: f32[4, 4]) -> (f32[4, 4]) {{
  %0 = matmul(%x, %w) : f32[4, 4]
  %1 = {opaque}
  %2 = add(%0, %1) : f32[4, 4]
  %3 = relu(%2) : f32[4, 4]
  return %3
}}""", "fuse", f"""
graph @g(%x: f32[4, 4], %w: f32[4, 4]) -> (f32[4, 4]) {{
  %0 = matmul(%x, %w) : f32[4, 4]
  %1 = {opaque}
  %3 = fused(%0, %1) {{kind = "add+relu"}} : f32[4, 4] {{
    ^(%a, %b)
    %2 = add(%a, %b) : f32[4, 4]
    %3 = relu(%2) : f32[4, 4]
    yield %3
  }}
  return %3
}}""")


def test_an_elementwise_op_that_broadcasts_past_the_group_does_not_join():
    assert_pass("""
graph @g(%x: f32[N, 4], %k: f32[1]) -> (f32[N, 4]) {
  %0 = sum(%x) {axes = [1], keepdims = true} : f32[N, 1]
  %1 = mul(%0, %k) : f32[N, 1]
  %2 = sub(%x, %1) : f32[N, 4]
  %3 = exp(%2) : f32[N, 4]
  return %3
}""", "fuse", """
graph @g(%x: f32[N, 4], %k: f32[1]) -> (f32[N, 4]) {
  %1 = fused(%x, %k) {kind = "sum+mul"} : f32[N, 1] {
    ^(%x, %k)
    %0 = sum(%x) {axes = [1], keepdims = true} : f32[N, 1]
    %1 = mul(%0, %k) : f32[N, 1]
    yield %1
  }
  %3 = fused(%x, %1) {kind = "sub+exp"} : f32[N, 4] {
    ^(%x, %m)
    %2 = sub(%x, %m) : f32[N, 4]
    %3 = exp(%2) : f32[N, 4]
    yield %3
  }
  return %3
}""")


def test_min_and_max_nodes():
    assert_pass(MATMUL_ADD_RELU, "fuse{min-nodes=4}", MATMUL_ADD_RELU)
    assert_pass(MATMUL_ADD_RELU, "fuse{max-nodes=2}", """
graph @g(%x: f32[N, 4], %w: f32[4, 3], %b: f32[3]) -> (f32[N, 3]) {
  %1 = fused(%x, %w, %b) {kind = "matmul+add"} : f32[N, 3] {
    ^(%x, %w, %b)
    %0 = matmul(%x, %w) : f32[N, 3]
    %1 = add(%0, %b) : f32[N, 3]
    yield %1
  }
  %2 = relu(%1) : f32[N, 3]
  return %2
}""")
    one = run_on_text(MATMUL_ADD_RELU, "fuse{min-nodes=1,max-nodes=1}")
    assert [n.attrs["kind"] for n in one.nodes] == ["matmul", "add", "relu"]
    two = run_on_text(SCORES.replace("%OUT", "%2"), "fuse{max-nodes=2}")  # exp+mul+softmax is 3
    assert [n.attrs["kind"] if n.region else n.op.name for n in two.nodes] == ["exp+mul", "softmax"]
    for bad in ("fuse{min-nodes=0}", "fuse{max-nodes=0}"):
        with pytest.raises(PipelineError, match="must be at least 1"):
            parse_pipeline(bad)


def test_fusing_twice_changes_nothing():
    once = run_on_text(MATMUL_ADD_RELU, "fuse")
    ctx = assert_pass(MATMUL_ADD_RELU, "fuse,fuse", print_graph(once))
    assert ctx.stats["fuse.regions"] == 1


def test_outputs_and_property_arguments_follow_the_fused_values():
    g = run_on_text("""
graph @g(%x: f32[N, 4], %w: f32[4, 3], %b: f32[3]) -> (f32[N, 3], f32[N, 3], f32[N, 3]) {
  %0 = matmul(%x, %w) : f32[N, 3]
  %1 = add(%0, %b) : f32[N, 3]
  %2 = relu(%1) : f32[N, 3]
  ensure finite(%1)
  prove bounded(%2, %1) {low = 0.0}
  return %2, %1, %2
}""", "fuse")
    [fused] = g.nodes
    one, two = fused.results
    assert g.outputs == [two, one, two]
    assert [p.args for p in g.properties] == [[one], [two, one]]
    assert fused.region.outputs == [fused.region.nodes[1].result, fused.region.nodes[2].result]


# ---- the oracle -----------------------------------------------------------------------------------
PREPARE = "canonicalize,simplify,fold-batchnorm,fold-constants,cse,dce"
MODELS = {
    "mlp": (mlp.build_mlp, lambda: [mlp.fake_inputs(3)]),
    "mnist": (lambda: mnist.mnist, lambda: [mnist.fake_digits(2)[0]]),
    "resnet18": (lambda: resnet18.resnet18(64), lambda: [resnet18.fake_images(2, 64)]),
    "transformer": (transformer.transformer_encoder, lambda: [transformer.fake_sequences(2, 5)]),
}
KINDS = {
    "mlp": {"linear+gelu": 2},
    "mnist": {"conv2d+relu": 2, "linear+relu": 1},
    "resnet18": {"conv2d+relu": 9, "conv2d+add+relu": 8},
    "transformer": {"matmul+mul": 2, "linear+add": 4, "linear+gelu": 2},
}


@pytest.mark.parametrize("name", MODELS)
def test_reference_models_compute_the_same_bits_after_fuse(name):
    build, inputs = MODELS[name]
    before = run_pipeline(build().to_graph(), PREPARE).graph
    result = run_pipeline(before, "fuse")
    after = result.graph
    assert Counter(n.attrs["kind"] for n in after.nodes if n.region) == KINDS[name]
    assert sorted(op_names(after)) == sorted(op_names(before))
    args = inputs()
    assert all(same_bits(a, b) for a, b in zip(run_graph(after, args), run_graph(before, args), strict=True))
    assert print_graph(run_pipeline(after, "fuse").graph) == print_graph(after)


def op_names(g: Graph) -> list[str]:
    """Every op the graph computes, region bodies opened."""
    return [n.op.name for n in g.walk() if n.region is None]


SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def check_fused(before: Graph, pipeline: str, seed: int, min_nodes: int = 2, max_nodes: int = 64) -> None:
    """``pipeline`` (a fuse) verified, idempotent, within its bounds, and bit-exact."""
    after = run_pipeline(before, pipeline).graph
    assert sorted(op_names(after)) == sorted(op_names(before))
    for n in after.nodes:
        if n.region is None:
            continue
        inner = [m.op.name for m in n.region.nodes]
        assert min_nodes <= len(inner) <= max_nodes and n.attrs["kind"] == "+".join(inner)
        assert sum(m.op.name in ANCHORS or "reduction" in m.op.traits for m in n.region.nodes) <= 1
    assert print_graph(run_pipeline(after, pipeline).graph) == print_graph(after)
    args = random_inputs(before, seed)
    try:
        want = run_graph(before, args)
    except Exception as exc:  # noqa: BLE001 - a reference that fails (an index out of range) fails alike
        with pytest.raises(type(exc)):
            run_graph(after, args)
        return
    assert all(same_bits(got, w) for got, w in zip(run_graph(after, args), want, strict=True))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # exp overflows to inf, alike before and after
@settings(SETTINGS, max_examples=60)
@given(fusable_graphs(), st.integers(1, 3), st.integers(1, 6), st.booleans(), st.integers(0, 2**32 - 1))
def test_random_fusable_graphs_keep_their_bits(g, min_nodes, max_nodes, prologue, seed):
    options = f"min-nodes={min_nodes},max-nodes={max_nodes},prologue={str(prologue).lower()}"
    check_fused(g, f"fuse{{{options}}}", seed, min_nodes, max_nodes)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@settings(SETTINGS, max_examples=30)
@given(graphs(max_nodes=8), st.integers(0, 2**32 - 1))
def test_random_graphs_keep_their_bits(g, seed):
    check_fused(g, "fuse{min-nodes=1}", seed, min_nodes=1)
