"""cse: one node for each distinct (op, operands, attributes), and one const for equal data."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass

from axiom.compiler.context import PassContext
from axiom.compiler.passbase import Pass, register_pass
from axiom.ir.graph import Graph, Node
from axiom.ir.printer import print_graph


@register_pass
@dataclass(frozen=True)
class CommonSubexpressionElimination(Pass):
    """Replace a node by an earlier identical one. Every op is pure, so identical nodes agree.

    Constants are merged by content (dtype, shape and bytes) up to ``max_const_bytes``.
    """

    name = "cse"
    max_const_bytes: int = 1 << 20

    def run(self, graph: Graph, ctx: PassContext) -> bool:
        seen: dict[tuple, Node] = {}
        readers = Counter(n.attrs["name"] for n in graph.nodes if n.op.name == "const")
        merged = 0
        for node in list(graph.nodes):
            key = self._key(graph, node)
            if key is None:
                continue
            first = seen.setdefault(key, node)
            if first is node:
                continue
            for old, new in zip(node.results, first.results, strict=True):
                graph.replace_all_uses(old, new)
            graph.erase(node)
            merged += 1
            if node.op.name == "const":
                name = node.attrs["name"]
                readers[name] -= 1
                if readers[name] == 0:  # no const node reads the merged entry any more
                    graph.constants.pop(name, None)
        ctx.count("cse.eliminated", merged)
        return merged > 0

    def _key(self, graph: Graph, node: Node) -> tuple | None:
        if node.region is not None:  # equal bodies print equally (a body holds no constants)
            return (node.op.name, tuple(id(v) for v in node.inputs), node.attrs, _body_text(node.region))
        if node.op.name != "const":
            return (node.op.name, tuple(id(v) for v in node.inputs), node.attrs)
        data = graph.constants.get(node.attrs["name"])
        if data is None or data.nbytes > self.max_const_bytes:
            return ("const", node.attrs["name"])  # only the same table entry is the same constant
        digest = hashlib.sha256(data.tobytes()).hexdigest()
        return ("const-data", data.dtype.str, data.shape, digest, node.results[0].type)


def _body_text(body: Graph) -> str:
    """A region body printed without value names and locations, which (as for any other node)
    do not decide what it computes."""
    return print_graph(body.copy().forget_names())
