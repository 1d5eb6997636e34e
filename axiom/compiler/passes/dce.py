"""dce: erase nodes whose results nothing reads, then constants no node reads."""

from __future__ import annotations

from dataclasses import dataclass

from axiom.compiler.context import PassContext
from axiom.compiler.passbase import Pass, register_pass
from axiom.ir.graph import Graph


@register_pass
@dataclass(frozen=True)
class DeadCodeElimination(Pass):
    """Erase unused nodes (one backward sweep) and drop unreferenced constant-table entries."""

    name = "dce"

    def run(self, graph: Graph, ctx: PassContext) -> bool:
        kept = {id(v) for v in graph.outputs} | {id(v) for p in graph.properties for v in p.args}
        erased = 0
        for node in reversed(graph.nodes):  # users come after producers: one sweep suffices
            if any(r.uses or id(r) in kept for r in node.results):
                continue
            graph.erase(node)
            erased += 1
        read = {n.attrs["name"] for n in graph.nodes if n.op.name == "const"}
        unused = [k for k in graph.constants if k not in read]
        for k in unused:
            del graph.constants[k]
        ctx.count("dce.nodes", erased)
        ctx.count("dce.constants", len(unused))
        return bool(erased or unused)
