"""The status of the properties a model declares (ensure / prove).

No proof pass exists yet, so every declaration is reported "unchecked": never "proved".
"""

from __future__ import annotations

from dataclasses import dataclass

from axiom.ir.graph import Graph, PropertyDecl
from axiom.ir.printer import name_values


@dataclass(frozen=True)
class PropertyResult:
    """One declared property and what is known of it: proved, disproved, unknown or unchecked."""

    decl: PropertyDecl
    status: str
    detail: str = ""
    args_text: str = ""  # the arguments as the IR text names them, e.g. "%19"

    def __str__(self) -> str:
        args = self.args_text or ", ".join(f"%{v.name or '?'}" for v in self.decl.args)
        params = ", ".join(f"{k}={v}" for k, v in self.decl.params.items())
        where = f" at {self.decl.loc}" if self.decl.loc else ""
        inner = f"{args}, {params}" if params else args
        text = f"{self.decl.kind} {self.decl.name}({inner}){where}: {self.status}"
        return f"{text} ({self.detail})" if self.detail else text


def check_properties(graph: Graph) -> list[PropertyResult]:
    """Report every declared property; none can be checked before the proof passes exist."""
    names = name_values(graph)
    return [PropertyResult(p, "unchecked", "no proof pass is in this build's pipeline",
                           ", ".join(f"%{names[id(v)]}" for v in p.args))
            for p in graph.properties]
