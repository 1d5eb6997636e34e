"""The reference interpreter: runs a graph node by node with the ops' numpy references.

It is the oracle every other backend is tested against, and constant folding uses it too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import sympy

from axiom.ir.dims import evaluate_dim
from axiom.ir.errors import AxiomError
from axiom.ir.graph import Graph, Node, Value
from axiom.ir.opdef import Attrs


class EvaluationError(AxiomError):
    """An op's reference failed on concrete values (e.g. an index out of range)."""


def evaluate_node(graph: Graph, node: Node, args: Sequence[np.ndarray],
                  bindings: Mapping[str, int] | None = None) -> list[np.ndarray]:
    """The results of one node on concrete inputs, cast to the result types' dtypes.

    ``bindings`` gives the symbols' values, so that symbolic ``dims`` attributes (a reshape to
    ``[N, M, 4]``) become concrete before the op's reference sees them.
    """
    if node.op.name == "const":
        name = node.attrs["name"]
        if name not in graph.constants:
            raise EvaluationError(f"constant '{name}' has no data (its IR text was printed with "
                                  "constants elided); load its weights before running")
        return [graph.constants[name]]
    if node.region is not None:  # a fused region: its body, on the same symbol bindings
        return run_graph(node.region, list(args), bindings)
    try:
        outs = node.op.evaluate(list(args), concrete_attrs(node, bindings or {}))
    except AxiomError:
        raise
    except Exception as exc:  # the reference raised: say which node and why
        where = f" at {node.loc}" if node.loc else ""
        raise EvaluationError(f"{node.op.name}{where} failed: {exc}") from exc
    return [np.asarray(o).astype(r.type.dtype.np_dtype, copy=False)
            for o, r in zip(outs, node.results, strict=True)]


def run_graph(graph: Graph, inputs: Sequence[np.ndarray],
              bindings: Mapping[str, int] | None = None) -> list[np.ndarray]:
    """Evaluate ``graph`` on concrete ``inputs`` (already checked) and return its outputs.

    Symbols are bound from the inputs' shapes where a dim is a bare symbol; ``bindings``
    adds the rest (the runtime's checks solve expression dims).
    """
    env: dict[int, np.ndarray] = {id(v): a for v, a in zip(graph.inputs, inputs, strict=True)}
    symbols = {**bind_from_inputs(graph, inputs), **(bindings or {})}
    remaining = _last_uses(graph)
    for node in graph.nodes:
        outs = evaluate_node(graph, node, [env[id(v)] for v in node.inputs], symbols)
        for r, o in zip(node.results, outs, strict=True):
            _check_shape(node, r, o, symbols)
            env[id(r)] = o
        for v in node.inputs:  # free what no later node reads
            remaining[id(v)] -= 1
            if remaining[id(v)] == 0:
                env.pop(id(v), None)
    return [env[id(v)] for v in graph.outputs]


def _check_shape(node: Node, result: Value, array: np.ndarray, symbols: Mapping[str, int]) -> None:
    """A reference whose result disagrees with the node's type is caught at that node."""
    want = result.type.shape
    ok = len(want) == array.ndim
    for d, n in zip(want, array.shape, strict=False):
        if not ok:
            break
        try:
            ok = evaluate_dim(d, dict(symbols)) == n
        except KeyError:  # a symbol no input binds: nothing to compare against
            continue
    if not ok:
        where = f" at {node.loc}" if node.loc else ""
        raise EvaluationError(f"{node.op.name}{where} produced shape {list(array.shape)}, but its type is "
                              f"{result.type} (with {dict(symbols)}): the op's reference and type rule "
                              "disagree for these inputs")


def bind_from_inputs(graph: Graph, inputs: Sequence[np.ndarray]) -> dict[str, int]:
    out: dict[str, int] = {}
    for v, a in zip(graph.inputs, inputs, strict=True):
        for d, n in zip(v.type.shape, np.shape(a), strict=False):
            if isinstance(d, sympy.Symbol):
                out[d.name] = int(n)
    return out


def concrete_attrs(node: Node, bindings: Mapping[str, int]) -> Attrs:
    """The node's attributes with every symbolic dim in a ``dims`` attribute evaluated."""
    changes = {}
    for name, spec in node.op.attrs.items():
        value = node.attrs.get(name)
        if spec.kind != "dims" or value is None or all(isinstance(d, int) for d in value):
            continue
        try:
            changes[name] = tuple(evaluate_dim(d, dict(bindings)) for d in value)
        except KeyError as exc:
            raise EvaluationError(f"{node.op.name}: attribute '{name}' uses symbol {exc.args[0]}, "
                                  "which no graph input binds") from None
    return node.attrs.replace(**changes) if changes else node.attrs


def _last_uses(graph: Graph) -> dict[int, int]:
    counts: dict[int, int] = {}
    for n in graph.nodes:
        for v in n.inputs:
            counts[id(v)] = counts.get(id(v), 0) + 1
    for v in graph.outputs:
        counts[id(v)] = counts.get(id(v), 0) + 1  # outputs are never freed
    return counts

