"""Frontends: the ways a model enters Axiom (the native DSL, ONNX, PyTorch), each producing an ir.Graph."""
