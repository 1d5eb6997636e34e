"""The numpy reference backend: the oracle for every other backend."""

from __future__ import annotations

import numpy as np

from axiom.backends.numpy.interpreter import EvaluationError, evaluate_node, run_graph
from axiom.ir.graph import Graph

__all__ = ["DECOMPOSE", "EvaluationError", "available", "evaluate_node", "lower", "run_graph",
           "unavailable_reason"]


# Ops this backend cannot run and wants decomposed by the level pipelines: none, it runs every
# op's reference (a native backend lists the ops it has no kernel for).
DECOMPOSE: tuple[str, ...] = ()


def available() -> bool:
    return True


def unavailable_reason() -> str:
    return ""


def lower(graph: Graph):  # noqa: ANN201 - returns the runtime's RunFn
    """A run function that interprets ``graph`` with the ops' numpy references."""
    missing = graph.missing_constants()
    if missing:
        from axiom.ir.errors import AxiomError

        raise AxiomError(f"graph @{graph.name} has constants without data: {', '.join(missing)}; "
                         "parse it with weights=... or load its parameters")

    def run(arrays: list[np.ndarray], bindings: dict[str, int]) -> list[np.ndarray]:
        return run_graph(graph, arrays, bindings)

    return run
