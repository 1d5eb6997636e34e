"""ONNX export of the indexing ops (axiom/ir/ops/indexing.py)."""

from __future__ import annotations
