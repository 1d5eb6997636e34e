"""ONNX spatial converters (Resize/Upsample, ConvTranspose, Einsum, DepthToSpace/SpaceToDepth, LpPool,
CenterCropPad, AffineGrid, windows) and the resize/conv_transpose exporters, against onnxruntime."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper
from onnx_cases import check, make

from axiom.backends.numpy.interpreter import run_graph
from axiom.frontends.onnx import from_onnx
from axiom.frontends.onnx.export import to_onnx

F = TensorProto.FLOAT
RNG = np.random.default_rng(0)


def rand(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("opset, attrs, scales, sizes", [
    (10, {"mode": "nearest"}, [1, 1, 2, 3], None),
    (10, {"mode": "linear"}, [1, 1, 2, 1.5], None),
    (11, {"mode": "linear", "coordinate_transformation_mode": "align_corners"}, [1, 1, 0.6, 1.5], None),
    (13, {"mode": "cubic", "cubic_coeff_a": -0.5, "exclude_outside": 1}, None, [1, 2, 3, 7]),
    (13, {"mode": "nearest", "nearest_mode": "ceil", "coordinate_transformation_mode": "half_pixel"},
     [1, 1, 1.7, 0.5], None),
    (18, {"mode": "linear", "antialias": 1}, [1, 1, 0.5, 0.6], None),
    (18, {"mode": "nearest", "axes": [3, 2], "keep_aspect_ratio_policy": "not_larger"}, None, [5, 9]),
    (19, {"mode": "linear", "coordinate_transformation_mode": "half_pixel_symmetric"}, [1, 1, 1.3, 0.7],
     None),
])
def test_resize_against_onnxruntime(opset: int, attrs: dict, scales: list | None, sizes: list | None) -> None:
    inits = []
    if opset == 10:
        names = ["x", "scales"]
    else:  # roi is a required input before opset 13
        names = ["x", "roi", "scales" if scales else "", "sizes" if sizes else ""]
        inits.append(("roi", np.zeros(0, np.float32)))
    if scales:
        inits.append(("scales", np.array(scales, np.float32)))
    if sizes:
        inits.append(("sizes", np.array(sizes, np.int64)))
    node = helper.make_node("Resize", names, ["y"], **attrs)
    model = make([node], [("x", F, [1, 2, 5, 6])], [("y", F, None)], opset=opset, inits=inits)
    check(model, rand(1, 2, 5, 6))


def test_upsample_9_repeats_nearest() -> None:
    node = helper.make_node("Upsample", ["x", "s"], ["y"], mode="nearest")
    model = make([node], [("x", F, [1, 1, 2, 3])], [("y", F, None)], opset=9,
                 inits=[("s", np.array([1, 1, 2, 3], np.float32))])
    x = rand(1, 1, 2, 3)
    graph = from_onnx(model)
    np.testing.assert_array_equal(run_graph(graph, [x])[0], x.repeat(2, axis=2).repeat(3, axis=3))


@pytest.mark.parametrize("x_shape, w_shape, attrs", [
    ([1, 2, 5], [2, 3, 3], {"strides": [2], "pads": [1, 0], "output_padding": [1]}),
    ([1, 4, 3, 4], [4, 2, 3, 2], {"group": 2, "dilations": [2, 1], "strides": [1, 2]}),
    ([1, 1, 3, 3], [1, 2, 3, 3], {"strides": [3, 2], "output_shape": [10, 8]}),
    ([1, 1, 3, 3], [1, 2, 3, 3], {"strides": [2, 2], "auto_pad": "SAME_UPPER"}),
    ([1, 2, 2, 3, 2], [2, 1, 2, 2, 2], {"strides": [1, 2, 1], "pads": [0, 1, 0, 1, 0, 1]}),
])
def test_conv_transpose_against_onnxruntime(x_shape: list, w_shape: list, attrs: dict) -> None:
    bias = np.arange(w_shape[1] * attrs.get("group", 1), dtype=np.float32)
    node = helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], **attrs)
    model = make([node], [("x", F, x_shape)], [("y", F, None)], inits=[("w", rand(*w_shape)), ("b", bias)])
    check(model, rand(*x_shape), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("equation, shapes", [
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("ij->ji", [(3, 4)]),
    ("ij->", [(3, 4)]),
    ("i,i", [(5,), (5,)]),
    ("i,j->ij", [(3,), (4,)]),
    ("...ii->...i", [(2, 3, 3)]),
    ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("...ij,...jk", [(2, 3, 4), (2, 4, 2)]),
])
def test_einsum_against_onnxruntime(equation: str, shapes: list) -> None:
    names = [f"x{i}" for i in range(len(shapes))]
    node = helper.make_node("Einsum", names, ["y"], equation=equation)
    inputs = [(n, F, list(s)) for n, s in zip(names, shapes, strict=True)]
    model = make([node], inputs, [("y", F, None)], opset=12)
    check(model, *(rand(*s) for s in shapes), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("op, mode", [("DepthToSpace", "DCR"), ("DepthToSpace", "CRD"),
                                      ("SpaceToDepth", None)])
def test_depth_space_against_onnxruntime(op: str, mode: str | None) -> None:
    node = helper.make_node(op, ["x"], ["y"], blocksize=2, **({"mode": mode} if mode else {}))
    shape = [2, 8, 3, 2] if op == "DepthToSpace" else [2, 3, 4, 6]
    check(make([node], [("x", F, shape)], [("y", F, None)], opset=13), rand(*shape))


@pytest.mark.parametrize("shape, axes", [([2, 7, 3], None), ([6, 2], [0, -1]), ([3], [1])])
def test_center_crop_pad_against_onnxruntime(shape: list, axes: list | None) -> None:
    node = helper.make_node("CenterCropPad", ["x", "s"], ["y"], **({"axes": axes} if axes else {}))
    model = make([node], [("x", F, [4, 4, 4])], [("y", F, None)], opset=18,
                 inits=[("s", np.array(shape, np.int64))])
    check(model, rand(4, 4, 4))


@pytest.mark.parametrize("attrs, shape", [
    ({"kernel_shape": [3], "strides": [2], "pads": [1, 1]}, [1, 2, 7]),
    ({"kernel_shape": [2, 2], "p": 3, "auto_pad": "SAME_UPPER"}, [1, 2, 5, 4]),
])
def test_lp_pool_against_onnxruntime(attrs: dict, shape: list) -> None:
    node = helper.make_node("LpPool", ["x"], ["y"], **attrs)
    check(make([node], [("x", F, shape)], [("y", F, None)], opset=18), rand(*shape), rtol=1e-4)


@pytest.mark.parametrize("size, align", [([2, 1, 3, 4], 0), ([1, 1, 2, 3, 2], 1)])
def test_affine_grid_against_onnxruntime(size: list, align: int) -> None:
    d = len(size) - 2
    node = helper.make_node("AffineGrid", ["theta", "size"], ["y"], align_corners=align)
    model = make([node], [("theta", F, [size[0], d, d + 1])], [("y", F, None)], opset=20,
                 inits=[("size", np.array(size, np.int64))])
    check(model, rand(size[0], d, d + 1), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("op", ["HannWindow", "HammingWindow", "BlackmanWindow"])
@pytest.mark.parametrize("periodic", [0, 1])
def test_windows_against_onnxruntime(op: str, periodic: int) -> None:
    node = helper.make_node(op, ["n"], ["y"], periodic=periodic)
    model = make([node], [("x", F, [1])], [("y", F, None)], opset=17, inits=[("n", np.array(10, np.int64))])
    graph = from_onnx(model)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    want = sess.run(None, {"x": np.zeros(1, np.float32)})[0]
    np.testing.assert_allclose(run_graph(graph, [np.zeros(1, np.float32)])[0], want, rtol=1e-5, atol=1e-6)


def run_exported(model_in: object, *feeds: np.ndarray) -> None:
    """Import, export again, and compare onnxruntime on the export with our interpreter."""
    graph = from_onnx(model_in)
    exported = to_onnx(graph)
    sess = ort.InferenceSession(exported.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    want = sess.run(None, dict(zip(names, feeds, strict=True)))[0]
    np.testing.assert_allclose(run_graph(graph, list(feeds))[0], want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("opset, attrs, scales, sizes", [
    (10, {"mode": "nearest"}, [1, 1, 2, 3], None),
    (13, {"mode": "cubic"}, None, [1, 2, 3, 7]),
    (18, {"mode": "linear", "antialias": 1}, [1, 1, 0.5, 0.6], None),
    (13, {"mode": "linear", "coordinate_transformation_mode": "tf_crop_and_resize"}, None, [1, 2, 3, 4]),
])
def test_resize_export_runs_in_onnxruntime(opset: int, attrs: dict, scales: list | None,
                                          sizes: list | None) -> None:
    inits = [("roi", np.array([0, 0, 0.2, 0.1, 1, 1, 0.9, 1.3], np.float32))]
    names = (["x", "scales"] if opset == 10
             else ["x", "roi", "scales" if scales else "", "sizes" if sizes else ""])
    inits += [("scales", np.array(scales, np.float32))] if scales else [("sizes", np.array(sizes, np.int64))]
    node = helper.make_node("Resize", names, ["y"], **attrs)
    run_exported(make([node], [("x", F, [1, 2, 5, 6])], [("y", F, None)], opset=opset, inits=inits),
                 rand(1, 2, 5, 6))


def test_conv_transpose_export_runs_in_onnxruntime() -> None:
    node = helper.make_node("ConvTranspose", ["x", "w"], ["y"], strides=[2], pads=[1, 0], output_padding=[1])
    model = make([node], [("x", F, [1, 2, 5])], [("y", F, None)], inits=[("w", rand(2, 3, 3))])
    run_exported(model, rand(1, 2, 5))
