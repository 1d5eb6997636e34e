"""The threaded sgemm (gemm_mt.py) and operands packed ahead of time (gemm.pack_a / pack_b) against a
float64 numpy product: every packing combination, 1-3 threads, products below and above the threading
threshold, split by columns (N >= M) and by rows; C is guarded so a write outside C[:M, :N] shows."""

from __future__ import annotations

import ctypes
import functools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("llvmlite.binding")

from test_gemm import _guarded  # noqa: E402

from axiom.backends.llvm.gemm import KC, MR, NR, pack_a, pack_b  # noqa: E402
from axiom.backends.llvm.gemm_mt import MIN_PARALLEL_MACS, declare_sgemm_mt  # noqa: E402
from axiom.backends.llvm.parallel import ensure_pool  # noqa: E402
from axiom.backends.llvm.target import compile_module  # noqa: E402

_I64, _PTR, _I32 = ctypes.c_int64, ctypes.c_void_p, ctypes.c_int32
_SIG = ctypes.CFUNCTYPE(None, _I64, _I64, _I64, _PTR, _I64, _PTR, _I64, _PTR, _I64, _PTR, _I32, _I32, _I64)
_keep: list[object] = []


@functools.cache
def _gemm(a_packed: bool, b_packed: bool):  # noqa: ANN202
    ensure_pool()
    declared: dict[str, str] = {}
    name = declare_sgemm_mt(declared, a_packed, b_packed)
    text = "\n".join(declared.values()).replace(f"define internal void @{name}(", f"define void @{name}(")
    compiled = compile_module(text, name, use_cache=False)
    _keep.append(compiled)
    return _SIG(compiled.address)


def _check(m: int, n: int, k: int, a_packed: bool, b_packed: bool, threads: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32)
    pa = pack_a(a) if a_packed else a
    pb = pack_b(b) if b_packed else b
    c = _guarded(m * n)
    _gemm(a_packed, b_packed)(m, n, k, pa.ctypes.data, k, pb.ctypes.data, n, c.ctypes.data, n,
                               bias.ctypes.data, 1, 0, threads)
    ref = np.maximum(a.astype(np.float64) @ b + bias, 0.0)
    tol = 1e-6 * (k + 2) * (np.abs(a).astype(np.float64) @ np.abs(b) + np.abs(bias))
    assert np.all(np.abs(c.reshape(m, n) - ref) <= tol), np.abs(c.reshape(m, n) - ref).max()


def test_packed_layouts() -> None:
    a = np.arange(2 * 7 * 3, dtype=np.float32).reshape(14, 3)[:7]
    pa = pack_a(a)
    assert pa.shape == (2, 3, MR) and pa.ctypes.data % 64 == 0
    np.testing.assert_array_equal(pa[1, :, 0], a[6])
    assert (pa[1, :, 1:] == 0).all()  # rows past M are zero
    b = np.arange(3 * 20, dtype=np.float32).reshape(3, 20)
    pb = pack_b(b)
    assert pb.shape == (2, 3, NR) and pb.ctypes.data % 64 == 0
    np.testing.assert_array_equal(pb[1, :, :4], b[:, 16:])
    assert (pb[1, :, 4:] == 0).all()


@pytest.mark.parametrize("a_packed", [False, True])
@pytest.mark.parametrize("b_packed", [False, True])
@pytest.mark.parametrize("m, n, k", [(1100, 40, KC + 150), (40, 1100, 400), (270, 270, 270), (5, 7, 3)])
def test_threads_and_packing(a_packed, b_packed, m, n, k) -> None:  # noqa: ANN001
    assert (m * n * k >= MIN_PARALLEL_MACS) == (m > 5)  # split over threads, but for the small one
    for threads in (1, 2, 3):
        _check(m, n, k, a_packed, b_packed, threads)


@settings(max_examples=20, deadline=None)
@given(m=st.integers(1, 40), n=st.integers(1, 40), k=st.integers(1, 40), a_packed=st.booleans(),
       b_packed=st.booleans(), seed=st.integers(0, 2**16))
def test_small_products_any_packing(m, n, k, a_packed, b_packed, seed) -> None:  # noqa: ANN001
    _check(m, n, k, a_packed, b_packed, 2, seed)
