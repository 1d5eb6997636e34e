"""ONNX converters for spatial ops: Resize, ConvTranspose, Einsum, GridSample, AffineGrid,
DepthToSpace/SpaceToDepth, LpPool, CenterCropPad."""

from __future__ import annotations
