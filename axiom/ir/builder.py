"""Builder: appends (or inserts) typed nodes into a Graph, one call per op."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from axiom.ir.graph import Graph, Loc, Node, Value
from axiom.ir.opdef import OpDef


class Builder:
    """Creates nodes at an insertion point: the end of the graph, or before ``before``.

    ``b.op("add", x, y)`` returns the single result (or a tuple for multi-result ops);
    the type is inferred, and a shape error names the op, the location and the operand types.
    """

    def __init__(self, graph: Graph, before: Node | None = None, loc: Loc | None = None) -> None:
        self.graph = graph
        self.before = before
        self.loc = loc

    def node(self, op: OpDef | str, inputs: Sequence[Value], attrs: dict[str, Any] | None = None,
             loc: Loc | None = None) -> Node:
        n = Node(op, inputs, attrs or {}, loc or self.loc)
        if self.before is None:
            self.graph.append(n)
        else:
            self.graph.insert_before(self.before, n)
        return n

    def op(self, op: OpDef | str, *inputs: Value, loc: Loc | None = None, **attrs: Any) -> Any:
        n = self.node(op, inputs, attrs, loc)
        return n.results[0] if len(n.results) == 1 else tuple(n.results)

    def constant(self, array: Any, name: str | None = None, dtype: Any = None) -> Value:
        arr = np.asarray(array, dtype=getattr(dtype, "np_dtype", dtype))
        return self.graph.add_constant(arr, name, self.loc, before=self.before)

    def __getattr__(self, name: str) -> Any:
        """``b.relu(x)`` is ``b.op("relu", x)`` for any registered op."""
        from axiom.ir.opdef import has_op

        if name.startswith("_") or not has_op(name):
            raise AttributeError(name)
        return lambda *inputs, **attrs: self.op(name, *inputs, **attrs)
