"""PassContext: what passes share while a pipeline runs: counters, assumptions, remarks."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from axiom.compiler.memory import MemoryPlan


@dataclass(frozen=True)
class Remark:
    """A note a pass leaves for the user (why it did or did not transform something)."""

    pass_name: str
    message: str


@dataclass
class PassContext:
    """Shared state of one pipeline run.

    ``stats`` counts what passes did (``"cse.eliminated"``, ``"pattern.add-zero"``);
    ``assumptions`` are facts a pass relied on about symbolic dims (``"N >= 1"``), shown to
    the user; ``remarks`` explain decisions. ``current_pass`` is set by the pass manager.
    ``memory_plan`` is set by the memory-plan pass, for the backends and the Executable.
    """

    stats: Counter[str] = field(default_factory=Counter)
    assumptions: list[str] = field(default_factory=list)
    remarks: list[Remark] = field(default_factory=list)
    current_pass: str = ""
    memory_plan: MemoryPlan | None = None

    def count(self, key: str, n: int = 1) -> None:
        self.stats[key] += n

    def assume(self, fact: str) -> None:
        if fact not in self.assumptions:
            self.assumptions.append(fact)

    def remark(self, message: str) -> None:
        self.remarks.append(Remark(self.current_pass, message))
