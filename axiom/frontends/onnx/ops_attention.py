"""ONNX converters for attention: Attention (opset 23+), RotaryEmbedding, and related transformer ops, each
lowered to IR matmul/softmax graphs."""

from __future__ import annotations
