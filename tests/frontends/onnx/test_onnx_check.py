"""The ONNX checks run without the bulk initializers: the model they give is byte for byte the one onnx's own
shape inference and checker give, the weights still reach the graph, and a bulk initializer the checker
would reject is still rejected."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx_cases import check

from axiom.frontends.onnx import OnnxLoadError, from_onnx
from axiom.frontends.onnx.check import MIN_BULK_ELEMENTS, bulk_initializers, infer_and_check
from axiom.frontends.onnx.importer import load_model

F = TensorProto.FLOAT
RNG = np.random.default_rng(0)


def conv_model(ir_version: int = 9, weight_in_inputs: bool = False) -> onnx.ModelProto:
    """Conv (a 16x8x3x3 float weight: bulk) -> Reshape, Slice (int64 shape data: never bulk, and what the
    output's inferred type [N, 8] depends on) -> Add (a small bias), the output written without a type."""
    inits = [numpy_helper.from_array(RNG.standard_normal((16, 8, 3, 3)).astype(np.float32), "w"),
             numpy_helper.from_array(np.array([0, -1], np.int64), "shape"),
             numpy_helper.from_array(RNG.standard_normal(8).astype(np.float32), "b8")]
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Reshape", ["c", "shape"], ["r"]),
             helper.make_node("Slice", ["r", "starts", "ends", "axes"], ["s"]),
             helper.make_node("Add", ["s", "b8"], ["y"])]
    inits += [numpy_helper.from_array(np.array([v], np.int64), n) for n, v in (("starts", 0), ("ends", 8),
                                                                                ("axes", 1))]
    inputs = [helper.make_tensor_value_info("x", F, ["N", 8, 6, 6])]
    if weight_in_inputs:
        inputs.append(helper.make_tensor_value_info("w", F, [16, 8, 3, 3]))
    g = helper.make_graph(nodes, "g", inputs, [helper.make_tensor_value_info("y", F, None)], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=ir_version)


def onnx_checked(proto: onnx.ModelProto) -> onnx.ModelProto:
    """What onnx's own calls give on the whole model (the behaviour infer_and_check must keep)."""
    inferred = onnx.shape_inference.infer_shapes(proto, strict_mode=False)
    onnx.checker.check_model(inferred)
    return inferred


def test_only_large_plain_float_initializers_are_bulk():
    assert MIN_BULK_ELEMENTS <= 16 * 8 * 3 * 3
    assert bulk_initializers(conv_model()) == {"w"}
    assert bulk_initializers(conv_model(weight_in_inputs=True)) == set()  # an input's default value
    assert bulk_initializers(conv_model(ir_version=3)) == set()  # there every initializer is an input
    m = conv_model()
    m.graph.initializer.append(numpy_helper.from_array(np.zeros(4096, np.int64), "ids"))
    m.graph.initializer.append(numpy_helper.from_array(np.zeros(MIN_BULK_ELEMENTS - 1, np.float32), "small"))
    ext = m.graph.initializer.add()
    ext.CopyFrom(numpy_helper.from_array(np.zeros(4096, np.float32), "ext"))
    ext.data_location = TensorProto.EXTERNAL
    assert bulk_initializers(m) == {"w"}


@pytest.mark.parametrize("in_place", [False, True])
def test_the_checked_model_is_the_one_onnx_gives(in_place):
    m = conv_model()
    given = m.SerializeToString()
    want = onnx_checked(m).SerializeToString()
    got = infer_and_check(m, in_place=in_place)
    assert got.SerializeToString() == want
    assert (got is m) == in_place
    if not in_place:
        assert m.SerializeToString() == given  # the caller's model is left alone
    out = got.graph.output[0].type.tensor_type.shape  # inference filled the output in
    assert [d.dim_param or d.dim_value for d in out.dim] == ["N", 8]


def test_the_weights_reach_the_graph_from_a_file_and_from_a_proto(tmp_path):
    m = conv_model()
    x = RNG.standard_normal((2, 8, 6, 6)).astype(np.float32)
    graph = check(m, x, rtol=1e-4, atol=1e-5)  # our interpreter against onnxruntime
    path = tmp_path / "conv.onnx"
    onnx.save(m, str(path))
    from_file = from_onnx(path)
    for g in (graph, from_file):
        np.testing.assert_array_equal(g.constants["w"], numpy_helper.to_array(m.graph.initializer[0]))


def _short(t: TensorProto) -> None:
    t.raw_data = t.raw_data[:-4]


def _float_data_too(t: TensorProto) -> None:
    t.float_data.append(1.0)


def _string(t: TensorProto) -> None:
    t.data_type = TensorProto.STRING


def _no_name(t: TensorProto) -> None:
    t.name = ""


@pytest.mark.parametrize("spoil", [_short, _float_data_too, _string, _no_name])
def test_a_spoilt_weight_is_still_rejected(spoil):
    m = conv_model()
    spoil(m.graph.initializer[0])
    assert "w" not in bulk_initializers(m)  # left to the checker
    with pytest.raises(onnx.checker.ValidationError):
        onnx_checked(m)
    with pytest.raises(OnnxLoadError, match="not valid"):
        load_model(m)


def test_a_duplicated_weight_is_still_rejected(tmp_path):
    m = conv_model()
    m.graph.initializer.append(m.graph.initializer[0])
    assert bulk_initializers(m) == set()
    path = tmp_path / "dup.onnx"
    onnx.save(m, str(path))
    with pytest.raises(OnnxLoadError, match="not unique"):
        load_model(path)


def test_a_failing_check_changes_nothing():
    m = conv_model()
    m.graph.node[0].input[0] = "nowhere"  # an undefined value: the checker fails after inference
    data = m.SerializeToString()
    with pytest.raises(OnnxLoadError, match="not valid"):
        load_model(data)
    with pytest.raises(onnx.checker.ValidationError):
        infer_and_check(m, in_place=True)
    assert m.SerializeToString() == data
