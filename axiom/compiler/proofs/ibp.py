"""Interval bound propagation: bounds of every value of a graph over a box of inputs, one op's
``interval`` facet at a time, in graph order.

A rule is ``rule(node, ins, attrs) -> list[Interval]``: ``ins`` are the bounds of the node's inputs,
``attrs`` its attributes with symbolic dims made concrete. A node whose inputs are all exact is
evaluated with the op's reference instead (shapes, constant subgraphs): fold-constants computes such
values with the same reference before any backend runs them. Nodes that need a rule their op lacks
are listed all at once, with their locations, at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from axiom.backends.numpy.interpreter import bind_from_inputs, concrete_attrs
from axiom.compiler.proofs.interval import Interval
from axiom.ir.dims import evaluate_dim
from axiom.ir.errors import AxiomError
from axiom.ir.graph import Graph, Node
from axiom.ir.opdef import Attrs, get_facet, register_facet

Rule = Callable[[Node, Sequence[Interval], Attrs], list[Interval]]
FACET = "interval"


class BoundsError(AxiomError):
    """The graph cannot be bounded: an op lacks an interval rule, or the box does not fit the inputs."""


def interval_rule(*ops: str) -> Callable[[Rule], Rule]:
    """Register the decorated function as the interval facet of ``ops``."""
    def deco(fn: Rule) -> Rule:
        for op in ops:
            register_facet(FACET, op, fn)
        return fn
    return deco


def _load_rules() -> None:
    import axiom.compiler.proofs.rules  # noqa: F401  (registers every rule on import)


def has_rule(op: str) -> bool:
    """Whether ``op`` has an interval rule."""
    _load_rules()
    return get_facet(FACET, op) is not None


def propagate(graph: Graph, box: Sequence[Interval],
              bindings: Mapping[str, int] | None = None) -> dict[int, Interval]:
    """Bounds of every value of ``graph`` (keyed by ``id(value)``) when its inputs range over ``box``
    (one Interval per graph input, of that input's concrete shape)."""
    _load_rules()
    if len(box) != len(graph.inputs):
        raise BoundsError(f"@{graph.name} takes {len(graph.inputs)} input(s); the box bounds {len(box)}")
    for v, iv in zip(graph.inputs, box, strict=True):
        if len(iv.shape) != v.type.rank:
            raise BoundsError(f"the box of input %{v.name or '?'} has shape {iv.shape}; "
                              f"the input is {v.type}")
    missing: list[Node] = []
    env = _run(graph, box, {**bind_from_inputs(graph, [iv.lo for iv in box]), **(bindings or {})}, missing)
    if missing:
        lines = [f"  {n.op.name}{' at ' + str(n.loc) if n.loc else ''}" for n in missing]
        raise BoundsError(f"no interval rule for {len(missing)} node(s) of @{graph.name}:\n"
                          + "\n".join(lines))
    return env


def _run(graph: Graph, box: Sequence[Interval], symbols: Mapping[str, int],
         missing: list[Node]) -> dict[int, Interval]:
    env: dict[int, Interval] = {id(v): iv for v, iv in zip(graph.inputs, box, strict=True)}
    for node in graph.nodes:
        outs = _node_bounds(graph, node, [env[id(v)] for v in node.inputs], symbols, missing)
        for r, out in zip(node.results, outs, strict=True):
            env[id(r)] = out
    return env


def output_bounds(graph: Graph, box: Sequence[Interval]) -> list[Interval]:
    """Bounds of the graph's outputs over ``box``."""
    env = propagate(graph, box)
    return [env[id(v)] for v in graph.outputs]


def _node_bounds(graph: Graph, node: Node, ins: list[Interval], symbols: Mapping[str, int],
                 missing: list[Node]) -> list[Interval]:
    if node.op.name == "const":
        return [Interval.point(graph.constants[node.attrs["name"]])]
    if node.region is not None:
        env = _run(node.region, ins, symbols, missing)
        return [env[id(v)] for v in node.region.outputs]
    attrs = concrete_attrs(node, symbols)
    if all(iv.exact for iv in ins):
        args = [iv.lo.astype(v.type.dtype.np_dtype) for iv, v in zip(ins, node.inputs, strict=True)]
        outs = node.op.evaluate(args, attrs)
        return [Interval.point(np.asarray(o).astype(r.type.dtype.np_dtype))
                for o, r in zip(outs, node.results, strict=True)]
    rule = get_facet(FACET, node.op)
    if rule is None:  # carry on with no knowledge, to list every such node at once
        missing.append(node)
        shapes = [tuple(evaluate_dim(d, dict(symbols)) for d in r.type.shape) for r in node.results]
        return [Interval.of(np.full(s, -np.inf), np.full(s, np.inf), True) for s in shapes]
    outs = rule(node, ins, attrs)  # type: ignore[operator]
    for r, o in zip(node.results, outs, strict=True):
        if o.lo.ndim != r.type.rank:
            raise BoundsError(f"interval rule of {node.op.name} gave shape {o.lo.shape} for {r.type}")
    return outs
