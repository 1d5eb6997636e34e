"""Where the time goes: run a graph on the llvm backend with every kernel timed, and tabulate the
kernels by total time (for finding the slow kernel of a model, not for benchmarks)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from axiom.backends.llvm.lowering import lower
from axiom.ir.graph import Graph
from axiom.runtime.executable import Executable


@dataclass
class KernelTime:
    """One kernel: its op (``fused`` regions named by their kind), result types, location and mean time."""

    op: str
    result: str
    loc: str
    ms: float


def profile(graph: Graph, inputs: Sequence[Any], repeats: int = 10,
            threads: int | None = None) -> list[KernelTime]:
    """Run ``graph`` (an optimised graph, such as ``axiom.compile(...).ir``) ``repeats`` times after one
    warm-up call and return every kernel's mean wall time, slowest first."""
    run = lower(graph, threads, profile=True)
    exe = Executable(ir=graph, backend="llvm", run=run)
    exe(*inputs)
    run.kernel_ns = [0] * len(run.kernel_ns)
    for _ in range(repeats):
        exe(*inputs)
    rows = []
    for node, ns in zip(run.rendered.kernels, run.kernel_ns, strict=True):
        kind = node.attrs.get("kind") if node.region is not None else None
        op = f"{node.op.name}[{kind}]" if kind else node.op.name
        rows.append(KernelTime(op, ", ".join(str(r.type) for r in node.results), str(node.loc or ""),
                               ns / repeats / 1e6))
    return sorted(rows, key=lambda r: -r.ms)


def format_profile(rows: Sequence[KernelTime], top: int = 20) -> str:
    """The ``top`` slowest kernels as a table, with each one's share of the total."""
    total = sum(r.ms for r in rows) or 1.0
    lines = [f"{'ms':>9} {'share':>6}  op / result / location", f"{total:9.3f} {100:5.1f}%  (all kernels)"]
    for r in rows[:top]:
        lines.append(f"{r.ms:9.3f} {100 * r.ms / total:5.1f}%  {r.op}  {r.result}  {r.loc}")
    return "\n".join(lines)
