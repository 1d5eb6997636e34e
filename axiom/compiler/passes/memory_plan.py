"""memory-plan: plan the arena every node result lives in (liveness, buffer reuse, in-place ops)
and report the peak bytes before and after; the graph is not changed.

The plan (:class:`axiom.compiler.memory.MemoryPlan`) is left in ``ctx.memory_plan`` for the
backends and the Executable; run this pass last, since a later pass that changes the graph
makes the plan stale. Sizes are symbolic where dims are; the numbers recorded in ``ctx.stats``
are evaluated with ``bind`` (``"N=8;S=128"``; every symbol it does not name is 1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from axiom.compiler.context import PassContext
from axiom.compiler.memory import plan_memory
from axiom.compiler.passbase import Pass, PipelineError, register_pass
from axiom.ir.graph import Graph

_ITEM = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=(\d+)")


def parse_bindings(text: str) -> dict[str, int]:
    """``"N=8;S=128"`` (items separated by ``;``, ``,`` or spaces) as ``{"N": 8, "S": 128}``."""
    out: dict[str, int] = {}
    for item in filter(None, re.split(r"[,;\s]+", text.strip())):
        m = _ITEM.fullmatch(item)
        if m is None or int(m.group(2)) < 1:
            raise PipelineError(f"memory-plan: bind item {item!r} must be NAME=INT with INT >= 1, "
                                "as in 'N=8'")
        out[m.group(1)] = int(m.group(2))
    return out


@register_pass
@dataclass(frozen=True)
class MemoryPlanPass(Pass):
    """Plan buffers for every node result (``alignment`` bytes; ``in-place`` elementwise ops),
    store the plan in ``ctx.memory_plan`` and record its peaks at ``bind``."""

    name = "memory-plan"
    alignment: int = 64
    in_place: bool = True
    bind: str = ""

    def __post_init__(self) -> None:
        if self.alignment < 1:
            raise PipelineError(f"memory-plan: alignment must be >= 1, got {self.alignment}")
        object.__setattr__(self, "bind", ";".join(f"{k}={v}" for k, v in parse_bindings(self.bind).items()))

    def run(self, graph: Graph, ctx: PassContext) -> bool:
        plan = plan_memory(graph, self.alignment, self.in_place)
        bindings = parse_bindings(self.bind)
        unknown = sorted(set(bindings) - plan.symbols)
        if unknown:
            known = ", ".join(sorted(plan.symbols)) or "none"
            raise PipelineError(f"memory-plan: bind names {', '.join(unknown)}, which no planned size "
                                f"uses (its symbols: {known})")
        ctx.memory_plan = plan
        numbers = plan.evaluate(bindings)
        # Set, not added: a second run reports its own plan.
        ctx.stats["memory-plan.peak-before"] = numbers["peak_before"]
        ctx.stats["memory-plan.peak-after"] = numbers["peak_after"]
        ctx.stats["memory-plan.lower-bound"] = numbers["lower_bound"]
        ctx.stats["memory-plan.buffers"] = len(plan.buffers)
        ctx.stats["memory-plan.in-place"] = len(plan.in_place)
        where = f"at {self.bind}" if self.bind else "with every symbol = 1"
        others = sorted(plan.symbols - set(bindings))
        if self.bind and others:
            where += f" and {', '.join(others)} = 1"
        ctx.remark(f"peak {numbers['peak_after']} bytes in {len(plan.buffers)} buffer(s) (each value its "
                   f"own: {numbers['peak_before']}; live lower bound {numbers['lower_bound']}), "
                   f"{len(plan.in_place)} in place, {where}")
        return False
