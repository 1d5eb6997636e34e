"""ONNX converters for indexing ops: GatherElements, GatherND, ScatterElements, ScatterND, CumSum, CumProd,
TopK, Trilu, OneHot, Hardmax, EyeLike."""

from __future__ import annotations
