"""unfuse: put the body of every ``fused`` region back into the graph, inverse of ``fuse``.

For a backend without region support, for proofs that reason op by op, or to look at a
model's ops without its fusion decisions. Nested regions are opened too.
"""

from __future__ import annotations

from dataclasses import dataclass

from axiom.compiler.context import PassContext
from axiom.compiler.passbase import Pass, register_pass
from axiom.ir.graph import Graph, Node, Value


@register_pass
@dataclass(frozen=True)
class Unfuse(Pass):
    """Replace each region op by a copy of its body's nodes, reading the op's operands."""

    name = "unfuse"

    def run(self, graph: Graph, ctx: PassContext) -> bool:
        opened = 0
        for node in list(graph.nodes):
            if node.region is None:
                continue
            inline(graph, node)
            opened += 1
        ctx.count("unfuse.regions", opened)
        return opened > 0


def inline(graph: Graph, node: Node) -> None:
    """Copy ``node``'s body in front of it, move every use of its results, erase it."""
    assert node.region is not None
    body = node.region
    vmap: dict[int, Value] = {id(a): v for a, v in zip(body.inputs, node.inputs, strict=True)}
    for inner in body.nodes:
        copy = Node(inner.op, [vmap[id(v)] for v in inner.inputs], inner.attrs, inner.loc,
                    result_types=[r.type for r in inner.results],
                    result_names=[r.name for r in inner.results],
                    region=None if inner.region is None else inner.region.copy())
        graph.insert_before(node, copy)
        vmap.update((id(a), b) for a, b in zip(inner.results, copy.results, strict=True))
        if copy.region is not None:
            inline(graph, copy)
    for result, out in zip(node.results, body.outputs, strict=True):
        graph.replace_all_uses(result, vmap[id(out)])
    graph.erase(node)
