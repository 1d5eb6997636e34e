"""axiom.compiler.analysis: the data-flow DiGraph of a graph's nodes, a topological order that
follows a key where it may, and the cycle test that fusion asks before contracting two vertices.
Hand-made cases, then hypothesis against brute force on random DAGs and random graphs."""

from __future__ import annotations

import sys
from pathlib import Path

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from axiom.compiler.analysis import creates_cycle, dataflow, stable_order
from axiom.ir import Graph, parse_graph

sys.path.insert(0, str(Path(__file__).parents[1] / "ir"))
from random_graphs import fusable_graphs  # noqa: E402

TEXT = """
graph @g(%x: f32[4, 4]) -> (f32[4, 4], f32[4, 2]) {
  %c = const {name = "c"} dense<2.0> : f32[]
  %0 = mul(%x, %c) : f32[4, 4]
  %1, %2 = split(%0) {axis = 1, sizes = [2, 2]} : f32[4, 2], f32[4, 2]
  %3 = add(%1, %2) : f32[4, 2]
  %4 = mul(%0, %0) : f32[4, 4]
  %5 = fused(%4, %3) {kind = "x"} : f32[4, 4] {
    ^(%a, %b)
    %6 = exp(%a) : f32[4, 4]
    yield %6
  }
  return %5, %3
}"""


def test_dataflow_has_a_vertex_per_node_and_an_edge_per_producer_user_pair():
    g = parse_graph(TEXT)
    dag = dataflow(g)
    assert list(dag.nodes) == [0, 1, 2, 3, 4, 5]
    assert [dag.nodes[i]["node"] for i in dag.nodes] == g.nodes
    # %4 reads %0 twice: one edge; the split's two results feed %3: one edge; bodies add none
    assert sorted(dag.edges) == [(0, 1), (1, 2), (1, 4), (2, 3), (3, 5), (4, 5)]


def test_dataflow_ignores_values_made_outside_the_graph():
    g = parse_graph(TEXT)
    body = g.nodes[-1].region
    assert list(dataflow(body).edges) == [] and list(dataflow(body).nodes) == [0]
    tail = Graph("tail")  # nodes whose operands come from another graph
    tail.append(g.nodes[3])
    tail.append(g.nodes[4])
    assert list(dataflow(tail).nodes) == [0, 1] and list(dataflow(tail).edges) == []


def test_stable_order_follows_the_key_where_the_data_flow_allows():
    g = parse_graph(TEXT)
    n = g.nodes
    position = {id(node): i for i, node in enumerate(n)}
    assert stable_order(reversed(n), key=lambda node: position[id(node)]) == n
    # reversed key: every free choice goes the other way, producers still come first
    backwards = stable_order(n, key=lambda node: -position[id(node)])
    assert backwards == [n[0], n[1], n[4], n[2], n[3], n[5]]
    # producers outside the list do not constrain it
    assert stable_order([n[3], n[4]], key=lambda node: -position[id(node)]) == [n[4], n[3]]


def test_stable_order_refuses_a_cycle():
    g = parse_graph("""
graph @g(%x: f32[2]) -> (f32[2]) {
  %0 = exp(%x) : f32[2]
  %1 = neg(%0) : f32[2]
  return %1
}""")
    a, b = g.nodes
    a.set_input(0, b.result)  # exp now reads neg, which reads exp
    with pytest.raises(ValueError, match="cycle"):
        stable_order(g.nodes, key=lambda node: 0)


def diamond() -> nx.DiGraph:
    """0 -> 1 -> 3, 0 -> 2 -> 3, 0 -> 3, 3 -> 4, 1 -> 4, and a loose vertex 5."""
    dag = nx.DiGraph([(0, 1), (1, 3), (0, 2), (2, 3), (0, 3), (3, 4), (1, 4)])
    dag.add_node(5)
    return dag


def everything(_: int) -> bool:
    return True


def test_creates_cycle_only_for_a_path_through_another_vertex():
    dag = diamond()
    assert creates_cycle(dag, 0, 3, everything)  # 0 -> 1 -> 3
    assert not creates_cycle(dag, 0, 1, everything)  # only the direct edge
    assert not creates_cycle(dag, 3, 4, everything)
    assert creates_cycle(dag, 1, 4, everything)  # 1 -> 3 -> 4
    assert not creates_cycle(dag, 5, 0, everything) and not creates_cycle(dag, 4, 0, everything)
    # vertices the caller rules out are not searched (fuse passes: only those before the target)
    assert not creates_cycle(dag, 0, 3, lambda v: v not in (1, 2))
    assert creates_cycle(dag, 0, 3, lambda v: v != 1)


def test_creates_cycle_after_a_contraction():
    dag = diamond()
    nx.contracted_nodes(dag, 0, 1, self_loops=False, copy=False)  # {0, 1} is one group now
    assert creates_cycle(dag, 0, 3, everything)  # still through 2
    nx.contracted_nodes(dag, 0, 2, self_loops=False, copy=False)
    assert not creates_cycle(dag, 0, 3, everything)  # every path to 3 is a direct edge now
    assert creates_cycle(dag, 0, 4, everything)


# ---- against brute force --------------------------------------------------------------------------
SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def dags(draw) -> nx.DiGraph:  # noqa: ANN001
    n = draw(st.integers(2, 9))
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    dag = nx.DiGraph(draw(st.lists(st.sampled_from(pairs), unique=True, max_size=len(pairs))))
    dag.add_nodes_from(range(n))
    return dag


def brute_cycle(dag: nx.DiGraph, source: int, target: int, within) -> bool:  # noqa: ANN001
    view = dag.subgraph([v for v in dag.nodes if v in (source, target) or within(v)])
    return any(nx.has_path(view, s, target) for s in view.successors(source) if s != target)


@settings(SETTINGS, max_examples=150)
@given(dags(), st.data())
def test_creates_cycle_agrees_with_brute_force(dag, data):
    pair = data.draw(st.lists(st.sampled_from(list(dag.nodes)), min_size=2, max_size=2, unique=True))
    source, target = sorted(pair)  # as fuse asks: the target comes later in a topological order
    banned = data.draw(st.sets(st.sampled_from(list(dag.nodes)))) - {source}  # callers keep the source
    within = lambda v: v not in banned  # noqa: E731
    assert creates_cycle(dag, source, target, within) == brute_cycle(dag, source, target, within)
    merged = nx.contracted_nodes(dag, source, target, self_loops=False)
    assert nx.is_directed_acyclic_graph(merged) == (not creates_cycle(dag, source, target, everything))


@settings(SETTINGS, max_examples=40)
@given(fusable_graphs(), st.randoms(use_true_random=False))
def test_stable_order_is_a_topological_order_for_any_key(g: Graph, rnd):
    keys = {id(n): rnd.randint(0, 5) for n in g.nodes}
    shuffled = list(g.nodes)
    rnd.shuffle(shuffled)
    order = stable_order(shuffled, key=lambda n: keys[id(n)])
    assert sorted(map(id, order)) == sorted(map(id, g.nodes))
    seen: set[int] = set()
    for node in order:
        assert all(v.producer is None or id(v.producer) in seen for v in node.inputs)
        seen.add(id(node))
    position = {id(n): i for i, n in enumerate(g.nodes)}
    assert stable_order(shuffled, key=lambda n: position[id(n)]) == g.nodes
    dag = dataflow(g)
    assert nx.is_directed_acyclic_graph(dag)
    assert all(u < v for u, v in dag.edges)  # graph.nodes is in topological order
    assert [dag.nodes[i]["node"] for i in nx.lexicographical_topological_sort(dag)] == g.nodes
