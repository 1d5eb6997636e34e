"""The numpy reference backend: the oracle for every other backend."""

from axiom.backends.numpy.interpreter import EvaluationError, evaluate_node, run_graph

__all__ = ["EvaluationError", "evaluate_node", "run_graph"]
