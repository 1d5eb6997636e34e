"""Declarative rewrite patterns indexed by op, and the one worklist driver that applies them.

A pattern names the op(s) it matches at and a callback ``(node, rewriter) -> replacement``:
the values that replace the node's results (a Value, a list of Values), or None for "no match".
The callback builds new nodes with ``rw.b`` (a Builder inserting before the matched node).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from axiom.ir.builder import Builder
from axiom.ir.errors import AxiomError
from axiom.ir.graph import Graph, Node, Value

if TYPE_CHECKING:
    from axiom.compiler.context import PassContext

Replacement = Value | Sequence[Value] | None


@dataclass(frozen=True)
class Pattern:
    """Rewrite nodes of the ops in ``ops`` with ``rewrite``; ``name`` labels its hit counter."""

    name: str
    ops: tuple[str, ...]
    rewrite: Callable[[Node, Rewriter], Replacement]


def pattern(name: str, *ops: str) -> Callable[[Callable[[Node, Rewriter], Replacement]], Pattern]:
    """Decorator: ``@pattern("mul-one", "mul") def f(node, rw): ...`` makes a Pattern."""

    def wrap(fn: Callable[[Node, Rewriter], Replacement]) -> Pattern:
        return Pattern(name, tuple(ops), fn)

    return wrap


class Rewriter:
    """What a pattern callback may use: the graph, a builder before the matched node, helpers."""

    def __init__(self, graph: Graph, node: Node) -> None:
        self.graph = graph
        self.node = node
        self.b = Builder(graph, before=node, loc=node.loc)

    def const(self, value: Value) -> np.ndarray | None:
        """The data of ``value`` when it is a constant with data, else None."""
        return self.graph.constant_of(value)

    def is_splat(self, value: Value, scalar: float) -> bool:
        """Is ``value`` a constant whose every element equals ``scalar``?"""
        data = self.const(value)
        return data is not None and data.size > 0 and bool(np.all(data == scalar))

    def producer(self, value: Value, op: str) -> Node | None:
        """The node producing ``value`` if it is an ``op`` node, else None."""
        p = value.producer
        return p if p is not None and p.op.name == op else None


def apply_patterns(graph: Graph, patterns: Iterable[Pattern], ctx: PassContext | None = None,
                   max_rewrites: int = 100_000) -> bool:
    """Apply ``patterns`` until none matches (a fixed point); dead nodes are erased as they appear.

    Returns whether anything changed. Each successful rewrite counts ``pattern.<name>`` in
    ``ctx.stats``.
    """
    index: dict[str, list[Pattern]] = {}
    for p in patterns:
        for op in p.ops:
            index.setdefault(op, []).append(p)
    work = deque(graph.nodes)
    queued = {id(n) for n in work}
    live = {id(n) for n in graph.nodes}
    changed, rewrites = False, 0
    while work:
        node = work.popleft()
        queued.discard(id(node))
        if id(node) not in live:
            continue
        if _is_dead(graph, node):
            _erase(graph, node, live, work, queued)
            changed = True
            continue
        for p in index.get(node.op.name, ()):
            count_before = len(graph.nodes)
            replacement = p.rewrite(node, Rewriter(graph, node))
            if replacement is None:
                if len(graph.nodes) != count_before:
                    raise AxiomError(f"pattern {p.name!r} built nodes but returned None; "
                                     "build only on a match")
                continue
            new_values = [replacement] if isinstance(replacement, Value) else list(replacement)
            _replace(graph, node, new_values, p)
            rewrites += 1
            if rewrites > max_rewrites:
                raise AxiomError(f"patterns did not reach a fixed point after {max_rewrites} rewrites; "
                                 f"last: {p.name!r} (two patterns may undo each other)")
            if ctx is not None:
                ctx.count(f"pattern.{p.name}")
            # The builder inserted the new nodes just before the root: queue them, then the
            # users of the new values.
            root_at = graph.nodes.index(node)
            for n in graph.nodes[root_at - (len(graph.nodes) - count_before):root_at]:
                live.add(id(n))
                _push(work, queued, n)
            for v in new_values:
                for user in v.users:
                    _push(work, queued, user)
            _erase(graph, node, live, work, queued)
            changed = True
            break
    return changed


def _replace(graph: Graph, node: Node, new_values: list[Value], p: Pattern) -> None:
    if len(new_values) != len(node.results):
        raise AxiomError(f"pattern {p.name!r} returned {len(new_values)} values for {node.op.name} "
                         f"with {len(node.results)} results")
    for old, new in zip(node.results, new_values, strict=True):
        if old.type != new.type:
            raise AxiomError(f"pattern {p.name!r} replaced {old.type} by {new.type} at {node.op.name}; "
                             "a rewrite must keep every type")
        graph.replace_all_uses(old, new)


def _is_dead(graph: Graph, node: Node) -> bool:
    if any(r.uses for r in node.results):
        return False
    kept = {id(v) for v in graph.outputs}
    kept |= {id(v) for p in graph.properties for v in p.args}
    return not any(id(r) in kept for r in node.results)


def _erase(graph: Graph, node: Node, live: set[int], work: deque[Node], queued: set[int]) -> None:
    """Erase ``node`` if nothing uses it; queue its operands' producers, which may now be dead."""
    if not _is_dead(graph, node):
        return
    producers = [v.producer for v in node.inputs if v.producer is not None]
    graph.erase(node)
    live.discard(id(node))
    for p in producers:
        _push(work, queued, p)


def _push(work: deque[Node], queued: set[int], node: Node) -> None:
    if id(node) not in queued:
        queued.add(id(node))
        work.append(node)
