"""Before/Expected IR-text testing of passes: run a pipeline on IR text and compare
structurally (value names and locations do not matter, order and types do)."""

from __future__ import annotations

from axiom.compiler.context import PassContext
from axiom.compiler.manager import PassManager
from axiom.ir.graph import Graph
from axiom.ir.parser import parse_graph
from axiom.ir.printer import print_graph


def run_on_text(text: str, pipeline: str, ctx: PassContext | None = None) -> Graph:
    """Parse ``text``, run ``pipeline`` on it (verifying after each pass), return the graph."""
    graph = parse_graph(text)
    PassManager(pipeline).run(graph, ctx)
    return graph


def canonical_text(graph: Graph) -> str:
    """The graph printed with positional value names and no locations: equal texts mean the
    same graph up to renaming. Constant table keys are kept (they are attributes)."""
    return print_graph(graph.copy().forget_names(), constants="inline")


def assert_pass(before: str, pipeline: str, expected: str) -> PassContext:
    """Assert that ``pipeline`` turns ``before`` into ``expected`` (both IR text); returns the
    context so a test can check the pass's counters too."""
    ctx = PassContext()
    got = canonical_text(run_on_text(before, pipeline, ctx))
    want = canonical_text(parse_graph(expected))
    if got != want:
        raise AssertionError(f"pipeline {pipeline!r} gave\n{got}\n\nexpected\n{want}")
    return ctx
