"""The compile pipeline over the IR: verification now; the pass manager plugs in here."""

from __future__ import annotations

from dataclasses import dataclass, field

from axiom.compiler.properties import PropertyResult, check_properties
from axiom.ir.graph import Graph


@dataclass
class PipelineResult:
    """The optimised graph, the passes that ran on it, and the declared properties' status."""

    graph: Graph
    passes: list[str] = field(default_factory=list)
    properties: list[PropertyResult] = field(default_factory=list)


def run_pipeline(graph: Graph, verify: bool = True) -> PipelineResult:
    """Run the pipeline on a copy of ``graph`` (the caller's graph is never changed)."""
    from axiom.ir.verifier import verify as verify_graph

    g = graph.copy()
    passes: list[str] = []
    if verify:
        verify_graph(g)
        passes.append("verify")
    return PipelineResult(g, passes, check_properties(g))
