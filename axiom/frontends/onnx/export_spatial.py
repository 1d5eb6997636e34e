"""ONNX export of resize, grid sampling and transposed convolution."""

from __future__ import annotations
