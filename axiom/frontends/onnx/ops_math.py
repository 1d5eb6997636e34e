"""ONNX converters for math ops: Mod, BitShift, bitwise logic, rounding, IsInf/IsNaN, Sign, trigonometric
functions, CastLike and more activations."""

from __future__ import annotations
