"""The compiler: pipelines of passes over the IR (shape inference, proofs, optimisation)."""

from axiom.compiler.pipeline import PipelineResult, run_pipeline
from axiom.compiler.properties import PropertyResult, check_properties

__all__ = ["PipelineResult", "PropertyResult", "check_properties", "run_pipeline"]
