"""fold-constants: evaluate nodes whose operands are all constants, with the ops' references."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from axiom.compiler.context import PassContext
from axiom.compiler.passbase import Pass, register_pass
from axiom.ir.graph import Graph, Node


@register_pass
@dataclass(frozen=True)
class FoldConstants(Pass):
    """Replace a node of constant operands by a const holding its value (the numpy reference,
    as the interpreter computes it). Results larger than ``max_elements`` are left alone."""

    name = "fold-constants"
    max_elements: int = 1 << 20

    def run(self, graph: Graph, ctx: PassContext) -> bool:
        folded = 0
        for node in list(graph.nodes):
            values = self._operands(graph, node)
            if values is None:
                continue
            outs = node.op.evaluate(values, node.attrs)
            for r, o in zip(node.results, outs, strict=True):
                data = np.asarray(o).astype(r.type.dtype.np_dtype, copy=False)
                if data.shape != tuple(r.type.shape):
                    raise AssertionError(f"{node.op.name}: reference gave {data.shape} for {r.type}")
                name = f"{node.op.name}_folded"
                graph.replace_all_uses(r, graph.add_constant(data, name, node.loc, before=node))
            graph.erase(node)
            folded += 1
        ctx.count("fold-constants.folded", folded)
        return folded > 0

    def _operands(self, graph: Graph, node: Node) -> list[np.ndarray] | None:
        """The operands' data when every one is a constant and every result is small and static."""
        if node.op.name == "const" or not node.inputs or node.region is not None:
            return None
        for r in node.results:
            if not r.type.is_static or int(np.prod(r.type.shape)) > self.max_elements:
                return None
        values = [graph.constant_of(v) for v in node.inputs]
        if any(v is None for v in values):
            return None
        return values  # type: ignore[return-value]
