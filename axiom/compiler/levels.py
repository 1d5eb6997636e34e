"""The default pipeline of each optimisation level (documented in docs/passes.md)."""

from __future__ import annotations

from axiom.compiler.passbase import PipelineError

# O0 runs nothing (the IR as the frontend made it); each level adds to the one before.
PIPELINES: dict[int, str] = {
    0: "",
    1: "canonicalize,dce",
    2: "canonicalize,simplify,fold-constants,cse,dce",
    3: "canonicalize,simplify,fold-batchnorm,fold-constants,cse,dce",
}


def pipeline_for(level: int) -> str:
    """The pipeline text of optimisation level ``level`` (0..3)."""
    if level not in PIPELINES:
        raise PipelineError(f"optimisation level must be 0, 1, 2 or 3, got {level!r}")
    return PIPELINES[level]
