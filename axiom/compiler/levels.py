"""The default pipeline of each optimisation level (documented in docs/passes.md)."""

from __future__ import annotations

from collections.abc import Sequence

from axiom.compiler.passbase import PipelineError

# O0 runs nothing (the IR as the frontend made it); each level adds to the one before.
# O2 runs every optimisation: types re-derived, cleaned up, batch norms folded, a layout per conv
# chain, constants folded, duplicates and dead code removed, then fusion and the memory plan
# (last: they plan what the backend will run). O3 adds a second cleanup round after the layout
# pass, for the transposes and constants that a layout change leaves.
_CLEAN = "canonicalize,simplify,fold-constants,cse,dce"
PIPELINES: dict[int, str] = {
    0: "",
    1: "canonicalize,dce",
    2: "shape-infer,canonicalize,simplify,fold-batchnorm,layout,fold-constants,cse,dce,fuse,memory-plan",
    3: f"shape-infer,canonicalize,simplify,fold-batchnorm,layout,{_CLEAN},{_CLEAN},fuse,memory-plan",
}


def pipeline_for(level: int, decompose: Sequence[str] = ()) -> str:
    """The pipeline text of optimisation level ``level`` (0..3).

    ``decompose`` names ops the target backend cannot run: from level 1 up, a
    ``decompose{ops=...}`` pass rewrites them into simpler ops before fusion sees them.
    """
    if level not in PIPELINES:
        raise PipelineError(f"optimisation level must be 0, 1, 2 or 3, got {level!r}")
    items = [p for p in PIPELINES[level].split(",") if p]
    if decompose and level >= 1:
        at = items.index("fuse") if "fuse" in items else len(items)
        items.insert(at, "decompose{ops=" + "+".join(decompose) + "}")
    return ",".join(items)
