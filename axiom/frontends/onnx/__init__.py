"""ONNX frontend: ``from_onnx`` imports an ONNX model as an Axiom Graph (and ``to_onnx`` exports one)."""

from axiom.frontends.onnx.export import to_onnx
from axiom.frontends.onnx.importer import OnnxLoadError, OnnxUnsupportedError, from_onnx

__all__ = ["OnnxLoadError", "OnnxUnsupportedError", "from_onnx", "to_onnx"]
