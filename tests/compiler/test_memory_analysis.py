"""The memory plan against an oracle: a planned interpreter runs the graph with every planned
value's bytes in ONE uint8 arena at its planned offset, reading operands back from the arena, and
must give the reference interpreter's outputs bit for bit; a plan that let two live values
overlap would make them differ. On the reference models (with and without fusion, at two sizes
of every symbol) and on random graphs, whose symbolic plan is checked at random bindings."""

from __future__ import annotations

import dataclasses
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import sympy
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

from axiom.backends.numpy.interpreter import evaluate_node, run_graph
from axiom.compiler.memory import (
    MemoryPlan,
    align_up,
    evaluate,
    in_place_operand,
    live_ranges,
    nonnegative,
    plan_memory,
)
from axiom.compiler.pipeline import run_pipeline
from axiom.examples import mlp, mnist, resnet18, transformer
from axiom.ir import Graph, Node, TensorType, parse_graph, sym
from axiom.ir.dims import dim_str, evaluate_dim

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ir"))
from random_graphs import arrays, fusable_graphs, graphs, outlined  # noqa: E402

CLEAN = "canonicalize,simplify,fold-batchnorm,fold-constants,cse,dce"


def run_planned(graph: Graph, plan: MemoryPlan, inputs: list[np.ndarray], bindings: dict[str, int]):
    """The outputs and property arguments of ``graph``, every planned value living in one arena."""
    layout = plan.layout(bindings)
    arena = np.full(evaluate(plan.peak_after, bindings), 0xA5, np.uint8)  # garbage until written
    env = {id(v): a for v, a in zip(graph.inputs, inputs, strict=True)}

    def read(v):
        if id(v) not in layout:  # an input or a constant
            return env[id(v)]
        offset, n = layout[id(v)]
        shape = tuple(evaluate_dim(d, bindings) for d in v.shape)
        return arena[offset:offset + n].copy().view(v.dtype.np_dtype).reshape(shape)  # a fresh array

    for node in graph.nodes:
        outs = evaluate_node(graph, node, [read(v) for v in node.inputs], bindings)
        for r, out in zip(node.results, outs, strict=True):
            if id(r) not in layout:
                env[id(r)] = out
                continue
            offset, n = layout[id(r)]
            data = np.frombuffer(np.ascontiguousarray(out).tobytes(), np.uint8)
            assert data.size == n and offset + n <= arena.size, f"{node.op.name}: {n} bytes at {offset}"
            arena[offset:offset + n] = data
    return [read(v) for v in (*graph.outputs, *(a for p in graph.properties for a in p.args))]


def reference(graph: Graph, inputs: list[np.ndarray], bindings: dict[str, int]) -> list[np.ndarray]:
    g = graph.copy()
    g.outputs = [*g.outputs, *(a for p in g.properties for a in p.args)]
    return run_graph(g, inputs, bindings)


def assert_same_bits(got: list[np.ndarray], want: list[np.ndarray]) -> None:
    assert len(got) == len(want)
    for a, b in zip(got, want, strict=True):
        b = np.asarray(b)
        assert a.dtype == b.dtype and a.shape == b.shape
        assert a.tobytes() == np.ascontiguousarray(b).tobytes()


def assert_disjoint(plan: MemoryPlan, bindings: dict[str, int]) -> None:
    """A second, direct oracle: values live at the same step occupy disjoint bytes (an in-place
    result and the operand it replaces excepted), and nothing lies outside the arena."""
    layout = plan.layout(bindings)
    arena = evaluate(plan.peak_after, bindings)
    for i, a in enumerate(plan.slots):
        oa, na = layout[id(a.value)]
        assert oa % plan.alignment == 0 and oa + na <= arena
        for b in plan.slots[i + 1:]:
            if b.start > a.end or a.start > b.end or (b.in_place_of is a.value and a.end == b.start):
                continue
            ob, nb = layout[id(b.value)]
            assert oa + na <= ob or ob + nb <= oa or na == 0 or nb == 0, (a.name, b.name)


def assert_peaks_ordered(plan: MemoryPlan, bindings: dict[str, int]) -> None:
    n = plan.evaluate(bindings)
    assert n["lower_bound"] <= n["peak_after"] <= n["peak_before"]


# ---- the reference models ---------------------------------------------------------------------
MODELS = {
    "mlp": (mlp.mlp, lambda b, s: [mlp.fake_inputs(b, seed=b)]),
    "mnist": (mnist.mnist, lambda b, s: [mnist.fake_digits(b, seed=b)[0]]),
    "resnet18": (resnet18.resnet18(64), lambda b, s: [resnet18.fake_images(b, 64, seed=b)]),
    "transformer": (transformer.transformer_encoder(),
                    lambda b, s: [transformer.fake_sequences(b, s, seed=b)]),
}


@pytest.fixture(scope="module", params=[CLEAN, CLEAN + ",fuse"], ids=["clean", "fused"])
def pipeline(request):
    return request.param


@pytest.mark.parametrize("name", MODELS)
def test_reference_models_run_from_one_arena(name, pipeline):
    model, make_inputs = MODELS[name]
    graph = run_pipeline(model.to_graph(), pipeline).graph
    plan = plan_memory(graph)
    assert plan.in_place or "fuse" in pipeline  # unfused, every model has elementwise ops in place
    for batch, seq in ((1, 16), (3, 5)):
        bindings = {"N": batch, "S": seq} if name == "transformer" else {"N": batch}
        inputs = make_inputs(batch, seq)
        assert_same_bits(run_planned(graph, plan, inputs, bindings), reference(graph, inputs, bindings))
        assert_disjoint(plan, bindings)
        assert_peaks_ordered(plan, bindings)


def test_fused_regions_run_in_place_over_a_residual():
    graph = run_pipeline(transformer.transformer_encoder().to_graph(), CLEAN + ",fuse").graph
    plan = plan_memory(graph)
    kinds = {n.attrs["kind"] for n in plan.in_place_nodes if n.region is not None}
    assert kinds == {"linear+add"}  # the residual add writes over the residual stream
    assert_same_bits(run_planned(graph, plan, [transformer.fake_sequences(2, 7)], {"N": 2, "S": 7}),
                     reference(graph, [transformer.fake_sequences(2, 7)], {"N": 2, "S": 7}))


# ---- random graphs ------------------------------------------------------------------------------
def with_data(draw, graph: Graph):
    names = sorted({s.name for v in graph.values() for d in v.shape if not isinstance(d, int)
                    for s in d.free_symbols})
    bindings = {n: draw(st.integers(1, 4)) for n in names}
    inputs = [draw(arrays(v.dtype, tuple(evaluate_dim(d, bindings) for d in v.shape))) for v in graph.inputs]
    return graph, inputs, bindings


@st.composite
def random_cases(draw):
    """Any op, dtype and symbolic dim; sometimes with random runs of nodes outlined as regions."""
    graph = draw(graphs(max_nodes=10))
    return with_data(draw, draw(outlined(graph)) if draw(st.booleans()) else graph)


@st.composite
def chains(draw) -> Graph:
    """f32 [S, S] values, each op reading recent ones (so many reads are last reads): elementwise
    ops that fuse, broken by transposes and matmuls that make planned operands for the regions."""
    s = draw(st.sampled_from([4, sym("N")]))
    g = Graph("chain")
    pool = [g.add_input(f"x{i}", TensorType("f32", [s, s])) for i in range(draw(st.integers(1, 2)))]
    for _ in range(draw(st.integers(2, 12))):
        kind, a = draw(st.integers(0, 5)), draw(st.sampled_from([pool[-1], pool[-1], *pool[-3:]]))
        if kind == 0:
            node = Node("transpose", [a], {"perm": [1, 0]})
        elif kind == 1:
            node = Node("matmul", [a, draw(st.sampled_from(pool))])
        elif kind <= 3:
            node = Node(draw(st.sampled_from(["relu", "exp", "neg", "tanh"])), [a])
        else:
            node = Node(draw(st.sampled_from(["add", "mul", "maximum"])), [a, draw(st.sampled_from(pool))])
        g.append(node)
        pool.append(node.results[0])
    g.set_outputs([pool[-1], *draw(st.lists(st.sampled_from(pool[len(g.inputs):]), max_size=1))])
    return g


@st.composite
def fused_cases(draw):
    """What the fuse pass makes of graphs built for it: anchors with epilogues and prologues."""
    graph = draw(st.one_of(fusable_graphs(), chains()))
    return with_data(draw, run_pipeline(graph, "fuse").graph)


def check_random(case) -> None:
    graph, inputs, bindings = case
    with warnings.catch_warnings(), np.errstate(all="ignore"):  # NaN, overflow, empty means: expected
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            want = reference(graph, inputs, bindings)
        except Exception:  # noqa: BLE001 - a draw whose ops reject these values is not a case
            assume(False)
        plan = plan_memory(graph)
        assert_same_bits(run_planned(graph, plan, inputs, bindings), want)
    assert_disjoint(plan, bindings)
    assert_peaks_ordered(plan, bindings)


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(random_cases())
def test_random_graphs_run_from_one_arena(case):
    check_random(case)


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(fused_cases())
def test_fused_random_graphs_run_from_one_arena(case):
    check_random(case)


@pytest.mark.parametrize("strategy", [random_cases, fused_cases])
def test_random_graphs_do_exercise_reuse_and_in_place(strategy):
    """The random cases are no vacuous test: among the first draws some reuse buffers and run ops
    in place, and (fused) regions run in place too."""
    seen = {"reuse": 0, "in place": 0, "region in place": 0}

    @settings(max_examples=100, database=None, derandomize=True, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strategy())
    def count(case):
        plan = plan_memory(case[0])
        seen["reuse"] += len(plan.buffers) < len(plan.slots)
        seen["in place"] += bool(plan.in_place)
        seen["region in place"] += any(n.region is not None for n in plan.in_place_nodes)

    count()
    assert seen["reuse"] >= 10 and seen["in place"] >= 3, seen
    assert strategy is random_cases or seen["region in place"] >= 3, seen


def test_the_oracle_catches_two_live_values_in_one_place():
    graph = parse_graph("""
graph @g(%x: f32[N, 4]) -> (f32[N, 4]) {
  %a = relu(%x) : f32[N, 4]
  %b = neg(%a) : f32[N, 4]
  %c = add(%a, %b) : f32[N, 4]
  return %c
}""")
    plan = plan_memory(graph)
    x = np.arange(8, dtype=np.float32).reshape(2, 4)
    assert_same_bits(run_planned(graph, plan, [x], {"N": 2}), reference(graph, [x], {"N": 2}))
    a, b, c = plan.slots
    assert b.in_place_of is None and c.in_place_of is a.value  # %a is still read by %c
    wrong = dataclasses.replace(plan, slots=[a, dataclasses.replace(b, offset=a.offset), c])
    got = run_planned(graph, wrong, [x], {"N": 2})
    assert not np.array_equal(got[0], reference(graph, [x], {"N": 2})[0])  # %b overwrote %a


# ---- liveness, in-place rules, symbolic reuse ---------------------------------------------------
def test_live_ranges_run_to_the_last_reader_and_outputs_to_the_end():
    graph = parse_graph("""
graph @g(%x: f32[4]) -> (f32[4]) {
  %w = const {name = "w"} dense<[1.0, 2.0, 3.0, 4.0]> : f32[4]
  %a = mul(%x, %w) : f32[4]
  %dead = exp(%a) : f32[4]
  %b = neg(%a) : f32[4]
  %c = tanh(%b) : f32[4]
  ensure finite(%b)
  return %c
}""")
    ranges = {v.name: (start, end) for v, start, end in live_ranges(graph).values()}
    assert ranges == {"a": (1, 3), "dead": (2, 2), "b": (3, 5), "c": (4, 5)}


def in_place_of(text: str) -> dict[str, str | None]:
    graph = parse_graph(text)
    plan = plan_memory(graph)
    return {s.value.name: s.in_place_of.name if s.in_place_of is not None else None for s in plan.slots}


def test_in_place_needs_a_last_read_of_a_planned_operand_of_the_same_type():
    assert in_place_of("""
graph @g(%x: f32[N, 4], %b: f32[4]) -> (i32[4, N], f32[4]) {
  %a = exp(%x) : f32[N, 4]
  %s = add(%b, %a) : f32[N, 4]
  %y = sigmoid(%s) : f32[N, 4]
  %t = exp(%b) : f32[4]
  %u = add(%t, %y) : f32[N, 4]
  %i = cast(%u) {to = i32} : i32[N, 4]
  %r = reshape(%i) {shape = [4, N]} : i32[4, N]
  %k = neg(%r) : i32[4, N]
  %m = mul(%k, %k) : i32[4, N]
  return %m, %t
}""") == {"a": None,   # from a graph input
          "s": "a",    # the broadcast %b is not the one overwritten
          "y": "s",
          "t": None,   # %t is a graph output: its last reader is the end
          "u": "y",    # f32[4] broadcasts into f32[N, 4]: only %y has the result's shape
          "i": None,   # another dtype
          "r": None,   # not elementwise
          "k": "r",
          "m": "k"}    # read twice by the same node


def test_fused_in_place_only_when_the_operand_is_read_elementwise():
    text = """
graph @g(%x: f32[N, 8], %w: f32[8, 8]) -> (f32[N, 8], f32[N, 8]) {
  %a = exp(%x) : f32[N, 8]
  %b = exp(%x) : f32[N, 8]
  %r = fused(%a, %w) {kind = "matmul+add"} : f32[N, 8] {
    ^(%p, %q)
    %0 = matmul(%p, %q) : f32[N, 8]
    %1 = add(%0, %p) : f32[N, 8]
    yield %1
  }
  %s = fused(%b, %w) {kind = "relu+matmul"} : f32[N, 8] {
    ^(%p, %q)
    %0 = relu(%p) : f32[N, 8]
    %1 = matmul(%0, %q) : f32[N, 8]
    yield %1
  }
  %t = fused(%r, %s) {kind = "add+tanh"} : f32[N, 8] {
    ^(%p, %q)
    %0 = add(%p, %q) : f32[N, 8]
    %1 = tanh(%0) : f32[N, 8]
    yield %1
  }
  %u = fused(%s, %t) {kind = "sum+add"} : f32[N, 8] {
    ^(%p, %q)
    %0 = sum(%q) {axes = [1], keepdims = true} : f32[N, 1]
    %1 = add(%p, %0) : f32[N, 8]
    yield %1
  }
  return %u, %r
}"""
    # %a feeds the matmul: a kernel still reads row i of %a after writing row i of %r;
    # %s's relu feeds a matmul: the same; %r is a graph output; %t is read by a reduction.
    assert in_place_of(text) == {"a": None, "b": None, "r": None, "s": None, "t": None, "u": "s"}


def test_in_place_operand_picks_an_operand_not_taken():
    graph = parse_graph("""
graph @g(%x: f32[4]) -> (f32[4]) {
  %a = exp(%x) : f32[4]
  %b = add(%a, %a) : f32[4]
  return %b
}""")
    node, ranges = graph.nodes[1], live_ranges(graph)
    assert in_place_operand(node, node.results[0], 1, ranges) is graph.nodes[0].results[0]
    assert in_place_operand(node, node.results[0], 1, ranges, taken=[graph.nodes[0].results[0]]) is None


def test_symbolic_sizes_reuse_a_buffer_only_when_proved_to_fit_or_to_grow_it():
    plan = plan_memory(parse_graph("""
graph @g(%x: f32[N, 16], %y: f32[S, 16]) -> (f32[N, 32]) {
  %a = exp(%y) : f32[S, 16]
  %b = sum(%a) {axes = [0], keepdims = true} : f32[1, 16]
  %c = add(%x, %b) : f32[N, 16]
  %d = sum(%c) {axes = [0], keepdims = true} : f32[1, 16]
  %e = add(%c, %d) : f32[N, 16]
  %f = exp(%e) : f32[N, 16]
  %g = concat(%f, %f) {axis = 1} : f32[N, 32]
  return %g
}"""), in_place=False)
    # %c: %a's buffer (64*S) is free, but neither 64*N <= 64*S nor the converse is proved: a new one.
    # %d fits in %b's (64 <= 64) rather than %a's (64 <= 64*S, a worse fit); %e: only %a's is free:
    # a new one; %f fits in %c's; %g outgrows both free ones provably (64, 64*N <= 128*N): the
    # larger, %e's, grows to 128*N.
    assert [s.buffer for s in plan.slots] == [0, 1, 2, 1, 3, 2, 3]
    assert [dim_str(b.capacity) for b in plan.buffers] == ["64*S", "64", "64*N", "128*N"]
    assert dim_str(plan.peak_after) == "192*N + 64*S + 64"
    assert dim_str(plan.slots[-1].offset) == "64*N + 64*S + 64"
    for n, s in ((1, 9), (9, 1), (3, 3)):
        assert_disjoint(plan, {"N": n, "S": s})


def test_alignment_rounds_each_buffer_and_offsets_stay_aligned():
    assert align_up(0, 64) == 0 and align_up(1, 64) == 64 and align_up(128, 64) == 128
    n = sym("N")
    assert align_up(256 * n, 64) == 256 * n
    assert evaluate(align_up(12 * n, 64), {"N": 5}) == 64 and evaluate(align_up(12 * n, 64), {"N": 6}) == 128
    plan = plan_memory(parse_graph("""
graph @g(%x: f32[N, 3]) -> (f32[N, 3], f32[N, 3]) {
  %a = exp(%x) : f32[N, 3]
  %b = exp(%x) : f32[N, 3]
  return %a, %b
}"""), alignment=16)
    assert [dim_str(s.offset) for s in plan.slots] == ["0", "16*((12*N + 15)//16)"]
    assert_disjoint(plan, {"N": 3})


def test_nonnegative_is_a_sound_sufficient_test():
    n, s = sym("N"), sym("S")
    assert nonnegative(3 * n * s**2 + 64 * sympy.floor((16 * n + 63) / 64))
    assert not nonnegative(n - 1) and not nonnegative(sympy.floor(n / 2) - 1) and not nonnegative(-n)


def test_lower_bound_is_the_most_bytes_live_at_once():
    plan = plan_memory(parse_graph("""
graph @g(%x: f32[N, 16], %y: f32[S, 16]) -> (f32[N, 16], f32[S, 16]) {
  %a = exp(%x) : f32[N, 16]
  %b = exp(%y) : f32[S, 16]
  %c = neg(%a) : f32[N, 16]
  %d = neg(%b) : f32[S, 16]
  return %c, %d
}"""))
    # in place, at most %a + %b or %c + %b (or %c + %d) are live: 64*N + 64*S
    assert str(plan.lower_bound) == "64*N + 64*S" and str(plan.peak_after) == "64*N + 64*S"
    assert plan.evaluate({"N": 2}) == {"peak_before": 256 + 128, "peak_after": 128 + 64, "lower_bound": 192}
