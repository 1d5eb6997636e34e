"""Each decomposition against its op's reference: the graph is built both ways (one node, or
the op's ``decompose`` into simpler ops), both run through the reference interpreter, and the
results, shapes and (symbolic) types must agree."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from axiom.backends.numpy.interpreter import run_graph
from axiom.ir import Builder, Graph, TensorType, get_op, sym
from axiom.ir.dtypes import dtype_from_numpy

N = sym("N")
TOL = {np.float32: 1e-4, np.float64: 1e-10}


def both_ways(op: str, arrays: list[np.ndarray], symbolic: set[tuple[int, int]] = frozenset(),
              **attrs) -> tuple[Graph, list[np.ndarray], list[np.ndarray]]:
    """Run ``op`` as one node and as its decomposition; dims listed in ``symbolic`` as
    (input, axis) are typed with the symbol N. Returns the decomposed graph and both results."""
    opdef = get_op(op)
    graphs = []
    for decomposed in (False, True):
        g = Graph(op)
        xs = []
        for i, a in enumerate(arrays):
            shape = [N if (i, ax) in symbolic else d for ax, d in enumerate(a.shape)]
            xs.append(g.add_input(f"x{i}", TensorType(dtype_from_numpy(a.dtype), shape)))
        b = Builder(g)
        if decomposed:
            outs = list(opdef.decompose(b, xs, opdef.make_attrs(attrs)))
        else:
            outs = [b.op(op, *xs, **attrs)]
        g.set_outputs(outs)
        graphs.append(g)
    whole, parts = graphs
    assert [str(v.type) for v in parts.outputs] == [str(v.type) for v in whole.outputs]
    assert all(n.op.name != op for n in parts.nodes)
    return parts, run_graph(whole, arrays), run_graph(parts, arrays)


def agree(want: list[np.ndarray], got: list[np.ndarray], dtype) -> None:  # noqa: ANN001
    for w, g in zip(want, got, strict=True):
        assert w.shape == g.shape and w.dtype == g.dtype
        np.testing.assert_allclose(g, w, rtol=TOL[dtype], atol=TOL[dtype])


def ops_of(g: Graph) -> set[str]:
    return {n.op.name for n in g.nodes} - {"const"}


DTYPES = [np.float32, np.float64]
shapes = st.lists(st.integers(1, 4), min_size=1, max_size=4)
seeds = st.integers(0, 2**31 - 1)


@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=25, deadline=None)
@given(shape=shapes, data=st.data(), seed=seeds)
def test_mean_is_sum_over_count(dtype, shape, data, seed) -> None:  # noqa: ANN001
    rank = len(shape)
    axes = data.draw(st.none() | st.lists(st.integers(-rank, rank - 1), unique_by=lambda a: a % rank))
    keepdims, symbolic = data.draw(st.booleans()), data.draw(st.booleans())
    x = np.random.default_rng(seed).normal(size=shape).astype(dtype)
    g, want, got = both_ways("mean", [x], {(0, 0)} if symbolic else set(), axes=axes, keepdims=keepdims)
    agree(want, got, dtype)
    assert ops_of(g) <= {"sum", "div", "pow"}


def test_mean_over_a_symbolic_dim_counts_nan_and_inf_rows() -> None:
    x = np.array([[np.inf, 1.0], [np.nan, 2.0], [3.0, -np.inf]], np.float32)
    g, want, got = both_ways("mean", [x], {(0, 0)}, axes=[0])
    np.testing.assert_array_equal(got[0], want[0])
    assert "pow" in ops_of(g)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
@settings(max_examples=20, deadline=None)
@given(shape=shapes, data=st.data(), seed=seeds, scale=st.sampled_from([1.0, 1e3]))
def test_softmax_decompositions(dtype, op, shape, data, seed, scale) -> None:  # noqa: ANN001
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = (np.random.default_rng(seed).normal(size=shape) * scale).astype(dtype)
    g, want, got = both_ways(op, [x], {(0, 0)}, axis=axis)
    agree(want, got, dtype)
    assert np.all(np.isfinite(got[0]))  # stable: the max is subtracted before exp
    assert ops_of(g) <= {"max", "sub", "exp", "sum", "div", "log"}


@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=20, deadline=None)
@given(shape=shapes, data=st.data(), seed=seeds)
def test_layer_norm_decomposition(dtype, shape, data, seed) -> None:  # noqa: ANN001
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    rng = np.random.default_rng(seed)
    x = (rng.normal(size=shape) * 5 + 2).astype(dtype)
    params = [rng.normal(size=shape[axis:]).astype(dtype) for _ in range(data.draw(st.integers(0, 2)))]
    g, want, got = both_ways("layer_norm", [x, *params], axis=axis, epsilon=1e-3)
    agree(want, got, dtype)
    assert "layer_norm" not in ops_of(g)


@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=20, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=2, max_size=4), symbolic=st.booleans(), seed=seeds)
def test_batch_norm_decomposition(dtype, shape, symbolic, seed) -> None:  # noqa: ANN001
    rng = np.random.default_rng(seed)
    c = shape[1]
    x = rng.normal(size=shape).astype(dtype)
    scale, bias, mean = (rng.normal(size=c).astype(dtype) for _ in range(3))
    var = rng.uniform(0.1, 2.0, c).astype(dtype)
    g, want, got = both_ways("batch_norm", [x, scale, bias, mean, var], {(0, 0)} if symbolic else set(),
                             epsilon=1e-3)
    agree(want, got, dtype)
    assert ops_of(g) <= {"add", "sub", "mul", "rsqrt", "reshape"}


@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=20, deadline=None)
@given(lead=st.lists(st.integers(1, 3), max_size=3), fin=st.integers(1, 5), fout=st.integers(1, 5),
       bias=st.booleans(), seed=seeds)
def test_linear_is_matmul_transpose_add(dtype, lead, fin, fout, bias, seed) -> None:  # noqa: ANN001
    rng = np.random.default_rng(seed)
    arrays = [rng.normal(size=(*lead, fin)).astype(dtype), rng.normal(size=(fout, fin)).astype(dtype)]
    if bias:
        arrays.append(rng.normal(size=fout).astype(dtype))
    symbolic = {(0, 0)} if lead else set()
    g, want, got = both_ways("linear", arrays, symbolic)
    agree(want, got, dtype)
    assert ops_of(g) == ({"transpose", "matmul", "add"} if bias else {"transpose", "matmul"})


@pytest.mark.parametrize("dtype", DTYPES)
def test_global_avg_pool2d_is_a_mean(dtype) -> None:  # noqa: ANN001
    x = np.random.default_rng(1).normal(size=(2, 3, 5, 4)).astype(dtype)
    g, want, got = both_ways("global_avg_pool2d", [x], {(0, 0)})
    agree(want, got, dtype)
    assert ops_of(g) == {"mean"}


def test_dropout_decomposes_to_its_input() -> None:
    x = np.random.default_rng(2).normal(size=(3, 4)).astype(np.float32)
    g, want, got = both_ways("dropout", [x], rate=0.2)
    assert g.nodes == [] and g.outputs[0] is g.inputs[0]
    agree(want, got, np.float32)
