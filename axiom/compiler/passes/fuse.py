"""fuse: make each heavy op and the elementwise ops around it one ``fused`` region.

Every group has at most one *anchor* (a matmul, conv, pool, normalisation or reduction) and
one iteration space (the anchor's result shape, or the shape of an elementwise chain):

- an elementwise op joins the group of an operand's producer when its result and that
  operand both have the group's shape (an epilogue: bias, activation, residual add);
- an elementwise-only group whose every result feeds only a normalising anchor (softmax,
  log_softmax, layer_norm, batch_norm, a reduction) joins that anchor as its prologue
  (``scores * scale + mask`` before softmax);
- shape ops, ``dropout``, ops the pass does not know and existing regions stay outside.

A merge that would make the groups' data flow cyclic is refused (networkx reachability on the
contracted graph). Groups of at least ``min_nodes`` ops become ``fused`` nodes whose body holds
the ops and whose ``kind`` lists them (``"matmul+add+relu"``); constants and every value from
outside come in as operands; a value also used outside the group is a result as well.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from axiom.compiler.analysis import creates_cycle, dataflow, stable_order
from axiom.compiler.context import PassContext
from axiom.compiler.passbase import Pass, PipelineError, register_pass
from axiom.ir.dims import dim_eq
from axiom.ir.graph import Graph, Node, Value

ANCHORS = frozenset({"matmul", "linear", "conv2d", "max_pool2d", "avg_pool2d", "global_avg_pool2d",
                     "batch_norm", "layer_norm", "softmax", "log_softmax"})
NORMALISING = frozenset({"softmax", "log_softmax", "layer_norm", "batch_norm"})


def role(node: Node) -> str:
    """``"elementwise"``, ``"anchor"`` or ``"opaque"``: how the node may take part in a group."""
    if node.region is not None or node.op.name == "const":
        return "opaque"
    if "elementwise" in node.op.traits:
        return "elementwise"
    if node.op.name in ANCHORS or "reduction" in node.op.traits:
        return "anchor"
    return "opaque"


def takes_prologue(node: Node) -> bool:
    return node.op.name in NORMALISING or "reduction" in node.op.traits


@dataclass
class Group:
    """A fusion group while it grows: its members in order, its anchor and iteration space."""

    members: list[Node]
    anchor: Node | None
    space: tuple
    vertex: int  # its vertex in the contracted data-flow graph

    def add(self, node: Node) -> None:
        self.members.append(node)


def same_shape(a: tuple, b: tuple) -> bool:
    return len(a) == len(b) and all(x == y or dim_eq(x, y).proved for x, y in zip(a, b, strict=True))


@register_pass
@dataclass(frozen=True)
class Fuse(Pass):
    """Group anchors with their elementwise epilogues (and normalisers with prologues) into
    ``fused`` regions of ``min_nodes`` to ``max_nodes`` ops."""

    name = "fuse"
    min_nodes: int = 2
    max_nodes: int = 64
    prologue: bool = True

    def __post_init__(self) -> None:
        if self.min_nodes < 1 or self.max_nodes < 1:  # a group holds at least its first op
            raise PipelineError(f"fuse: min-nodes ({self.min_nodes}) and max-nodes ({self.max_nodes}) "
                                "must be at least 1")

    def run(self, graph: Graph, ctx: PassContext) -> bool:
        groups = _Planner(graph, self).plan()
        chosen = [g for g in groups if len(g.members) >= self.min_nodes]
        if not chosen:
            return False
        position = {id(n): i for i, n in enumerate(graph.nodes)}
        made = [outline(graph, g.members) for g in chosen]
        first = {id(f): min(position[id(m)] for m in g.members) for f, g in zip(made, chosen, strict=True)}
        members = {id(m) for g in chosen for m in g.members}
        kept = [n for n in graph.nodes if id(n) not in members] + made
        graph.nodes = stable_order(kept, key=lambda n: first.get(id(n), position.get(id(n), 0)))
        for f in made:
            ctx.count(f"fuse.{f.attrs['kind']}")
        ctx.count("fuse.regions", len(made))
        ctx.count("fuse.ops", len(members))
        return True


class _Planner:
    """Grows groups over the nodes in order, contracting each merge in a networkx DiGraph."""

    def __init__(self, graph: Graph, options: Fuse) -> None:
        self.graph = graph
        self.options = options
        self.dag = dataflow(graph)
        self.group_of: dict[int, Group] = {}  # id(node) -> its group
        self.groups: list[Group] = []

    def plan(self) -> list[Group]:
        for index, node in enumerate(self.graph.nodes):
            kind = role(node)
            if kind == "elementwise" and self.join_epilogue(index, node):
                continue
            if kind == "opaque":
                continue
            group = self.start(index, node, node if kind == "anchor" else None)
            if kind == "anchor" and self.options.prologue and takes_prologue(node):
                self.join_prologue(group, node)
        return [g for g in self.groups if g.members]

    def start(self, index: int, node: Node, anchor: Node | None) -> Group:
        group = Group([], anchor, tuple(node.results[0].shape), index)
        group.add(node)
        self.group_of[id(node)] = group
        self.groups.append(group)
        return group

    def join_epilogue(self, index: int, node: Node) -> bool:
        out = node.results[0].shape
        for v in node.inputs:
            group = self.group_of.get(id(v.producer)) if v.producer is not None else None
            if group is None or len(group.members) >= self.options.max_nodes:
                continue
            if not (same_shape(v.shape, group.space) and same_shape(out, group.space)):
                continue
            if creates_cycle(self.dag, group.vertex, index, within=lambda u, i=index: u < i):
                continue
            self.merge(group, index, node)
            return True
        return False

    def join_prologue(self, group: Group, anchor: Node) -> None:
        """Pull the elementwise group feeding the anchor's first operand into the anchor's group."""
        v = anchor.inputs[0]
        before = self.group_of.get(id(v.producer)) if v.producer is not None else None
        if before is None or before.anchor is not None or not same_shape(before.space, v.shape):
            return
        if len(before.members) + 1 > self.options.max_nodes:
            return
        inside = {id(m) for m in before.members} | {id(anchor)}
        if any(_used_outside(self.graph, r, inside) for m in before.members for r in m.results):
            return  # a value it makes is needed elsewhere: it stays a kernel of its own
        nx.contracted_nodes(self.dag, before.vertex, group.vertex, self_loops=False, copy=False)
        for m in before.members:
            self.group_of[id(m)] = group
        group.members[:0] = before.members
        group.vertex = before.vertex
        before.members = []

    def merge(self, group: Group, index: int, node: Node) -> None:
        nx.contracted_nodes(self.dag, group.vertex, index, self_loops=False, copy=False)
        group.add(node)
        self.group_of[id(node)] = group


def outline(graph: Graph, members: list[Node]) -> Node:
    """A ``fused`` node computing ``members`` (in order) from the values they read from outside;
    every member result used outside becomes one of its results, with all its uses moved.
    The members stay in ``graph.nodes``: the caller removes them."""
    inside = {id(m) for m in members}
    produced = {id(r) for m in members for r in m.results}
    operands: list[Value] = []
    for m in members:
        for v in m.inputs:
            if id(v) not in produced and all(v is not o for o in operands):
                operands.append(v)
    exported = [r for m in members for r in m.results if _used_outside(graph, r, inside)]
    body = Graph("fused")
    vmap: dict[int, Value] = {}
    taken: set[str] = set()
    for i, v in enumerate(operands):  # value names need not be unique, a body's inputs must be
        name = v.name if v.name and v.name not in taken else f"arg{i}"
        while name in taken:
            name += "_"
        taken.add(name)
        vmap[id(v)] = body.add_input(name, v.type)
    for m in members:
        copy = Node(m.op, [vmap[id(v)] for v in m.inputs], m.attrs, m.loc,
                    result_types=[r.type for r in m.results], result_names=[r.name for r in m.results],
                    region=None if m.region is None else m.region.copy())  # regions nest
        body.append(copy)
        vmap.update((id(a), b) for a, b in zip(m.results, copy.results, strict=True))
    body.set_outputs(vmap[id(r)] for r in exported)
    anchor = next((m for m in members if role(m) == "anchor"), members[0])
    kind = "+".join(m.op.name for m in members)
    fused = Node("fused", operands, {"kind": kind}, anchor.loc, result_names=[r.name for r in exported],
                 region=body)
    for old, new in zip(exported, fused.results, strict=True):
        for user, i in list(old.uses):
            if id(user) not in inside:
                user.set_input(i, new)
        graph.outputs = [new if o is old else o for o in graph.outputs]
        for p in graph.properties:
            p.args = [new if a is old else a for a in p.args]
    for m in members:
        m.drop_inputs()
    return fused


def _used_outside(graph: Graph, value: Value, inside: set[int]) -> bool:
    if any(id(u) not in inside for u in value.users):
        return True
    return any(value is o for o in graph.outputs) or any(value is a for p in graph.properties for a in p.args)
