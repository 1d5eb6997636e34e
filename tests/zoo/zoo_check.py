"""What both zoo routes check: outputs equal to torch eager within 1e-4 of the largest expected value,
from the numpy backend and from onnxruntime running the graph exported back with axiom.to_onnx."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

import axiom

RTOL, ATOL = 1e-4, 1e-6


def assert_close(got: np.ndarray, expected: np.ndarray, what: str) -> None:
    """max|got - expected| <= RTOL * max|expected| + ATOL, with matching shapes."""
    assert got.shape == expected.shape, f"{what}: shape {got.shape} != {expected.shape}"
    err, scale = float(np.abs(got - expected).max()), float(np.abs(expected).max())
    assert err <= RTOL * scale + ATOL, f"{what}: max error {err:.3g} against max |expected| {scale:.3g}"


def check_exported_back(graph: Any, cases: list[tuple[np.ndarray, np.ndarray]], path: Path,
                        what: str) -> None:
    """Export ``graph`` to ``path`` (the batch stays a dim_param), run each case in onnxruntime."""
    import onnxruntime

    proto = axiom.to_onnx(graph, path)
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feed = session.get_inputs()[0].name
    for x, expected in cases:
        (got,) = session.run(None, {feed: x})
        assert_close(got, expected, f"{what} via axiom.to_onnx at {list(x.shape)}")
