"""matmul and linear: numpy/PyTorch semantics on random shapes, and symbolic type rules."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from op_harness import infer, run_op

from axiom.ir import Builder, Graph, ShapeError, TensorType, sym

N, K, B = sym("N"), sym("K"), sym("B")
TOL = {np.float16: 1e-2, np.float32: 1e-5, np.float64: 1e-12}






@st.composite
def matmul_shapes(draw):  # noqa: ANN001, ANN201
    """Two shapes numpy can multiply: 1-D operands, and batch dims that broadcast."""
    m, k, n = draw(st.integers(1, 5)), draw(st.integers(1, 5)), draw(st.integers(1, 5))
    batch = draw(st.lists(st.integers(1, 3), max_size=3))
    a_batch = [d if draw(st.booleans()) else 1 for d in batch][draw(st.integers(0, len(batch))):]
    b_batch = [d if draw(st.booleans()) else 1 for d in batch][draw(st.integers(0, len(batch))):]
    a = [k] if draw(st.integers(0, 4)) == 0 else [*a_batch, m, k]
    b = [k] if draw(st.integers(0, 4)) == 0 else [*b_batch, k, n]
    return a, b


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@settings(max_examples=40, deadline=None)
@given(shapes=matmul_shapes(), seed=st.integers(0, 2**31 - 1))
def test_matmul_matches_torch(dtype, shapes, seed) -> None:  # noqa: ANN001
    rng = np.random.default_rng(seed)
    a, b = (rng.normal(size=s).astype(dtype) for s in shapes)
    got = run_op("matmul", [a, b])
    want = torch.matmul(torch.from_numpy(a), torch.from_numpy(b)).numpy()
    np.testing.assert_allclose(got, want, rtol=TOL[dtype], atol=TOL[dtype])


def test_matmul_f16_computes_in_f32() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(4, 64)).astype(np.float16), rng.normal(size=(64, 3)).astype(np.float16)
    got = run_op("matmul", [a, b])
    want = (torch.from_numpy(a).float() @ torch.from_numpy(b).float()).half().numpy()
    assert got.dtype == np.float16
    np.testing.assert_allclose(got.astype(np.float32), want.astype(np.float32), rtol=1e-2, atol=1e-2)


def test_matmul_of_ints_matches_numpy() -> None:
    rng = np.random.default_rng(2)
    a, b = rng.integers(-5, 5, (2, 3, 4)).astype(np.int64), rng.integers(-5, 5, (4, 2)).astype(np.int64)
    np.testing.assert_array_equal(run_op("matmul", [a, b]), a @ b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@settings(max_examples=30, deadline=None)
@given(lead=st.lists(st.integers(1, 4), max_size=3), fin=st.integers(1, 6), fout=st.integers(1, 6),
       bias=st.booleans(), seed=st.integers(0, 2**31 - 1))
def test_linear_matches_torch(dtype, lead, fin, fout, bias, seed) -> None:  # noqa: ANN001
    rng = np.random.default_rng(seed)
    arrays = [rng.normal(size=(*lead, fin)), rng.normal(size=(fout, fin))]
    if bias:
        arrays.append(rng.normal(size=(fout,)))
    arrays = [a.astype(dtype) for a in arrays]
    got = run_op("linear", arrays)
    want = F.linear(*(torch.from_numpy(a) for a in arrays)).numpy()
    np.testing.assert_allclose(got, want, rtol=TOL[dtype], atol=TOL[dtype])


def test_linear_f16() -> None:
    rng = np.random.default_rng(3)
    x, w, b = (rng.normal(size=s).astype(np.float16) for s in [(5, 32), (7, 32), (7,)])
    got = run_op("linear", [x, w, b])
    want = F.linear(*(torch.from_numpy(a).float() for a in (x, w, b))).half().numpy()
    np.testing.assert_allclose(got.astype(np.float32), want.astype(np.float32), rtol=1e-2, atol=1e-2)


# ---- type rules --------------------------------------------------------------------------
@pytest.mark.parametrize("a,b,want", [
    ((N, 784), (784, 256), "f32[N, 256]"),
    ((B, 1, N, K), (3, K, 5), "f32[B, 3, N, 5]"),
    ((K,), (K,), "f32[]"),
    ((K,), (B, K, 4), "f32[B, 4]"),
    ((N, K), (K,), "f32[N]"),
    ((2, N, K), (1, K, K), "f32[2, N, K]"),
])
def test_matmul_symbolic_shapes(a, b, want) -> None:  # noqa: ANN001
    assert str(infer("matmul", TensorType("f32", a), TensorType("f32", b))) == want


@pytest.mark.parametrize("a,b,match", [
    ((N, 3), (4, 5), "inner dims 3 and 4 differ"),
    ((N, K), (4, 5), "cannot be proved equal"),
    ((2, N, 3), (4, 3, 5), "batch dims"),
    ((), (3,), "rank >= 1"),
])
def test_matmul_shape_errors_name_both_shapes(a, b, match) -> None:  # noqa: ANN001
    ta, tb = TensorType("f32", a), TensorType("f32", b)
    with pytest.raises(ShapeError, match=match) as info:
        infer("matmul", ta, tb)
    assert str(ta) in str(info.value) and str(tb) in str(info.value)


def test_matmul_needs_one_dtype() -> None:
    with pytest.raises(ShapeError, match="cast"):
        infer("matmul", TensorType("f32", (2, 3)), TensorType("f64", (3, 2)))


def test_linear_symbolic_shapes_and_errors() -> None:
    x, w, bias = TensorType("f32", (N, 7, K)), TensorType("f32", (16, K)), TensorType("f32", (16,))
    assert str(infer("linear", x, w, bias)) == "f32[N, 7, 16]"
    assert str(infer("linear", TensorType("f32", (K,)), w)) == "f32[16]"
    with pytest.raises(ShapeError, match="in_features") as info:
        infer("linear", TensorType("f32", (N, 8)), w)
    assert "f32[N, 8]" in str(info.value) and "f32[16, K]" in str(info.value)
    with pytest.raises(ShapeError, match="bias"):
        infer("linear", x, w, TensorType("f32", (15,)))
    with pytest.raises(ShapeError, match=r"\[out, in\]"):
        infer("linear", x, TensorType("f32", (K,)))


def test_node_error_carries_operand_types() -> None:
    g = Graph("t")
    a = g.add_input("a", TensorType("f32", (N, 3)))
    b = g.add_input("b", TensorType("f32", (4, 2)))
    with pytest.raises(ShapeError, match=r"operand types: \(f32\[N, 3\], f32\[4, 2\]\)"):
        Builder(g).op("matmul", a, b)
