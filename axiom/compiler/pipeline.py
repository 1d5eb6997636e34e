"""The compile pipeline over the IR: the level's (or the caller's) passes under the manager."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from axiom.compiler.context import PassContext
from axiom.compiler.levels import pipeline_for
from axiom.compiler.manager import Instrumentation, PassManager, PassRecord
from axiom.compiler.passbase import Pass
from axiom.compiler.properties import PropertyResult, check_properties
from axiom.ir.graph import Graph


@dataclass
class PipelineResult:
    """The optimised graph, the passes that ran on it, the context, and the properties' status."""

    graph: Graph
    records: list[PassRecord] = field(default_factory=list)
    context: PassContext = field(default_factory=PassContext)
    properties: list[PropertyResult] = field(default_factory=list)

    @property
    def passes(self) -> list[str]:
        return [r.name for r in self.records]


def run_pipeline(graph: Graph, passes: str | Sequence[Pass | str] | None = None, opt_level: int = 2,
                 verify: bool = True, instrument: Instrumentation | None = None) -> PipelineResult:
    """Verify a copy of ``graph`` (the caller's graph is never changed), then run ``passes``
    (default: the pipeline of ``opt_level``), verifying after each pass when ``verify``."""
    from axiom.ir.verifier import verify as verify_graph

    g = graph.copy()
    if verify:
        verify_graph(g)
    spec = pipeline_for(opt_level) if passes is None else passes
    manager = PassManager(spec, verify_each=verify, instrument=instrument or Instrumentation())
    ctx = PassContext()
    records = manager.run(g, ctx)
    return PipelineResult(g, records, ctx, check_properties(g))
