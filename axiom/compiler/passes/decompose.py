"""decompose: replace ops by their decompositions (``OpDef.decompose``) into simpler ops.

A backend that lacks an op asks for it: ``decompose{ops=softmax+layer_norm}`` rewrites just
those two; the default (``ops`` empty) rewrites every op that has a decomposition. The
rewrites run through the pattern driver to a fixed point, so what a decomposition produces is
decomposed in turn when it is selected too (``layer_norm`` makes ``mean`` and ``rsqrt``, which
decompose into ``sum``/``div`` and ``reciprocal``/``sqrt`` under the default). Like every
pattern-driven pass, it also erases the nodes that it (or an earlier pass) left unused.

A decomposition keeps every result type exactly (the driver checks this). It is the same
function in exact arithmetic, not always bit for bit: ``mean`` becomes ``sum / count``,
``batch_norm`` multiplies by ``rsqrt(var + eps)`` instead of dividing by a square root.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from axiom.compiler.context import PassContext
from axiom.compiler.passbase import Pass, PipelineError, register_pass
from axiom.compiler.rewriter import Pattern, Rewriter, apply_patterns
from axiom.ir.graph import Graph, Node, Value
from axiom.ir.opdef import OpDef, all_ops, get_op, has_op


def decomposable_ops() -> list[str]:
    """The names of every registered op that has a decomposition, sorted."""
    return [op.name for op in all_ops() if op.decompose is not None]


@register_pass
@dataclass(frozen=True)
class Decompose(Pass):
    """Rewrite the ops named in ``ops`` (``"softmax+layer_norm"``; empty: every decomposable op)
    into their decompositions until none of them is left."""

    name = "decompose"
    ops: str = ""

    def __post_init__(self) -> None:
        # A bad op name fails when the pipeline is made, not halfway through it; the names are
        # kept joined by '+', so that str(pass) is a pipeline item that parses back.
        self.selected()
        object.__setattr__(self, "ops", "+".join(_names(self.ops)))

    def selected(self) -> list[OpDef]:
        """The ops this pass decomposes; PipelineError names an unknown or undecomposable one."""
        names = _names(self.ops)
        if not names:
            return [get_op(n) for n in decomposable_ops()]
        out = []
        for n in names:
            if not has_op(n):
                close = difflib.get_close_matches(n, decomposable_ops(), n=1)
                guess = f"did you mean {close[0]!r}? " if close else ""
                raise PipelineError(f"decompose: unknown op {n!r} in ops={self.ops!r}; {guess}"
                                    f"ops with a decomposition: {', '.join(decomposable_ops())}")
            op = get_op(n)
            if op.decompose is None:
                raise PipelineError(f"decompose: op {n!r} has no decomposition; "
                                    f"ops with one: {', '.join(decomposable_ops())}")
            out.append(op)
        return out

    def run(self, graph: Graph, ctx: PassContext) -> bool:
        patterns = [_pattern(op) for op in self.selected()]
        changed = _run_in_bodies(graph, patterns, ctx)  # fused bodies too: a backend lowers what they hold
        return apply_patterns(graph, patterns, ctx) or changed


def _run_in_bodies(graph: Graph, patterns: list[Pattern], ctx: PassContext) -> bool:
    """Decompose inside every region body of ``graph`` (innermost first). A decomposition may
    make constants (``mean`` divides by a count); a body takes constants as operands, so they
    move out to ``graph`` and the region op is rebuilt with them as extra operands."""
    changed = False
    for node in list(graph.nodes):
        if node.region is None:
            continue
        changed |= _run_in_bodies(node.region, patterns, ctx)
        changed |= apply_patterns(node.region, patterns, ctx)
        _hoist_constants(graph, node)
    return changed


def _hoist_constants(graph: Graph, node: Node) -> None:
    """Move the const nodes of ``node``'s body into ``graph``, before ``node``, as new operands."""
    body = node.region
    assert body is not None
    consts = [n for n in body.nodes if n.op.name == "const"]
    if not consts:
        return
    operands = list(node.inputs)
    taken = {v.name for v in body.inputs}
    for c in consts:
        name = c.attrs["name"]
        operands.append(graph.add_constant(body.constants[name], name, c.loc, before=node))
        arg = f"c{len(taken)}"
        while arg in taken:
            arg += "_"
        taken.add(arg)
        body.replace_all_uses(c.results[0], body.add_input(arg, c.results[0].type))
        body.erase(c)
    body.constants.clear()
    new = Node(node.op, operands, node.attrs, node.loc, result_names=[r.name for r in node.results],
               region=body)
    for old, value in zip(node.results, new.results, strict=True):
        graph.replace_all_uses(old, value)
    node.drop_inputs()
    graph.nodes[graph.nodes.index(node)] = new


def _names(ops: str) -> list[str]:
    return [n for n in re.split(r"[+,;\s]+", ops.strip()) if n]


def _pattern(op: OpDef) -> Pattern:
    """A pattern at ``op`` whose replacement is the op's decomposition, built before the node."""

    def rewrite(node: Node, rw: Rewriter) -> list[Value]:
        assert op.decompose is not None  # selected() keeps only decomposable ops
        return list(op.decompose(rw.b, node.inputs, node.attrs))

    return Pattern(f"decompose.{op.name}", (op.name,), rewrite)
