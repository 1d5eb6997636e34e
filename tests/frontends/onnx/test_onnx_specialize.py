"""Shape and axes inputs fed from graph inputs: axiom.compile specialises per value, from_onnx binds given
values, and inputs computed only from constants are evaluated while importing. Checked against onnxruntime."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper
from onnx_cases import make

import axiom
from axiom.frontends.onnx import OnnxUnsupportedError
from axiom.frontends.onnx.known import specialization_inputs
from axiom.ir.errors import AxiomError, InputError
from axiom.runtime import SpecializedExecutable

F, I64 = TensorProto.FLOAT, TensorProto.INT64


def _ort(model, *feeds):  # noqa: ANN001, ANN202
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {i.name: f for i, f in zip(sess.get_inputs(), feeds, strict=True)})


def _reshape_model():  # noqa: ANN202
    return make([helper.make_node("Reshape", ["x", "shape"], ["y"])],
                [("x", F, [2, 3, 4]), ("shape", I64, [2])], [("y", F, None)])


def test_a_shape_input_compiles_once_per_value() -> None:
    model = _reshape_model()
    assert specialization_inputs(model) == ["shape"]
    exe = axiom.compile(model, backend="numpy")
    assert isinstance(exe, SpecializedExecutable) and exe.specialized_on == ["shape"]
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    for shape in ([6, 4], [4, -1], [6, 4], [0, 12]):
        s = np.array(shape, np.int64)
        got = exe(x, s)
        (want,) = _ort(model, x, s)
        assert got.shape == want.shape
        np.testing.assert_array_equal(got, want)
    assert exe.variants == 3  # [6, 4] was reused
    assert "reshape" in exe.as_text() and "shape" not in [v.name for v in exe.ir.inputs]
    np.testing.assert_array_equal(exe(shape=np.array([24, 1], np.int64), x=x), x.reshape(24, 1))


def test_reduce_axes_from_an_input_and_a_torch_tensor_value() -> None:
    torch = pytest.importorskip("torch")
    model = make([helper.make_node("ReduceSum", ["x", "axes"], ["y"], keepdims=0)],
                 [("x", F, [3, 4, 5]), ("axes", I64, [1])], [("y", F, ["a", "b"])], opset=18)
    exe = axiom.compile(model, backend="numpy")
    x = np.random.default_rng(0).standard_normal((3, 4, 5)).astype(np.float32)
    for axis in (0, -1, 1):
        axes = np.array([axis], np.int64)
        np.testing.assert_allclose(exe(x, axes), _ort(model, x, axes)[0], rtol=1e-5, atol=1e-6)
    got = exe(torch.from_numpy(x), torch.tensor([2]))
    assert isinstance(got, torch.Tensor)
    np.testing.assert_allclose(got.numpy(), x.sum(axis=2), rtol=1e-5, atol=1e-6)


def test_shape_computed_from_an_input_specialises_on_that_input() -> None:
    nodes = [helper.make_node("Abs", ["s"], ["shape"]), helper.make_node("Reshape", ["x", "shape"], ["y"])]
    model = make(nodes, [("x", F, [4, 6]), ("s", I64, [3])], [("y", F, None)])
    assert specialization_inputs(model) == ["s"]
    exe = axiom.compile(model, backend="numpy")
    x = np.arange(24, dtype=np.float32).reshape(4, 6)
    s = np.array([-2, 3, -4], np.int64)
    np.testing.assert_array_equal(exe(x, s), _ort(model, x, s)[0])


def test_shape_computed_from_constants_is_evaluated_while_importing() -> None:
    nodes = [helper.make_node("Add", ["a", "b"], ["shape"]),
             helper.make_node("Reshape", ["x", "shape"], ["y"])]
    model = make(nodes, [("x", F, [2, 6])], [("y", F, None)],
                 inits=[("a", np.array([1, 2], np.int64)), ("b", np.array([2, 2], np.int64))])
    assert specialization_inputs(model) == []
    exe = axiom.compile(model, backend="numpy")
    assert not isinstance(exe, SpecializedExecutable)
    x = np.arange(12, dtype=np.float32).reshape(2, 6)
    np.testing.assert_array_equal(exe(x), x.reshape(3, 4))


def test_from_onnx_binds_input_values_and_checks_them() -> None:
    model = _reshape_model()
    graph = axiom.from_onnx(model, input_values={"shape": np.array([3, 8], np.int64)})
    assert [v.name for v in graph.inputs] == ["x"]
    assert str(graph.outputs[0].type) == "f32[3, 8]"
    with pytest.raises(InputError, match="input 'shape' must be INT64, got an array of int32"):
        axiom.from_onnx(model, input_values={"shape": np.array([3, 8], np.int32)})
    with pytest.raises(InputError, match="input 'shape' must have shape \\[2\\]"):
        axiom.from_onnx(model, input_values={"shape": np.array([24], np.int64)})
    with pytest.raises(InputError, match="'nope', which is not a graph input"):
        axiom.from_onnx(model, input_values={"nope": np.array([1])})
    with pytest.raises(OnnxUnsupportedError, match="must be a constant"):
        axiom.from_onnx(model)


def test_specialised_call_errors_name_the_input() -> None:
    exe = axiom.compile(_reshape_model(), backend="numpy")
    with pytest.raises(AxiomError, match="call it once"):
        _ = exe.ir
    x = np.zeros((2, 3, 4), np.float32)
    with pytest.raises(InputError, match="input 'shape' decides shapes or axes"):
        exe(x, [6, 4])
    with pytest.raises(InputError, match="missing input 'shape'"):
        exe(x=x)
    with pytest.raises(InputError, match="input 'x'"):
        exe(np.zeros((2, 3), np.float32), np.array([6, 4], np.int64))


def test_a_random_shape_is_not_specialised() -> None:
    nodes = [helper.make_node("RandomUniform", [], ["r"], shape=[2], dtype=TensorProto.FLOAT),
             helper.make_node("Cast", ["r"], ["shape"], to=I64),
             helper.make_node("Reshape", ["x", "shape"], ["y"])]
    model = make(nodes, [("x", F, [2, 3])], [("y", F, None)])
    assert specialization_inputs(model) == []
    with pytest.raises(OnnxUnsupportedError):
        axiom.compile(model, backend="numpy")
