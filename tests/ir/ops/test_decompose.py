"""Each decomposition against its op's reference: the graph is built both ways (one node, or
the op's ``decompose`` into simpler ops), both run through the reference interpreter, and the
results, shapes and (symbolic) types must agree."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import axiom
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


# ---- half precision: the decompositions compute in f32, as the references do -------------------
BF16 = np.dtype(ml_dtypes.bfloat16)
HALF = [np.dtype(np.float16), BF16]


def compiled_both_ways(op: str, arrays: list[np.ndarray], **attrs) -> tuple[Graph, np.ndarray, np.ndarray]:
    """``op`` compiled for the numpy backend as is (its reference) and with ``passes="decompose"``:
    the decomposed IR and both results."""
    g = Graph(op)
    xs = [g.add_input(f"x{i}", TensorType(dtype_from_numpy(a.dtype), a.shape)) for i, a in enumerate(arrays)]
    g.set_outputs([Builder(g).op(op, *xs, **attrs)])
    want = axiom.compile(g, backend="numpy", opt_level=0)(*arrays)
    exe = axiom.compile(g, backend="numpy", passes="decompose")
    assert op not in ops_of(exe.ir)
    return exe.ir, want, exe(*arrays)


def computes_in_f32(g: Graph, dtype: np.dtype) -> None:
    """Every node but the casts at the edges works on f32, none on half precision."""
    half = dtype_from_numpy(dtype)
    for n in g.nodes:
        if n.op.name == "cast":
            continue
        assert all(v.dtype != half for v in n.results), f"{n.op.name} computes in {half}"


def close(got: np.ndarray, want: np.ndarray, ulps: float = 1.0) -> None:
    """Within ``ulps`` units in the last place of the half-precision result (and NaN-free)."""
    assert got.dtype == want.dtype and got.shape == want.shape
    g, w = got.astype(np.float64), want.astype(np.float64)
    assert np.isfinite(w).all() and np.isfinite(g).all()
    info = ml_dtypes.finfo(got.dtype)
    np.testing.assert_allclose(g, w, rtol=ulps * float(info.eps), atol=ulps * float(info.smallest_subnormal))


@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_half_mean_over_a_large_count_is_exact(dtype) -> None:
    # 70000 is inf in f16 (the count) and 70144 in bf16, where sum / count rounded twice gives
    # 1.0546875 for a mean of 1.0625; the sums overflow f16 too.
    rng = np.random.default_rng(0)
    for x in (np.ones(70000, dtype), np.full(70000, 1.0625, dtype),
              (rng.normal(size=(70001,)) * 3 + 100).astype(dtype),
              rng.uniform(-60000, 60000, size=(2, 40000)).astype(dtype)):
        g, want, got = compiled_both_ways("mean", [x], axes=[-1])
        np.testing.assert_array_equal(got, want, strict=True)
        computes_in_f32(g, dtype)
    np.testing.assert_array_equal(compiled_both_ways("mean", [np.ones(70000, dtype)])[2],
                                  np.ones((), dtype), strict=True)


@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_half_global_avg_pool2d_over_a_large_image(dtype) -> None:
    # 90000 cells: the count is inf in f16; in bf16 a mean of 1.203125 came out as 1.1953125.
    noise = np.random.default_rng(1).normal(size=(1, 2, 300, 300))
    for x in (np.full((1, 2, 300, 300), 1.203125, dtype), (noise + 1000).astype(dtype)):
        g, want, got = compiled_both_ways("global_avg_pool2d", [x])
        np.testing.assert_array_equal(got, want, strict=True)
        computes_in_f32(g, dtype)


@pytest.mark.parametrize("dtype", HALF, ids=str)
@pytest.mark.parametrize("shape, axis, loc, spread", [
    ((4, 70000), -1, 1000.0, 1.0),   # a large count and a mean far from zero
    ((3, 5, 8), 1, 3000.0, 500.0),   # squares of the deviations overflow f16
])
def test_half_layer_norm(dtype, shape, axis, loc, spread) -> None:
    rng = np.random.default_rng(2)
    x = (rng.normal(size=shape) * spread + loc).astype(dtype)
    params = [rng.normal(size=shape[axis:]).astype(dtype) for _ in range(2)]
    g, want, got = compiled_both_ways("layer_norm", [x, *params], axis=axis, epsilon=1e-5)
    close(got, want, ulps=2)
    computes_in_f32(g, dtype)


@pytest.mark.parametrize("dtype", HALF, ids=str)
@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_half_softmax_over_a_large_axis(dtype, op) -> None:
    # The sum of the exps (1 or 1/e once the max is subtracted) is inf in f16.
    x = np.zeros((2, 100000), dtype)
    x[:, ::7] = -1
    x[1, 5] = 0.5
    g, want, got = compiled_both_ways(op, [x], axis=-1)
    close(got, want, ulps=2)
    computes_in_f32(g, dtype)


@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_half_batch_norm_with_large_magnitudes(dtype) -> None:
    # x * factor and mean * factor overflow f16 (inf - inf is NaN); the reference subtracts first.
    rng = np.random.default_rng(4)
    x = (rng.normal(size=(2, 3, 4)) * 10 + 30000).astype(dtype)
    mean = np.full(3, 30000, dtype)
    var, scale, bias = np.full(3, 1e-2, dtype), np.ones(3, dtype), np.full(3, 0.5, dtype)
    g, want, got = compiled_both_ways("batch_norm", [x, scale, bias, mean, var], epsilon=1e-5)
    close(got, want, ulps=2)
    computes_in_f32(g, dtype)


@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_half_linear_with_a_bias(dtype) -> None:
    # x @ w.T is 70000 (inf in f16) before the bias brings it back into range.
    x, w = np.full((2, 7), 100, dtype), np.full((3, 7), 100, dtype)
    bias = np.array([-10000, -20000, -65000], dtype)
    g, want, got = compiled_both_ways("linear", [x, w, bias])
    close(got, want)
    computes_in_f32(g, dtype)
    g, want, got = compiled_both_ways("linear", [x[:, :1], w[:, :1]])  # no bias: one rounding anyway
    np.testing.assert_array_equal(got, want, strict=True)
    assert "cast" not in ops_of(g)


@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_half_rsqrt_rounds_once(dtype) -> None:
    # Every positive finite value: sqrt then reciprocal, both rounded to half, differ sometimes.
    bits = np.arange(1, 0x7C00 if dtype == np.float16 else 0x7F80, dtype=np.uint16)
    x = bits.view(dtype)
    g, want, got = compiled_both_ways("rsqrt", [x])
    np.testing.assert_array_equal(got, want, strict=True)
    computes_in_f32(g, dtype)


@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_half_softplus_keeps_small_results(dtype) -> None:
    # log(1 + exp(x)) for x << 0: 1 + exp(x) is 1 in half precision, so the result was 0.
    x = np.linspace(-12, 12, 97).astype(dtype)
    g, want, got = compiled_both_ways("softplus", [x])
    close(got, want, ulps=2)
    computes_in_f32(g, dtype)


def test_f32_decompositions_have_no_casts() -> None:
    x = np.random.default_rng(5).normal(size=(3, 4)).astype(np.float32)
    for op in ("mean", "softmax", "log_softmax", "layer_norm", "rsqrt", "softplus"):
        g, want, got = compiled_both_ways(op, [np.abs(x) if op == "rsqrt" else x])
        assert "cast" not in ops_of(g)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
