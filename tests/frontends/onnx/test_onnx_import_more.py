"""ONNX import of indexing, shape-building, activation and reduction ops, and of Shape chains folded
while importing; every model runs on the numpy interpreter and agrees with onnxruntime."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx_cases import check, make

from axiom.backends.numpy.interpreter import run_graph
from axiom.frontends.onnx import from_onnx
from axiom.ir.dims import sym
from axiom.ir.errors import UnsupportedError

F, I64 = TensorProto.FLOAT, TensorProto.INT64
RNG = np.random.default_rng(1)
BIG = 2**63 - 1


def rand(*shape):  # noqa: ANN001, ANN201
    return RNG.standard_normal(shape).astype(np.float32)


def one(op, x_shape, opset=17, inits=(), n_out=1, **attrs):  # noqa: ANN001, ANN201
    """A model of one node: input x plus the named initializers, outputs y0, y1, ..."""
    outs = [f"y{i}" for i in range(n_out)]
    node = helper.make_node(op, ["x", *(n for n, _ in inits)], outs, **attrs)
    return make([node], [("x", F, x_shape)], [(o, F, None) for o in outs], opset, inits)


def i64(*v):  # noqa: ANN001, ANN201
    return np.array(v, np.int64)


# ---- Slice, Gather, Expand, Tile -----------------------------------------------------------------
@pytest.mark.parametrize("starts,ends,axes,steps", [
    ((1, 0), (3, BIG), (0, 2), None), ((-3,), (-1,), (1,), None), ((0, 10), (100, -100), (0, 1), (2, -1)),
    ((BIG,), (-BIG,), (2,), (-2,)), ((-100,), (2,), None, None)])
def test_slice_with_constant_inputs(starts, ends, axes, steps):
    inits = [("s", i64(*starts)), ("e", i64(*ends))]
    inits += [("a", i64(*axes))] if axes else []
    inits += [("k", i64(*steps))] if steps else []
    check(one("Slice", [4, 5, 6], inits=inits), rand(4, 5, 6))


def test_slice_with_attributes_before_opset_10():
    check(one("Slice", [4, 5, 6], opset=9, starts=[1, -4], ends=[BIG, -1], axes=[0, 2]), rand(4, 5, 6))
    check(one("Slice", [4, 5], opset=9, starts=[1, 1], ends=[3, 100]), rand(4, 5))


@pytest.mark.parametrize("axis,idx", [(0, i64(2, -1, 0)), (1, i64(1)), (2, i64([[0, 3], [-2, 1]])),
                                      (1, np.array([2, 0], np.int32))])
def test_gather(axis, idx):
    check(one("Gather", [3, 4, 5], inits=[("i", idx)], axis=axis), rand(3, 4, 5))


@pytest.mark.parametrize("shape", [(2, 3, 4), (3, 1), (1, 1, 1, 4), (4,), (1,)])
def test_expand_broadcasts_both_ways(shape):
    check(one("Expand", [3, 1], inits=[("s", i64(*shape))]), rand(3, 1))


@pytest.mark.parametrize("repeats", [(1, 1), (2, 3), (1, 4), (3, 1)])
def test_tile(repeats):
    check(one("Tile", [2, 3], inits=[("r", i64(*repeats))]), rand(2, 3))


# ---- Pad, Split ---------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["constant", "reflect", "edge"])
def test_pad_modes_with_inputs(mode):
    fill = [("v", np.array(1.5, np.float32))] if mode == "constant" else []
    inits = [("p", i64(0, 1, 2, 1, 0, 1)), *fill]
    check(one("Pad", [2, 3, 4], opset=13, inits=inits, mode=mode), rand(2, 3, 4))


def test_pad_with_attributes_and_with_axes():
    check(one("Pad", [2, 3], opset=2, pads=[1, 0, 0, 2], value=-1.0), rand(2, 3))
    check(one("Pad", [2, 3, 4], opset=18, inits=[("p", i64(1, 2, 3, 0)), ("v", np.array(0.5, np.float32)),
                                                 ("a", i64(2, 0))]), rand(2, 3, 4))


def test_pad_refuses_wrap_and_negative_pads():
    with pytest.raises(UnsupportedError, match="mode 'wrap'"):
        from_onnx(one("Pad", [2, 3], opset=19, inits=[("p", i64(1, 0, 0, 1))], mode="wrap"))
    with pytest.raises(UnsupportedError, match="negative pads"):
        from_onnx(one("Pad", [2, 3], opset=13, inits=[("p", i64(-1, 0, 0, 1))]))


def test_split_by_opset():
    check(one("Split", [6, 4], opset=11, n_out=3, axis=0, split=[1, 2, 3]), rand(6, 4))
    check(one("Split", [6, 4], opset=11, n_out=2, axis=-1), rand(6, 4))
    check(one("Split", [6, 4], opset=13, n_out=2, inits=[("s", i64(5, 1))]), rand(6, 4))
    check(one("Split", [7, 4], opset=18, n_out=3, num_outputs=3), rand(7, 4))


# ---- ConstantOfShape, Range ---------------------------------------------------------------------
def test_constant_of_shape_and_range():
    value = numpy_helper.from_array(np.array([2.5], np.float32))
    m = make([helper.make_node("ConstantOfShape", ["s"], ["c"], value=value),
              helper.make_node("Add", ["x", "c"], ["y"])], [("x", F, [2, 3])], [("y", F, None)],
             inits=[("s", i64(2, 3))])
    check(m, rand(2, 3))
    m = make([helper.make_node("Range", ["a", "b", "d"], ["r"]), helper.make_node("Add", ["x", "r"], ["y"])],
             [("x", F, [4])], [("y", F, None)],
             inits=[("a", np.array(1.0, np.float32)), ("b", np.array(-1.0, np.float32)),
                    ("d", np.array(-0.5, np.float32))])
    check(m, rand(4))


# ---- Shape folding ------------------------------------------------------------------------------
def _view_batch_model(opset):  # noqa: ANN001, ANN202
    """y = reshape(x, concat(unsqueeze(shape(x)[0]), [-1])), as torch writes x.view(x.size(0), -1)."""
    unsq = (helper.make_node("Unsqueeze", ["n"], ["n1"], axes=[0]) if opset < 13
            else helper.make_node("Unsqueeze", ["n", "zero"], ["n1"]))
    nodes = [helper.make_node("Shape", ["x"], ["s"]), helper.make_node("Gather", ["s", "idx"], ["n"], axis=0),
             unsq, helper.make_node("Concat", ["n1", "minus1"], ["t"], axis=0),
             helper.make_node("Reshape", ["x", "t"], ["y"])]
    return make(nodes, [("x", F, ["N", 3, 4])], [("y", F, ["N", 12])], opset,
                inits=[("idx", np.array(0, np.int64)), ("zero", i64(0)), ("minus1", i64(-1))])


@pytest.mark.parametrize("opset", [11, 17])
def test_shape_gather_concat_reshape_folds_with_a_symbolic_batch(opset):
    model = _view_batch_model(opset)
    graph = check(model, rand(2, 3, 4))
    check(model, rand(5, 3, 4))
    assert graph.outputs[0].shape == (sym("N"), 12)
    assert {n.op.name for n in graph.nodes} <= {"reshape", "const"}


def test_static_shape_folds_to_a_constant_and_symbolic_shape_data_is_refused_as_a_tensor():
    nodes = [helper.make_node("Shape", ["x"], ["s"], start=1), helper.make_node("Cast", ["s"], ["f"], to=F),
             helper.make_node("Add", ["f", "b"], ["y"])]
    model = make(nodes, [("x", F, [2, 3, 4])], [("y", F, None)], 15, inits=[("b", np.ones(2, np.float32))])
    check(model, rand(2, 3, 4))
    nodes = [helper.make_node("Shape", ["x"], ["s"]), helper.make_node("Cast", ["s"], ["y"], to=I64)]
    with pytest.raises(UnsupportedError, match="symbolic shape"):
        from_onnx(make(nodes, [("x", F, ["N", 3])], [("y", I64, None)]))


def test_expand_and_constant_of_shape_take_symbolic_folded_shapes():
    nodes = [helper.make_node("Shape", ["x"], ["s"]),
             helper.make_node("ConstantOfShape", ["s"], ["c"], value=numpy_helper.from_array(np.array([2.0],
                                                                                               np.float32))),
             helper.make_node("Expand", ["b", "s"], ["e"]), helper.make_node("Mul", ["c", "e"], ["y"])]
    model = make(nodes, [("x", F, ["N", 3])], [("y", F, None)], inits=[("b", rand(1, 3))])
    graph = check(model, rand(2, 3))
    check(model, rand(6, 3))
    assert graph.outputs[0].shape == (sym("N"), 3)


# ---- activations, pooling, normalisation --------------------------------------------------------
@pytest.mark.parametrize("op,attrs", [("HardSigmoid", {}), ("HardSigmoid", {"alpha": 0.3, "beta": 0.4}),
                                      ("HardSwish", {}), ("Elu", {}), ("Elu", {"alpha": 0.5}), ("Selu", {}),
                                      ("Selu", {"alpha": 1.5, "gamma": 2.0})])
def test_composed_activations(op, attrs):
    check(one(op, [2, 3, 4], **attrs), 3 * rand(2, 3, 4))


@pytest.mark.parametrize("slope", [np.array([0.1, -0.2, 0.3], np.float32).reshape(3, 1),
                                   np.array(0.25, np.float32)])
def test_prelu(slope):
    check(one("PRelu", [2, 3, 4], inits=[("s", slope)]), rand(2, 3, 4))


def test_global_max_pool_and_instance_norm():
    check(one("GlobalMaxPool", [2, 3, 4, 5]), rand(2, 3, 4, 5))
    check(one("GlobalMaxPool", [2, 3, 6]), rand(2, 3, 6))
    inits = [("s", rand(3)), ("b", rand(3))]
    check(one("InstanceNormalization", [2, 3, 4, 5], inits=inits, epsilon=1e-3), rand(2, 3, 4, 5), atol=1e-5)


# ---- reductions and arg reductions -------------------------------------------------------------
@pytest.mark.parametrize("op", ["ReduceMin", "ReduceProd", "ReduceL2", "ReduceSumSquare", "ReduceLogSumExp"])
@pytest.mark.parametrize("opset,keepdims", [(13, 1), (13, 0), (18, 1), (18, 0)])
def test_more_reductions_by_opset(op, opset, keepdims):
    if opset < 18:
        m = one(op, [2, 3, 4], opset=opset, axes=[0, -1], keepdims=keepdims)
    else:
        m = one(op, [2, 3, 4], opset=opset, inits=[("a", i64(0, -1))], keepdims=keepdims)
    check(m, rand(2, 3, 4) + 0.5)
    check(one(op, [2, 3], opset=opset, keepdims=keepdims), rand(2, 3))


@pytest.mark.parametrize("op", ["ArgMax", "ArgMin"])
@pytest.mark.parametrize("attrs", [{}, {"axis": -1, "keepdims": 0}, {"axis": 1, "select_last_index": 1}])
def test_arg_reductions(op, attrs):
    x = RNG.integers(0, 3, (3, 4, 2)).astype(np.float32)  # ties
    m = make([helper.make_node(op, ["x"], ["y"], **attrs)], [("x", F, [3, 4, 2])], [("y", I64, None)])
    check(m, x)


# ---- a torch model with a dynamic batch -----------------------------------------------------------
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_torch_view_with_a_dynamic_batch(tmp_path):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 4, 3)
            self.fc = torch.nn.Linear(4 * 6 * 6, 5)

        def forward(self, x):  # noqa: ANN001, ANN202
            y = torch.nn.functional.hardswish(self.conv(x))
            return self.fc(y.view(y.size(0), -1))

    net = Net().eval()
    path = tmp_path / "view.onnx"
    with torch.no_grad():
        torch.onnx.export(net, (torch.zeros(2, 3, 8, 8),), str(path), input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, opset_version=17, dynamo=False)
    assert "Shape" in {n.op_type for n in onnx.load(str(path)).graph.node}
    graph = from_onnx(path)
    assert graph.inputs[0].shape[0] == sym("batch")
    for n in (1, 4):
        x = rand(n, 3, 8, 8)
        with torch.no_grad():
            want = net(torch.from_numpy(x)).numpy()
        (got,) = run_graph(graph, [x])
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
