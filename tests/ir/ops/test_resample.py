"""resize: its numpy reference against onnx's reference Resize, its type rule, and its errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import helper
from onnx.reference import ReferenceEvaluator
from op_harness import infer, run_op

from axiom.ir import TensorType
from axiom.ir.dims import sym
from axiom.ir.dtypes import f32
from axiom.ir.errors import AxiomError


def onnx_resize(x: np.ndarray, scales=None, sizes=None, roi=None, **attrs) -> np.ndarray:  # noqa: ANN001
    given = {"x": x, "roi": None if roi is None else np.array(roi, np.float32),
             "scales": None if scales is None else np.array(scales, np.float32),
             "sizes": None if sizes is None else np.array(sizes, np.int64)}
    node = helper.make_node("Resize", [n if v is not None else "" for n, v in given.items()], ["y"], **attrs)
    feeds = {n: v for n, v in given.items() if v is not None}
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info(n, 0, None) for n in feeds],
                              [helper.make_tensor_value_info("y", 0, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
    return ReferenceEvaluator(model).run(None, feeds)[0]


def ours(x: np.ndarray, scales: list[float], **attrs) -> np.ndarray:  # noqa: ANN001
    sizes = [int(d * s) for d, s in zip(x.shape, scales, strict=True)]
    return run_op("resize", [x], sizes=sizes, scales=[float(np.float32(s)) for s in scales], **attrs)


CASES = [
    {"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"},
    {"mode": "nearest", "coordinate_transformation_mode": "half_pixel", "nearest_mode": "round_prefer_ceil"},
    {"mode": "nearest", "coordinate_transformation_mode": "align_corners", "nearest_mode": "ceil"},
    {"mode": "linear", "coordinate_transformation_mode": "half_pixel"},
    {"mode": "linear", "coordinate_transformation_mode": "pytorch_half_pixel"},
    {"mode": "linear", "coordinate_transformation_mode": "half_pixel_symmetric"},
    {"mode": "linear", "coordinate_transformation_mode": "align_corners", "antialias": 1},
    {"mode": "cubic", "coordinate_transformation_mode": "asymmetric"},
    {"mode": "cubic", "cubic_coeff_a": -0.5, "exclude_outside": 1},
    {"mode": "cubic", "antialias": 1},
]


@pytest.mark.parametrize("attrs", CASES, ids=lambda a: "-".join(str(v) for v in a.values()))
@settings(max_examples=15, deadline=None)
@given(h=st.integers(1, 6), w=st.integers(2, 7), sh=st.sampled_from([0.5, 0.6, 1.0, 1.7, 2.0, 3.0]),
       sw=st.sampled_from([0.5, 0.8, 1.5, 2.0]))
def test_resize_matches_onnx_reference(attrs: dict, h: int, w: int, sh: float, sw: float) -> None:
    x = np.random.default_rng(h * 10 + w).standard_normal((1, 2, h, w)).astype(np.float32)
    scales = [1.0, 1.0, sh, sw]
    if int(h * sh) == 0 or int(w * sw) == 0:
        return
    want = onnx_resize(x, scales=scales, **attrs)
    ir_attrs = {k: bool(v) if k in ("antialias", "exclude_outside") else v for k, v in attrs.items()}
    np.testing.assert_allclose(ours(x, scales, **ir_attrs), want, rtol=1e-5, atol=1e-5)


def test_tf_crop_and_resize_extrapolates_outside_the_roi() -> None:
    x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    roi = [0, 0, 0.4, 0.6, 1, 1, 1.2, 1.7]
    want = onnx_resize(x, sizes=[1, 1, 3, 3], roi=roi, mode="linear",
                       coordinate_transformation_mode="tf_crop_and_resize", extrapolation_value=10.0)
    got = run_op("resize", [x], sizes=[1, 1, 3, 3], scales=[1.0, 1.0, 0.75, 0.75], mode="linear",
                 coordinate_transformation_mode="tf_crop_and_resize", extrapolation_value=10.0,
                 roi=roi)
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert (got == 10.0).any()


def test_integer_resize_rounds_and_saturates() -> None:
    x = np.array([[0, 255, 0]], np.uint8)
    got = run_op("resize", [x], sizes=[1, 6], scales=[1.0, 2.0], mode="cubic")
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got, onnx_resize(x, scales=[1.0, 2.0], mode="cubic"))


def test_symbolic_batch_keeps_its_dim() -> None:
    n = sym("N")
    t = infer("resize", TensorType(f32, (n, 3, 4)), sizes=(n, 3, 8), scales=(1.0, 1.0, 2.0))
    assert t.shape == (n, 3, 8)


@pytest.mark.parametrize("attrs", [
    {"sizes": (2, 8), "scales": (2.0,)},
    {"sizes": (2, 8), "scales": (1.0, 2.0), "mode": "bicubic"},
    {"sizes": (2, 8), "scales": (1.0, 2.0), "coordinate_transformation_mode": "tf_crop_and_resize"},
    {"sizes": (2, 8), "scales": (1.0, 2.0), "antialias": True},
    {"sizes": (sym("M"), 8), "scales": (1.0, 2.0)},
])
def test_bad_attributes_are_axiom_errors(attrs: dict) -> None:
    with pytest.raises(AxiomError, match="resize"):
        infer("resize", TensorType(f32, (2, 4)), **attrs)
