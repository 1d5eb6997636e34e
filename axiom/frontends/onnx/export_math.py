"""ONNX export of the math ops (axiom/ir/ops/math.py)."""

from __future__ import annotations
