"""ONNX indexing ops: import (GatherElements ... TensorScatter, with their opset variants) and export of
the indexing IR ops, both checked against onnxruntime."""

from __future__ import annotations

import itertools

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto as T
from onnx import helper
from onnx_cases import check, make

from axiom.backends.numpy.interpreter import run_graph
from axiom.frontends.onnx import from_onnx
from axiom.frontends.onnx.export import to_onnx
from axiom.frontends.onnx.importer import OnnxUnsupportedError
from axiom.ir import Builder, Graph, TensorType, sym
from axiom.ir.errors import UnsupportedError

F, I64 = T.FLOAT, T.INT64
RNG = np.random.default_rng(0)


def floats(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def i64(values) -> np.ndarray:  # noqa: ANN001
    return np.asarray(values, np.int64)


def node(op: str, ins: list[str], outs: tuple[str, ...] = ("y",), **attrs: object):  # noqa: ANN201
    return helper.make_node(op, ins, list(outs), **attrs)


# ---- gathers and scatters -----------------------------------------------------------------
@pytest.mark.parametrize("opset", [11, 13])
def test_gather_elements_with_negative_indices(opset):
    m = make([node("GatherElements", ["x", "i"], axis=1)], [("x", F, [3, 4]), ("i", I64, [3, 2])],
             [("y", F, [3, 2])], opset=opset)
    check(m, floats(3, 4), i64([[0, -1], [3, 2], [-4, 1]]))


@pytest.mark.parametrize("opset,batch_dims", [(11, 0), (12, 1), (13, 1)])
def test_gather_nd(opset, batch_dims):
    attrs = {"batch_dims": batch_dims} if opset >= 12 else {}
    out = [2, 1, 4] if batch_dims else [2, 1, 3, 4]
    m = make([node("GatherND", ["x", "i"], **attrs)], [("x", F, [2, 3, 4]), ("i", I64, [2, 1, 1])],
             [("y", F, out)], opset=opset)
    check(m, floats(2, 3, 4), i64([[[2]], [[-1]]]) if batch_dims else i64([[[1]], [[0]]]))


SE = "ScatterElements"


@pytest.mark.parametrize("op,opset,reduction", [("Scatter", 10, None), (SE, 11, None), (SE, 16, "add"),
                                                (SE, 16, "mul"), (SE, 18, "max"), (SE, 18, "min")])
def test_scatter_elements(op, opset, reduction):
    attrs = {"axis": 1} | ({"reduction": reduction} if reduction else {})
    m = make([node(op, ["x", "i", "u"], **attrs)], [("x", F, [2, 5]), ("i", I64, [2, 3]), ("u", F, [2, 3])],
             [("y", F, [2, 5])], opset=opset)
    idx = i64([[0, 4, -2], [1, 0, 2]]) if reduction is None else i64([[0, 0, -1], [3, 3, 3]])
    check(m, floats(2, 5), idx, floats(2, 3))


@pytest.mark.parametrize("opset,reduction", [(11, None), (16, "add"), (16, "mul"), (18, "max"), (18, "min")])
def test_scatter_nd(opset, reduction):
    attrs = {"reduction": reduction} if reduction else {}
    ins = [("x", F, [4, 3]), ("i", I64, [2, 1]), ("u", F, [2, 3])]
    m = make([node("ScatterND", ["x", "i", "u"], **attrs)], ins, [("y", F, [4, 3])], opset=opset)
    check(m, floats(4, 3), i64([[2], [-1]]) if reduction is None else i64([[1], [1]]), floats(2, 3))


@pytest.mark.parametrize("mode,shape,update", [("linear", [2, 3, 6, 4], [2, 3, 2, 4]),
                                               ("circular", [2, 3, 6, 4], [2, 3, 3, 4])])
def test_tensor_scatter(mode, shape, update):
    m = make([node("TensorScatter", ["p", "u", "w"], mode=mode)],
             [("p", F, shape), ("u", F, update), ("w", I64, [2])], [("y", F, shape)], opset=24)
    check(m, floats(*shape), floats(*update), i64([4, 1]) if mode == "linear" else i64([5, 2]))


def test_tensor_scatter_without_write_indices_on_axis_1():
    m = make([node("TensorScatter", ["p", "u"], axis=1)], [("p", F, [2, 5, 3]), ("u", F, [2, 2, 3])],
             [("y", F, [2, 5, 3])], opset=24)
    check(m, floats(2, 5, 3), floats(2, 2, 3))


# ---- cumulative ops, TopK, Trilu ----------------------------------------------------------
@pytest.mark.parametrize("op,opset", [("CumSum", 11), ("CumSum", 14), ("CumProd", 26)])
@pytest.mark.parametrize("exclusive,reverse", [(0, 0), (1, 0), (0, 1), (1, 1)])
def test_cumulative(op, opset, exclusive, reverse):
    m = make([node(op, ["x", "axis"], exclusive=exclusive, reverse=reverse)], [("x", F, [3, 4])],
             [("y", F, [3, 4])], opset=opset, inits=[("axis", np.array(-1, np.int32))])
    check(m, floats(3, 4))


def test_cumsum_axis_computed_at_run_time_is_unsupported():
    m = make([node("CumSum", ["x", "a"])], [("x", F, [3]), ("a", I64, [])], [("y", F, [3])], opset=14)
    with pytest.raises(OnnxUnsupportedError, match="input 1 .* must be a constant"):
        from_onnx(m)  # axiom.compile binds such a graph-input axis per call; from_onnx cannot


@pytest.mark.parametrize("opset", [1, 10, 11])
def test_topk_opset_variants_ties_by_lower_index(opset):
    x = np.array([[1, 3, 3, 2, 3], [0, 0, 1, 1, 0]], np.float32)
    outs = (("v", F, [2, 3]), ("i", I64, [2, 3]))
    if opset == 1:
        m = make([node("TopK", ["x"], ("v", "i"), k=3)], [("x", F, [2, 5])], list(outs), opset=opset)
    else:
        attrs = {"largest": 0, "sorted": 1} if opset >= 11 else {}
        m = make([node("TopK", ["x", "k"], ("v", "i"), **attrs)], [("x", F, [2, 5])], list(outs),
                 opset=opset, inits=[("k", i64([3]))])
    check(m, x)


@pytest.mark.parametrize("upper", [0, 1])
@pytest.mark.parametrize("k", [None, -1, 2])
def test_trilu(upper, k):
    inits = [] if k is None else [("k", np.array(k, np.int64))]
    ins = ["x"] if k is None else ["x", "k"]
    m = make([node("Trilu", ins, upper=upper)], [("x", F, [2, 3, 4])], [("y", F, [2, 3, 4])], opset=14,
             inits=inits)
    check(m, floats(2, 3, 4))


# ---- OneHot, Hardmax, EyeLike -------------------------------------------------------------
@pytest.mark.parametrize("axis,out", [(-1, [2, 3, 5]), (1, [2, 5, 3]), (0, [5, 2, 3])])
def test_one_hot_with_negative_and_out_of_range_indices(axis, out):
    m = make([node("OneHot", ["i", "depth", "v"], axis=axis)], [("i", I64, [2, 3]), ("v", F, [2])],
             [("y", F, out)], opset=11, inits=[("depth", np.array(5.0, np.float32))])
    check(m, i64([[0, 4, -1], [-5, 7, -6]]), np.array([-2.0, 3.5], np.float32))


def test_one_hot_float_indices_and_int_values():
    m = make([node("OneHot", ["i", "depth", "v"])], [("i", F, [3]), ("v", I64, [2])], [("y", I64, [3, 4])],
             opset=9, inits=[("depth", i64([4]))])
    check(m, np.array([0.0, 3.0, 2.0], np.float32), i64([0, 1]))


@pytest.mark.parametrize("opset,axis", [(1, None), (11, 0), (11, 2), (13, None), (13, 0), (13, 1)])
def test_hardmax_both_axis_semantics(opset, axis):
    attrs = {} if axis is None else {"axis": axis}
    x = np.round(floats(2, 3, 4))  # ties: the first maximum wins
    m = make([node("Hardmax", ["x"], **attrs)], [("x", F, [2, 3, 4])], [("y", F, [2, 3, 4])], opset=opset)
    check(m, x)


@pytest.mark.parametrize("dtype,k", [(None, 0), (T.FLOAT, 1), (T.INT32, -2)])
def test_eye_like(dtype, k):
    attrs = {"k": k} | ({"dtype": dtype} if dtype is not None else {})
    out = dtype if dtype is not None else I64
    m = make([node("EyeLike", ["x"], **attrs)], [("x", I64, [3, 4])], [("y", out, [3, 4])], opset=9)
    check(m, i64(np.zeros((3, 4))))


# ---- ReverseSequence, Compress, NonZero ---------------------------------------------------
@pytest.mark.parametrize("time_axis,batch_axis", [(0, 1), (1, 0)])
def test_reverse_sequence(time_axis, batch_axis):
    shape = [4, 3, 2] if time_axis == 0 else [3, 4, 2]
    m = make([node("ReverseSequence", ["x", "l"], time_axis=time_axis, batch_axis=batch_axis)],
             [("x", F, shape), ("l", I64, [3])], [("y", F, shape)], opset=10)
    check(m, floats(*shape), i64([4, 1, 2]))


@pytest.mark.parametrize("axis,cond,out", [(None, [0, 1, 1, 0, 1], [3]), (0, [1, 0, 1], [2, 2]),
                                           (-1, [0, 1], [3, 1]), (1, [0, 0], [3, 0])])
def test_compress_with_constant_condition(axis, cond, out):
    attrs = {} if axis is None else {"axis": axis}
    m = make([node("Compress", ["x", "c"], **attrs)], [("x", F, [3, 2])], [("y", F, out)], opset=11,
             inits=[("c", np.array(cond, bool))])
    check(m, floats(3, 2))


def test_nonzero_of_a_constant_folds():
    data = np.array([[1, 0, 2], [0, 3, 0]], np.float32)
    m = make([node("NonZero", ["c"], ("n",)), node("Cast", ["n"], ("z",), to=F), node("Add", ["z", "x"])],
             [("x", F, [2, 3])], [("y", F, [2, 3])], opset=13, inits=[("c", data)])
    check(m, floats(2, 3))


# ---- export -------------------------------------------------------------------------------
def export_matches(build, *arrays: np.ndarray, opset: int = 18) -> None:  # noqa: ANN001
    """A graph of the given inputs built by ``build(b, *values)``, exported and run in onnxruntime."""
    g = Graph("g")
    xs = [g.add_input(f"x{i}", TensorType(str(a.dtype).replace("float", "f").replace("int", "i"), a.shape))
          for i, a in enumerate(arrays)]
    out = build(Builder(g), *xs)
    g.set_outputs(list(out) if isinstance(out, tuple) else [out])
    model = to_onnx(g, opset=opset)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    got = sess.run(None, {f"x{i}": a for i, a in enumerate(arrays)})
    for w, r in zip(run_graph(g, list(arrays)), got, strict=True):
        assert w.dtype == r.dtype and w.shape == r.shape
        np.testing.assert_allclose(r, w, rtol=1e-5, atol=1e-6)


def test_export_gathers_and_scatters():
    x, idx = floats(3, 4), i64([[0, -1], [2, 1], [3, 3]])
    export_matches(lambda b, a, i: b.op("gather_elements", a, i, axis=1), x, idx)
    for r in ("none", "add", "mul", "max", "min"):
        export_matches(lambda b, a, i, u, r=r: b.op("scatter_elements", a, i, u, axis=1, reduction=r),
                       x, idx if r != "none" else i64([[0, 3], [2, 1], [1, 0]]), floats(3, 2))
        export_matches(lambda b, a, i, u, r=r: b.op("scatter_nd", a, i, u, reduction=r), x,
                       i64([[2], [0]]), floats(2, 4))
    export_matches(lambda b, a, i: b.op("gather_nd", a, i, batch_dims=1), x, i64([[1], [3], [-1]]))


@pytest.mark.parametrize("op", ["cumsum", "cumprod"])
@pytest.mark.parametrize("opset", [18, 26])
def test_export_cumulative(op, opset):
    for axis, exclusive, reverse in itertools.product((0, 1, -1), (False, True), (False, True)):
        attrs = {"axis": axis, "exclusive": exclusive, "reverse": reverse}
        export_matches(lambda b, a, attrs=attrs: b.op(op, a, **attrs), floats(3, 4, 2), opset=opset)


def test_export_cumprod_on_a_symbolic_axis_needs_opset_26():
    g = Graph("g")
    x = g.add_input("x", TensorType("f32", [sym("N")]))
    g.set_outputs([Builder(g).op("cumprod", x)])
    with pytest.raises(UnsupportedError, match="needs opset >= 26"):
        to_onnx(g)


def test_export_topk_and_trilu():
    x = np.array([[1, 3, 3, 2, 3], [0, 0, 1, 1, 0]], np.float32)
    for largest in (True, False):
        export_matches(lambda b, a, largest=largest: b.op("topk", a, k=3, axis=1, largest=largest), x)
    for upper in (True, False):
        export_matches(lambda b, a, upper=upper: b.op("trilu", a, upper=upper, k=-1), floats(2, 3, 4))
