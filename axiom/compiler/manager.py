"""PassManager: runs a pipeline of passes with verification and IR instrumentation.

The switches mirror MLIR's: print the IR before/after named passes, after every pass, after
changes only, into a dump folder (one numbered file a pass), and time every pass.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from axiom.compiler.context import PassContext
from axiom.compiler.passbase import Pass, parse_pipeline
from axiom.ir.errors import AxiomError, VerifyError
from axiom.ir.graph import Graph, Node
from axiom.ir.printer import print_graph, render


class PassFailure(AxiomError):
    """A pass raised, or left the IR invalid: names the pass, the passes before it, the IR."""


@dataclass(frozen=True)
class PassRecord:
    """One pass as it ran: its pipeline text, whether it changed the graph, its wall time."""

    name: str
    changed: bool
    seconds: float
    nodes_after: int


@dataclass
class Instrumentation:
    """What to show while a pipeline runs (all off by default)."""

    print_ir_before: tuple[str, ...] = ()
    print_ir_after: tuple[str, ...] = ()
    print_ir_after_all: bool = False
    print_ir_after_change: bool = False
    ir_dump_dir: str | Path | None = None
    pass_timing: bool = False
    out: TextIO | None = None  # default: sys.stderr, looked up when used

    @property
    def stream(self) -> TextIO:
        return self.out if self.out is not None else sys.stderr


@dataclass
class PassManager:
    """Runs ``pipeline`` (a string like ``"cse,dce"`` or a list of passes) over a graph in place."""

    pipeline: str | Sequence[Pass | str] = ()
    verify_each: bool = True
    instrument: Instrumentation = field(default_factory=Instrumentation)

    def __post_init__(self) -> None:
        self.passes: list[Pass] = parse_pipeline(self.pipeline)

    def run(self, graph: Graph, ctx: PassContext | None = None) -> list[PassRecord]:
        ctx = ctx if ctx is not None else PassContext()
        records: list[PassRecord] = []
        dump = _DumpDir(self.instrument.ir_dump_dir, graph)
        for i, p in enumerate(self.passes, start=1):
            name = str(p)
            if p.name in self.instrument.print_ir_before:
                self._show(f"IR before {name}", graph)
            ctx.current_pass = name
            changed, seconds = self._run_one(p, graph, ctx, records)
            records.append(PassRecord(name, changed, seconds, len(graph.nodes)))
            dump.write(i, p.name, graph)
            if self._wants_after(p, changed):
                self._show(f"IR after {name}{'' if changed else ' (no change)'}", graph)
        ctx.current_pass = ""
        if self.instrument.pass_timing:
            self.instrument.stream.write(timing_table(records) + "\n")
        return records

    def _run_one(self, p: Pass, graph: Graph, ctx: PassContext,
                 before: list[PassRecord]) -> tuple[bool, float]:
        """Run one pass (timed, without the verification after it) and verify its result."""
        start = time.perf_counter()
        try:
            changed = bool(p.run(graph, ctx))
        except Exception as exc:  # any failure inside a pass is reported with the pass's name
            raise PassFailure(_failure(p, before, f"raised {type(exc).__name__}: {exc}", graph,
                                       getattr(exc, "node", None))) from exc
        seconds = time.perf_counter() - start
        if self.verify_each:
            from axiom.ir.verifier import verify

            try:
                verify(graph)
            except VerifyError as exc:
                raise PassFailure(_failure(p, before, f"left invalid IR:\n{exc}", None, None)) from exc
        return changed, seconds

    def _wants_after(self, p: Pass, changed: bool) -> bool:
        ins = self.instrument
        return (ins.print_ir_after_all or p.name in ins.print_ir_after
                or (ins.print_ir_after_change and changed))

    def _show(self, title: str, graph: Graph) -> None:
        self.instrument.stream.write(f"// ----- {title} -----\n{print_graph(graph)}\n\n")


class _DumpDir:
    """Writes ``00-input.axir`` and then one ``NN-<pass>.axir`` per pass into a folder."""

    def __init__(self, folder: str | Path | None, graph: Graph) -> None:
        self.folder = Path(folder) if folder is not None else None
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            for old in self.folder.glob("[0-9][0-9]-*.axir"):
                old.unlink()  # a previous run's files would mix with this run's
            self.write(0, "input", graph)

    def write(self, index: int, name: str, graph: Graph) -> None:
        if self.folder is not None:
            (self.folder / f"{index:02d}-{name}.axir").write_text(print_graph(graph) + "\n")


def timing_table(records: Sequence[PassRecord]) -> str:
    """A table of the passes that ran: wall time, share of the total, changed, nodes after."""
    total = sum(r.seconds for r in records) or 1e-12
    width = max([len("pass"), *(len(r.name) for r in records)])
    lines = [f"{'pass':<{width}}  {'ms':>9}  {'%':>5}  changed  nodes",
             f"{'-' * width}  {'-' * 9}  {'-' * 5}  -------  -----"]
    for r in records:
        lines.append(f"{r.name:<{width}}  {r.seconds * 1e3:>9.3f}  {100 * r.seconds / total:>5.1f}  "
                     f"{'yes' if r.changed else 'no':<7}  {r.nodes_after:>5}")
    lines.append(f"{'total':<{width}}  {total * 1e3:>9.3f}  100.0")
    return "\n".join(lines)


def _failure(p: Pass, before: list[PassRecord], what: str, graph: Graph | None, node: Node | None) -> str:
    ran = ", ".join(r.name for r in before) or "none"
    text = f"pass '{p}' {what}\n  passes run before it: {ran}"
    if graph is not None and isinstance(node, Node):
        text += "\n" + _around(graph, node)
    return text


def _around(graph: Graph, node: Node, context: int = 2) -> str:
    """The printed IR lines around ``node``, the node's own line marked with '>'."""
    shown = render(graph, inline_limit=0)
    at = shown.node_lines.get(id(node))
    if at is None:
        return "  (the failing node is not in the graph)"
    lo, hi = max(0, at - context), min(len(shown.lines), at + context + 1)
    return "\n".join(f"  {'>' if i == at else ' '} {shown.lines[i]}" for i in range(lo, hi))
