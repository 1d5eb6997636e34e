"""ONNX import: models built with onnx.helper (and exported from torch) run on the numpy reference
interpreter and agree with onnxruntime; unsupported nodes are listed at once; bad files fail clearly."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx_cases import check, make

import axiom
from axiom.backends.numpy.interpreter import run_graph
from axiom.frontends.onnx import OnnxLoadError, OnnxUnsupportedError, from_onnx
from axiom.ir.dims import sym
from axiom.ir.errors import AxiomError, UnsupportedError

F = TensorProto.FLOAT
RNG = np.random.default_rng(0)


def rand(*shape, dtype=np.float32):  # noqa: ANN001, ANN201
    return RNG.standard_normal(shape).astype(dtype)


def unary(op, opset=17, **attrs):  # noqa: ANN001, ANN201
    return make([helper.make_node(op, ["x"], ["y"], **attrs)], [("x", F, [2, 3, 4])], [("y", F, None)], opset)


# ---- elementwise ------------------------------------------------------------------------------
@pytest.mark.parametrize("op", ["Relu", "Sigmoid", "Tanh", "Exp", "Neg", "Abs", "Erf", "Softplus"])
def test_unary_ops(op):
    check(unary(op), rand(2, 3, 4))


@pytest.mark.parametrize("op", ["Log", "Sqrt"])
def test_unary_ops_on_positive_inputs(op):
    check(unary(op), np.abs(rand(2, 3, 4)) + 0.1)


def test_leaky_relu_and_gelu():
    check(unary("LeakyRelu", alpha=0.2), rand(2, 3, 4))
    check(unary("Gelu", opset=20), rand(2, 3, 4))
    check(unary("Gelu", opset=20, approximate="tanh"), rand(2, 3, 4), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Div", "Pow"])
def test_binary_ops_broadcast(op):
    m = make([helper.make_node(op, ["a", "b"], ["y"])], [("a", F, [2, 3, 4]), ("b", F, [3, 1])],
             [("y", F, None)])
    check(m, np.abs(rand(2, 3, 4)) + 0.5, rand(3, 1))


def test_pow_with_an_integer_exponent_casts_it():
    m = make([helper.make_node("Pow", ["a", "e"], ["y"])], [("a", F, [4])], [("y", F, None)],
             inits=[("e", np.array(2, np.int64))])
    check(m, rand(4))


@pytest.mark.parametrize("op", ["Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual"])
def test_comparisons_and_where(op):
    nodes = [helper.make_node(op, ["a", "b"], ["c"]), helper.make_node("Where", ["c", "a", "b"], ["y"]),
             helper.make_node("Not", ["c"], ["n"]), helper.make_node("And", ["c", "n"], ["z"]),
             helper.make_node("Or", ["c", "n"], ["o"])]
    m = make(nodes, [("a", F, [3, 4]), ("b", F, [4])],
             [("y", F, None), ("z", TensorProto.BOOL, None), ("o", TensorProto.BOOL, None)])
    a = rand(3, 4)
    b = a[1].copy()  # some ties, so Equal and the *OrEqual ops see both answers
    check(m, a, b)


def test_cast_and_clip_across_opsets():
    nodes = [helper.make_node("Cast", ["x"], ["i"], to=TensorProto.INT32),
             helper.make_node("Cast", ["i"], ["f"], to=TensorProto.FLOAT),
             helper.make_node("Clip", ["f", "lo", "hi"], ["y"])]
    m = make(nodes, [("x", F, [10])], [("y", F, None)], opset=13,
             inits=[("lo", np.array(-2.0, np.float32)), ("hi", np.array(3.0, np.float32))])
    check(m, rand(10) * 5)
    m11 = make([helper.make_node("Clip", ["x", "", "hi"], ["y"])], [("x", F, [10])], [("y", F, None)],
               opset=11, inits=[("hi", np.array(0.5, np.float32))])
    check(m11, rand(10))


def test_identity_dropout_constant_and_variadic_max():
    nodes = [helper.make_node("Constant", [], ["c"], value=numpy_helper.from_array(rand(4), "c")),
             helper.make_node("Identity", ["x"], ["i"]),
             helper.make_node("Dropout", ["i"], ["d"]),
             helper.make_node("Max", ["d", "c", "x"], ["y"])]
    check(make(nodes, [("x", F, [2, 4])], [("y", F, None)], opset=13), rand(2, 4))


# ---- linear algebra and nn ---------------------------------------------------------------------
@pytest.mark.parametrize("trans_a,trans_b,alpha,beta", [(0, 0, 1.0, 1.0), (1, 0, 0.5, 2.0), (0, 1, 1.0, 0.0),
                                                        (1, 1, 2.0, 1.0)])
def test_gemm(trans_a, trans_b, alpha, beta):
    a = rand(3, 5) if not trans_a else rand(5, 3)
    w = rand(5, 4) if not trans_b else rand(4, 5)
    node = helper.make_node("Gemm", ["a", "w", "c"], ["y"], transA=trans_a, transB=trans_b, alpha=alpha,
                            beta=beta)
    m = make([node], [("a", F, list(a.shape))], [("y", F, None)], inits=[("w", w), ("c", rand(4))])
    check(m, a)


def test_matmul_batched():
    m = make([helper.make_node("MatMul", ["a", "b"], ["y"])], [("a", F, [2, 3, 5]), ("b", F, [5, 4])],
             [("y", F, None)])
    check(m, rand(2, 3, 5), rand(5, 4))


@pytest.mark.parametrize("attrs", [
    {"pads": [1, 0, 2, 1], "strides": [2, 1]},
    {"dilations": [2, 2], "group": 2},
    {"auto_pad": "VALID", "strides": [2, 2]},
    {"auto_pad": "SAME_UPPER", "strides": [2, 2]},
    {"auto_pad": "SAME_LOWER", "strides": [2, 3]},
])
def test_conv(attrs):
    group = attrs.get("group", 1)
    w = rand(4, 4 // group, 3, 2)
    node = helper.make_node("Conv", ["x", "w", "b"], ["y"], kernel_shape=[3, 2], **attrs)
    m = make([node], [("x", F, [2, 4, 9, 8])], [("y", F, None)], inits=[("w", w), ("b", rand(4))])
    check(m, rand(2, 4, 9, 8), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("op,attrs", [
    ("MaxPool", {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}),
    ("MaxPool", {"kernel_shape": [2, 2], "auto_pad": "SAME_UPPER", "strides": [2, 2], "dilations": [1, 1]}),
    ("AveragePool", {"kernel_shape": [3, 2], "pads": [1, 0, 1, 1], "count_include_pad": 1}),
    ("AveragePool", {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}),
    ("GlobalAveragePool", {}),
])
def test_pools(op, attrs):
    m = make([helper.make_node(op, ["x"], ["y"], **attrs)], [("x", F, [2, 3, 7, 6])], [("y", F, None)])
    check(m, rand(2, 3, 7, 6))


def test_batch_and_layer_norm():
    nodes = [helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["n"], epsilon=1e-3),
             helper.make_node("LayerNormalization", ["n", "ls", "lb"], ["y"], axis=-2)]
    inits = [("s", rand(3)), ("b", rand(3)), ("m", rand(3)), ("v", np.abs(rand(3)) + 0.5),
             ("ls", rand(4, 5)), ("lb", rand(4, 5))]
    check(make(nodes, [("x", F, [2, 3, 4, 5])], [("y", F, None)], inits=inits), rand(2, 3, 4, 5),
          rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("op", ["Softmax", "LogSoftmax"])
@pytest.mark.parametrize("opset,axis", [(11, None), (11, 1), (11, -1), (13, None), (13, 1), (17, 0)])
def test_softmax_semantics_by_opset(op, opset, axis):
    attrs = {} if axis is None else {"axis": axis}
    m = make([helper.make_node(op, ["x"], ["y"], **attrs)], [("x", F, [2, 3, 4])], [("y", F, None)], opset)
    check(m, rand(2, 3, 4))


# ---- shape ops and reductions -----------------------------------------------------------------
@pytest.mark.parametrize("target,allowzero", [([0, -1], 0), ([-1, 4], 0), ([2, 0, 2, 2], 0), ([6, 4], 1)])
def test_reshape_codes(target, allowzero):
    node = helper.make_node("Reshape", ["x", "s"], ["y"], allowzero=allowzero)
    m = make([node], [("x", F, [2, 3, 4])], [("y", F, None)], opset=14,
             inits=[("s", np.array(target, np.int64))])
    check(m, rand(2, 3, 4))


def test_transpose_flatten_concat():
    nodes = [helper.make_node("Transpose", ["x"], ["t"], perm=[2, 0, 1]),
             helper.make_node("Transpose", ["x"], ["r"]),
             helper.make_node("Flatten", ["t"], ["f"], axis=-1),
             helper.make_node("Concat", ["x", "x"], ["c"], axis=-2)]
    m = make(nodes, [("x", F, [2, 3, 4])], [("f", F, None), ("r", F, None), ("c", F, None)], opset=13)
    check(m, rand(2, 3, 4))


@pytest.mark.parametrize("opset", [11, 13, 18])
def test_squeeze_unsqueeze_by_opset(opset):
    if opset < 13:
        nodes = [helper.make_node("Unsqueeze", ["x"], ["u"], axes=[0, -1]),
                 helper.make_node("Squeeze", ["u"], ["y"], axes=[0])]
        inits = []
    else:
        nodes = [helper.make_node("Unsqueeze", ["x", "ua"], ["u"]),
                 helper.make_node("Squeeze", ["u", "sa"], ["y"])]
        inits = [("ua", np.array([0, -1], np.int64)), ("sa", np.array([0], np.int64))]
    check(make(nodes, [("x", F, [2, 3])], [("y", F, None)], opset, inits), rand(2, 3))


@pytest.mark.parametrize("op", ["ReduceMean", "ReduceSum", "ReduceMax"])
@pytest.mark.parametrize("opset", [11, 13, 18])
@pytest.mark.parametrize("keepdims", [0, 1])
def test_reductions_by_opset(op, opset, keepdims):
    axes_as_input = opset >= 18 or (op == "ReduceSum" and opset >= 13)
    if axes_as_input:
        node = helper.make_node(op, ["x", "axes"], ["y"], keepdims=keepdims)
        inits = [("axes", np.array([0, -1], np.int64))]
    else:
        node = helper.make_node(op, ["x"], ["y"], keepdims=keepdims, axes=[0, -1])
        inits = []
    check(make([node], [("x", F, [2, 3, 4])], [("y", F, None)], opset, inits), rand(2, 3, 4))


def test_reduce_without_axes_reduces_everything_or_nothing():
    every = helper.make_node("ReduceSum", ["x"], ["y"], keepdims=0)
    check(make([every], [("x", F, [2, 3])], [("y", F, None)], 13), rand(2, 3))
    none = helper.make_node("ReduceSum", ["x"], ["y"], noop_with_empty_axes=1)
    check(make([none], [("x", F, [2, 3])], [("y", F, None)], 13), rand(2, 3))


# ---- graph-level behaviour ----------------------------------------------------------------------
def test_dims_initializers_and_locations():
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"], name="fc"),
             helper.make_node("Add", ["h", "b"], ["y"], name="bias_add")]
    m = make(nodes, [("x", F, ["batch size", None, 3]), ("w", F, [3, 2])], [("y", F, None)],
             inits=[("w", rand(3, 2)), ("b", rand(2))])
    g = from_onnx(m)
    assert len(g.inputs) == 1  # w is an initializer, so a constant, not an input
    x = g.inputs[0]
    assert x.shape[0] == sym("batch_size") and not isinstance(x.shape[1], int) and x.shape[2] == 3
    assert sorted(g.constants) == ["b", "w"]
    assert [str(n.loc) for n in g.nodes if n.op.name != "const"] == ["fc", "bias_add"]
    assert g.outputs[0].shape == (sym("batch_size"), x.shape[1], 2)
    for n in (1, 4):
        check(m, rand(n, 5, 3))


def test_every_unsupported_node_is_listed_at_once():
    nodes = [helper.make_node("Unique", ["x"], ["h"], name="unique"),
             helper.make_node("Reshape", ["h", "s"], ["r"], name="dyn_reshape"),
             helper.make_node("MyOp", ["r"], ["m"], name="custom", domain="my.domain"),
             helper.make_node("Relu", ["m"], ["y"], name="fine"),
             helper.make_node("Dropout", ["y"], ["z", "mask"], name="dropout_mask")]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", F, [2, 3]),
                                       helper.make_tensor_value_info("s", TensorProto.INT64, [2])],
                          [helper.make_tensor_value_info("z", F, [2, 3])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 16), helper.make_opsetid("my.domain", 1)])
    with pytest.raises(OnnxUnsupportedError) as info:
        from_onnx(m)
    names = [p[3] for p in info.value.problems]
    assert names == ["unique", "dyn_reshape", "custom", "dropout_mask"]
    text = str(info.value)
    assert isinstance(info.value, UnsupportedError)
    assert "4 unsupported" in text and "'fine'" not in text
    assert "MyOp (domain 'my.domain', opset 1)" in text
    assert "input 1 ('s') must be a constant" in text
    assert "no converter for this op" in text and "only its first output" in text


def test_unsupported_attributes_are_listed():
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv3d", kernel_shape=[1, 1, 1]),
             helper.make_node("Cast", ["x"], ["s"], name="to_string", to=TensorProto.STRING)]
    m = make(nodes, [("x", F, [1, 1, 2, 2, 2])], [("c", F, None), ("s", TensorProto.STRING, None)],
             inits=[("w", rand(1, 1, 1, 1, 1))])
    with pytest.raises(OnnxUnsupportedError) as info:
        from_onnx(m)
    assert [p[3] for p in info.value.problems] == ["conv3d", "to_string"]
    assert "2-D" in str(info.value) and "STRING" in str(info.value)


def test_malformed_inputs_give_clear_errors(tmp_path):
    good = unary("Relu").SerializeToString()
    for bad in (good[: len(good) // 2], b"\xff\xfe garbage \x00\x01" * 7):
        with pytest.raises(OnnxLoadError, match="ONNX model"):
            from_onnx(bad)
    path = tmp_path / "cut.onnx"
    path.write_bytes(good[:-9])
    with pytest.raises(OnnxLoadError):
        from_onnx(path)
    with pytest.raises(OnnxLoadError, match="no ONNX file"):
        from_onnx(tmp_path / "missing.onnx")
    with pytest.raises(OnnxLoadError, match="cannot import a int"):
        from_onnx(3)  # type: ignore[arg-type]


def test_an_invalid_model_fails_the_checker_clearly():
    m = make([helper.make_node("Relu", ["nowhere"], ["y"])], [("x", F, [2])], [("y", F, None)])
    with pytest.raises(OnnxLoadError, match="not valid"):
        from_onnx(m)


def test_compile_accepts_onnx_paths_and_protos(tmp_path):
    m = make([helper.make_node("Sigmoid", ["x"], ["y"])], [("x", F, ["N", 3])], [("y", F, None)])
    path = tmp_path / "m.onnx"
    onnx.save(m, str(path))
    x = rand(5, 3)
    for model in (str(path), path, m):
        out = axiom.compile(model, backend="numpy")(x)
        out = out[0] if isinstance(out, (list, tuple)) else out
        np.testing.assert_allclose(np.asarray(out), 1 / (1 + np.exp(-x)), rtol=1e-6)
    assert str(axiom.from_onnx(m)) == str(from_onnx(m))  # the public name imports onnx lazily
    with pytest.raises(AxiomError):
        axiom.compile(str(tmp_path / "missing.onnx"), backend="numpy")


def test_lookup_names_the_supported_opset_ranges():
    from axiom.frontends.onnx.ops_common import lookup

    assert "outside the supported opsets (6..10, 11.." in lookup("", "Clip", 5)
    assert lookup("ai.onnx", "Clip", 13).since == 11
    assert lookup("", "NoSuchOp", 13) == "no converter for this op"


# ---- models exported from torch ------------------------------------------------------------------
def _export(module, example, tmp_path, dynamic_batch):  # noqa: ANN001, ANN201
    torch = pytest.importorskip("torch")
    path = tmp_path / "model.onnx"
    axes = {"x": {0: "batch"}, "y": {0: "batch"}} if dynamic_batch else None
    with torch.no_grad():
        torch.onnx.export(module.eval(), (example,), str(path), input_names=["x"], output_names=["y"],
                          dynamic_axes=axes, opset_version=17, dynamo=False)
    return path


def _torch_check(module, path, *batches, shape):  # noqa: ANN001, ANN202
    torch = pytest.importorskip("torch")
    graph = from_onnx(path)
    for n in batches:
        x = rand(n, *shape)
        with torch.no_grad():
            want = module(torch.from_numpy(x)).numpy()
        (got,) = run_graph(graph, [x])
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    return graph


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_torch_mlp_with_a_dynamic_batch(tmp_path):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    mlp = torch.nn.Sequential(torch.nn.Linear(20, 32), torch.nn.GELU(), torch.nn.Linear(32, 16),
                              torch.nn.LayerNorm(16), torch.nn.ReLU(), torch.nn.Linear(16, 4),
                              torch.nn.Softmax(dim=-1))
    path = _export(mlp, torch.zeros(2, 20), tmp_path, dynamic_batch=True)
    graph = _torch_check(mlp, path, 3, 7, shape=(20,))
    assert graph.inputs[0].shape == (sym("batch"), 20)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_torch_small_cnn(tmp_path):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    nn = torch.nn
    cnn = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(8, 8, 3, stride=2, groups=2), nn.AvgPool2d(2), nn.Dropout(0.3),
                        nn.Flatten(), nn.Linear(8, 10), nn.LogSoftmax(dim=1))
    cnn[1].running_mean.uniform_(-1, 1)
    cnn[1].running_var.uniform_(0.5, 2)
    path = _export(cnn, torch.zeros(2, 1, 16, 16), tmp_path, dynamic_batch=True)
    _torch_check(cnn, path, 1, 4, shape=(1, 16, 16))
