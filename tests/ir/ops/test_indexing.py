"""Indexing ops (gather/scatter elements and N-d, cumsum/cumprod, topk, trilu) against PyTorch and onnx's
reference evaluator, with hypothesis shapes; their symbolic type rules, and the reference's clear error
for an index out of range."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from onnx import helper
from onnx.reference import ReferenceEvaluator
from op_harness import infer, infer_all, run_op, run_op_all

from axiom.backends.numpy import EvaluationError
from axiom.frontends.dsl import Tensor, model, ops
from axiom.ir import ShapeError, TensorType, f32, i64, sym

N, M = sym("N"), sym("M")
FAST = settings(max_examples=30, deadline=None)
SHAPES = hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=5)


def rand(shape, seed=0, dtype=np.float32):  # noqa: ANN001, ANN201
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def onnx_ref(op_type: str, arrays: list[np.ndarray], outputs: int = 1, **attrs: object) -> list[np.ndarray]:
    """One ONNX node (opset 18) run by onnx's reference evaluator."""
    names = [f"x{i}" for i in range(len(arrays))]
    node = helper.make_node(op_type, names, [f"y{i}" for i in range(outputs)], **attrs)
    ins = [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
           for n, a in zip(names, arrays, strict=True)]
    outs = [helper.make_tensor_value_info(f"y{i}", 0, None) for i in range(outputs)]
    model = helper.make_model(helper.make_graph([node], "g", ins, outs),
                              opset_imports=[helper.make_opsetid("", 18)])
    return ReferenceEvaluator(model).run(None, dict(zip(names, arrays, strict=True)))


def indices_for(data, shape, axis, dim, negative=True):  # noqa: ANN001, ANN201
    """Random i64 indices of ``shape`` valid for an axis of size ``dim`` (negative ones too)."""
    lo = -dim if negative else 0
    return np.asarray(data.draw(hnp.arrays(np.int64, shape, elements=st.integers(lo, dim - 1))))


# ---- gather_elements / scatter_elements ---------------------------------------------------
@FAST
@given(shape=SHAPES, data=st.data())
def test_gather_elements_matches_torch(shape, data):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    ishape = tuple(data.draw(st.integers(1, d)) if i != axis % len(shape) else data.draw(st.integers(1, 5))
                   for i, d in enumerate(shape))
    x = rand(shape)
    idx = indices_for(data, ishape, axis, shape[axis])
    want = torch.gather(torch.from_numpy(x), axis, torch.from_numpy(idx % shape[axis])).numpy()
    np.testing.assert_array_equal(run_op("gather_elements", [x, idx], axis=axis), want)


@FAST
@given(shape=SHAPES, data=st.data(), reduction=st.sampled_from(["none", "add", "mul", "max", "min"]))
def test_scatter_elements_matches_torch(shape, data, reduction):
    axis = data.draw(st.integers(0, len(shape) - 1))
    x = rand(shape)
    # torch.scatter with duplicates is unordered, so "none" gets a permutation of the axis
    if reduction == "none":
        idx = np.argsort(rand(shape, 1), axis=axis).astype(np.int64)
    else:
        idx = indices_for(data, shape, axis, shape[axis], negative=False)
    upd = rand(shape, 2)
    t = {"none": None, "add": "sum", "mul": "prod", "max": "amax", "min": "amin"}[reduction]
    tx, ti, tu = (torch.from_numpy(a) for a in (x, idx, upd))
    want = tx.scatter(axis, ti, tu) if t is None else tx.scatter_reduce(axis, ti, tu, reduce=t)
    got = run_op("scatter_elements", [x, idx - shape[axis] * (idx % 2), upd], axis=axis, reduction=reduction)
    np.testing.assert_allclose(got, want.numpy(), rtol=1e-6)


def test_scatter_elements_half_float_combines_at_f32():
    x = np.full((1, 3), 2048, np.float16)
    idx, upd = np.zeros((1, 4), np.int64), np.ones((1, 4), np.float16)
    got = run_op("scatter_elements", [x, idx, upd], axis=1, reduction="add")
    assert got.dtype == np.float16 and got[0, 0] == 2052  # in f16 each 2048 + 1 would round back to 2048


def test_gather_elements_out_of_range_is_an_error():
    x, idx = rand((2, 3)), np.array([[0, 3]], np.int64)
    with pytest.raises(EvaluationError, match=r"gather_elements.*index 3 is out of range for axis 1 of size"):
        run_op("gather_elements", [x, idx], axis=1)
    with pytest.raises(EvaluationError, match="index -4 is out of range"):
        run_op("scatter_elements", [x, np.array([[-4]], np.int64), rand((1, 1))], axis=1)


def test_gather_scatter_elements_type_rules():
    assert infer("gather_elements", TensorType("f32", [N, 5]), TensorType("i64", [N, 7]), axis=1) == \
        TensorType("f32", [N, 7])
    with pytest.raises(ShapeError, match="indices must be i32 or i64"):
        infer("gather_elements", TensorType("f32", [3]), TensorType("f32", [3]))
    with pytest.raises(ShapeError, match="one rank"):
        infer("gather_elements", TensorType("f32", [3, 2]), TensorType("i64", [3]))
    with pytest.raises(ShapeError, match="not provably <="):
        infer("gather_elements", TensorType("f32", [N, 5]), TensorType("i64", [M, 2]), axis=1)
    with pytest.raises(ShapeError, match="same shape"):
        infer("scatter_elements", TensorType("f32", [4]), TensorType("i64", [2]), TensorType("f32", [3]))
    with pytest.raises(ShapeError, match="unknown reduction"):
        infer("scatter_elements", TensorType("f32", [4]), TensorType("i64", [2]), TensorType("f32", [2]),
              reduction="sum")
    with pytest.raises(ShapeError, match="float/int/uint"):
        infer("scatter_elements", TensorType("bool", [4]), TensorType("i64", [2]), TensorType("bool", [2]),
              reduction="add")


# ---- gather_nd / scatter_nd ---------------------------------------------------------------
@FAST
@given(shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4), data=st.data())
def test_gather_nd_matches_onnx_reference(shape, data):
    b = data.draw(st.integers(0, len(shape) - 1))
    m = data.draw(st.integers(1, len(shape) - b))
    middle = tuple(data.draw(st.lists(st.integers(1, 3), max_size=2)))
    columns = [indices_for(data, shape[:b] + middle + (1,), 0, shape[b + j]) for j in range(m)]
    idx = np.concatenate(columns, axis=-1)
    x = rand(shape)
    (want,) = onnx_ref("GatherND", [x, idx], batch_dims=b)
    np.testing.assert_array_equal(run_op("gather_nd", [x, idx], batch_dims=b), want)


@FAST
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4), data=st.data(),
       reduction=st.sampled_from(["none", "add", "mul", "max", "min"]))
def test_scatter_nd_matches_onnx_reference(shape, data, reduction):
    m = data.draw(st.integers(1, len(shape)))
    cells = data.draw(st.lists(st.tuples(*[st.integers(-d, d - 1) for d in shape[:m]]), min_size=1,
                               max_size=3))
    if reduction == "none":  # duplicate targets are undefined without a reduction: keep the first
        seen = {}
        for c in cells:
            seen.setdefault(tuple(v % d for v, d in zip(c, shape, strict=False)), c)
        cells = list(seen.values())
    count = len(cells)
    idx = np.asarray(cells, np.int64).reshape(count, m)
    x, upd = rand(shape), rand((count,) + shape[m:], 1)
    (want,) = onnx_ref("ScatterND", [x, idx % np.asarray(shape[:m]), upd], reduction=reduction)
    np.testing.assert_allclose(run_op("scatter_nd", [x, idx, upd], reduction=reduction), want, rtol=1e-6)


def test_gather_scatter_nd_type_rules_and_errors():
    assert infer("gather_nd", TensorType("f32", [N, 4, 5]), TensorType("i64", [N, 7, 1]), batch_dims=1) == \
        TensorType("f32", [N, 7, 5])
    assert infer("scatter_nd", TensorType("f32", [N, 4]), TensorType("i64", [3, 2]), TensorType("f32", [3])) \
        == TensorType("f32", [N, 4])
    with pytest.raises(ShapeError, match="must be a static int"):
        infer("gather_nd", TensorType("f32", [4]), TensorType("i64", [2, 2]))
    with pytest.raises(ShapeError, match="batch"):
        infer("gather_nd", TensorType("f32", [N, 4]), TensorType("i64", [M, 1]), batch_dims=1)
    with pytest.raises(ShapeError, match="updates must have shape"):
        infer("scatter_nd", TensorType("f32", [4, 5]), TensorType("i64", [3, 1]), TensorType("f32", [3, 4]))
    with pytest.raises(EvaluationError, match="gather_nd: index 2 is out of range for axis 1 of size 2"):
        run_op("gather_nd", [rand((2, 2)), np.array([[0, 2]], np.int64)])


# ---- cumsum / cumprod ---------------------------------------------------------------------
@FAST
@given(shape=SHAPES, data=st.data(), op=st.sampled_from(["cumsum", "cumprod"]), exclusive=st.booleans(),
       reverse=st.booleans(), dtype=st.sampled_from([np.float32, np.float64, np.int32, np.int64]))
def test_cumulative_ops_match_torch(shape, data, op, exclusive, reverse, dtype):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = (rand(shape) * 3).astype(dtype)
    t = torch.from_numpy(x)
    t = t.flip(axis) if reverse else t
    fn, ident = (torch.cumsum, 0) if op == "cumsum" else (torch.cumprod, 1)
    want = fn(t, axis)
    if exclusive:
        head = torch.full_like(want.narrow(axis, 0, 1), ident)
        want = torch.cat([head, want.narrow(axis, 0, t.shape[axis] - 1)], dim=axis)
    want = (want.flip(axis) if reverse else want).numpy().astype(dtype)
    got = run_op(op, [x], axis=axis, exclusive=exclusive, reverse=reverse)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_cumulative_type_rules():
    assert infer("cumsum", TensorType("f16", [N, 3]), axis=-1) == TensorType("f16", [N, 3])
    with pytest.raises(ShapeError, match="float/int/uint"):
        infer("cumprod", TensorType("bool", [3]))
    with pytest.raises(ShapeError, match="axis 2 is out of range"):
        infer("cumsum", TensorType("f32", [3, 2]), axis=2)


# ---- topk ---------------------------------------------------------------------------------
@FAST
@given(shape=SHAPES, data=st.data(), largest=st.booleans())
def test_topk_matches_a_stable_torch_sort(shape, data, largest):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    k = data.draw(st.integers(0, shape[axis]))
    x = np.random.default_rng(3).integers(0, 3, shape).astype(np.float32)  # many ties
    vals, idx = torch.sort(torch.from_numpy(x), dim=axis, descending=largest, stable=True)
    got_v, got_i = run_op_all("topk", [x], k=k, axis=axis, largest=largest)
    np.testing.assert_array_equal(got_v, vals.narrow(axis, 0, k).numpy())
    np.testing.assert_array_equal(got_i, idx.narrow(axis, 0, k).numpy())


def test_topk_ties_take_the_lower_index_as_onnx():
    x = np.array([[1, 3, 3, 2, 3]], np.int64)
    vals, idx = run_op_all("topk", [x], k=3, axis=1)
    want_v, want_i = onnx_ref("TopK", [x, np.array([3], np.int64)], outputs=2, axis=1)
    np.testing.assert_array_equal(vals, want_v)
    np.testing.assert_array_equal(idx, want_i)
    assert idx.tolist() == [[1, 2, 4]]


def test_topk_type_rule():
    assert infer_all("topk", TensorType("f32", [N, 5]), k=2) == [TensorType("f32", [N, 2]),
                                                               TensorType("i64", [N, 2])]
    with pytest.raises(ShapeError, match="k = 3 must be in"):
        infer("topk", TensorType("f32", [N]), k=3)
    with pytest.raises(ShapeError, match="k = 6 must be in"):
        infer("topk", TensorType("f32", [5]), k=6)


# ---- trilu --------------------------------------------------------------------------------
@FAST
@given(shape=hnp.array_shapes(min_dims=2, max_dims=4, min_side=0, max_side=5), k=st.integers(-6, 6),
       upper=st.booleans())
def test_trilu_matches_torch(shape, k, upper):
    x = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape) + 1
    want = (torch.triu if upper else torch.tril)(torch.from_numpy(x), k).numpy()
    np.testing.assert_array_equal(run_op("trilu", [x], upper=upper, k=k), want)


def test_trilu_type_rule_is_symbolic():
    assert infer("trilu", TensorType("f32", [N, M]), k=-1) == TensorType("f32", [N, M])
    with pytest.raises(ShapeError, match="rank >= 2"):
        infer("trilu", TensorType("f32", [N]))


def test_dsl_wrappers_on_a_symbolic_batch():
    @model
    def m(x: Tensor[f32, "N", 4], i: Tensor[i64, "N", 2]):  # noqa: F821, UP037
        vals, idx = ops.topk(x, 2, axis=1)
        picked = ops.gather_elements(x, i, axis=1)
        return (vals, idx, ops.cumsum(x, axis=1, reverse=True), ops.trilu(x, upper=False), picked,
                ops.scatter_elements(x, i, picked, axis=1, reduction="add"),
                ops.gather_nd(x, ops.slice(i, [0], [1], axes=[1]), batch_dims=1),
                ops.cumprod(x, axis=0), ops.scatter_nd(x, i, ops.gather_nd(x, i)))

    x = rand((3, 4))
    i = np.array([[0, 3], [1, 1], [2, 0]], np.int64)
    vals, idx, cs, tri, ge, se, gn, cp, sn = m(x, i)
    want_v, want_i = torch.topk(torch.from_numpy(x), 2, dim=1)
    np.testing.assert_array_equal(vals, want_v.numpy())
    np.testing.assert_array_equal(idx, want_i.numpy())
    np.testing.assert_allclose(cs, np.flip(np.cumsum(np.flip(x, 1), 1), 1), rtol=1e-6)
    np.testing.assert_array_equal(tri, np.tril(x))
    np.testing.assert_array_equal(ge, np.take_along_axis(x, i, 1))
    want_se = x.copy()
    np.add.at(want_se, (np.arange(3)[:, None], i), np.take_along_axis(x, i, 1))
    np.testing.assert_allclose(se, want_se, rtol=1e-6)
    np.testing.assert_array_equal(gn, x[np.arange(3), i[:, 0]])
    assert sn.shape == (3, 4)
    np.testing.assert_allclose(cp, np.cumprod(x, 0), rtol=1e-6)
