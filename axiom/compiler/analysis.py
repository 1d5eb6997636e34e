"""Graph analyses over networkx: the data-flow graph of a Graph's nodes, and the orders and
reachability queries that passes (fuse, memory-plan) ask of it."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import networkx as nx

from axiom.ir.graph import Graph, Node


def dataflow(graph: Graph) -> nx.DiGraph:
    """A DiGraph with one vertex per node (its index in ``graph.nodes``) and an edge producer ->
    user for every operand; each vertex holds its ``node``."""
    dag = nx.DiGraph()
    index = {id(n): i for i, n in enumerate(graph.nodes)}
    for i, node in enumerate(graph.nodes):
        dag.add_node(i, node=node)
        for v in node.inputs:
            if v.producer is not None and id(v.producer) in index:
                dag.add_edge(index[id(v.producer)], i)
    return dag


def stable_order(nodes: Iterable[Node], key: Callable[[Node], int]) -> list[Node]:
    """``nodes`` in a topological order (producers first) that follows ``key`` where the
    data flow leaves a choice; ValueError if the nodes' data flow has a cycle."""
    nodes = list(nodes)
    members = {id(n): n for n in nodes}
    dag = nx.DiGraph()
    for n in nodes:
        dag.add_node(id(n))
        for v in n.inputs:
            if v.producer is not None and id(v.producer) in members:
                dag.add_edge(id(v.producer), id(n))
    try:
        order = nx.lexicographical_topological_sort(dag, key=lambda k: key(members[k]))
        return [members[k] for k in order]
    except nx.NetworkXUnfeasible:
        raise ValueError("the nodes' data flow has a cycle") from None


def creates_cycle(dag: nx.DiGraph, source: int, target: int, within: Callable[[int], bool]) -> bool:
    """Whether contracting ``target`` into ``source`` would close a cycle: some path from
    ``source`` reaches ``target`` through another vertex. Only vertices for which ``within``
    holds are searched (callers prune the ones that cannot lie on such a path). Paths from
    ``target`` back to ``source`` are not looked for: callers pick ``target`` after ``source``
    in a topological order, so there are none."""
    view = nx.subgraph_view(dag, filter_node=lambda v: v == target or within(v))
    reached: set[int] = set()
    for s in view.successors(source):
        if s == target or s in reached:
            continue
        reached |= nx.descendants(view, s) | {s}
        if target in reached:
            return True
    return False
