"""The compiler: pipelines of passes over the IR (shape inference, proofs, optimisation)."""

from axiom.compiler.context import PassContext, Remark
from axiom.compiler.levels import PIPELINES, pipeline_for
from axiom.compiler.manager import Instrumentation, PassFailure, PassManager, PassRecord, timing_table
from axiom.compiler.passbase import Pass, PipelineError, parse_pipeline, register_pass, registered_passes
from axiom.compiler.pipeline import PipelineResult, run_pipeline
from axiom.compiler.properties import PropertyResult, check_properties
from axiom.compiler.rewriter import Pattern, Rewriter, apply_patterns, pattern

__all__ = [
    "PIPELINES", "Instrumentation", "Pass", "PassContext", "PassFailure", "PassManager", "PassRecord",
    "Pattern", "PipelineError", "PipelineResult", "PropertyResult", "Remark", "Rewriter", "apply_patterns",
    "check_properties", "parse_pipeline", "pattern", "pipeline_for", "register_pass", "registered_passes",
    "run_pipeline", "timing_table",
]
