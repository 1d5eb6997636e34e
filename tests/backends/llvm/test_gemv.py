"""The few-row product over a packed B (gemv.py), reached through the threaded sgemm with 1 <= M <= 4,
against a float64 numpy product: every row count, column counts around the 8/16-lane edges, K = 0 and K
not a multiple of the phases, bias / relu / accumulate, 1-2 threads, below and above the threading
threshold; C (with a row stride wider than N) sits before an inaccessible page and NaNs mark the gaps,
so a write outside C[:M, :N] shows."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("llvmlite.binding")

from test_gemm import _matrix  # noqa: E402
from test_gemm_mt import _gemm  # noqa: E402

from axiom.backends.llvm.gemm import pack_b  # noqa: E402
from axiom.backends.llvm.gemm_mt import MIN_PARALLEL_GEMV  # noqa: E402
from axiom.backends.llvm.gemv import MAX_ROWS  # noqa: E402


def _check(m: int, n: int, k: int, bias: bool, act: int, accumulate: int, threads: int,
           seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    bv = rng.standard_normal(n).astype(np.float32)
    c0 = rng.standard_normal((m, n)).astype(np.float32)
    ldc = n + 3
    flat, c = _matrix(m, n, ldc, c0 if accumulate else None)
    pb = pack_b(b)  # held in a name: a temporary's memory could be freed before the call
    _gemm(False, True)(m, n, k, a.ctypes.data, k, pb.ctypes.data, n, flat.ctypes.data, ldc,
                       bv.ctypes.data if bias else None, act, accumulate, threads)
    ref = a.astype(np.float64) @ b + (c0 if accumulate else 0) + (bv if bias else 0)
    ref = np.maximum(ref, 0) if act else ref
    tol = 1e-6 * (k + 3) * (np.abs(a).astype(np.float64) @ np.abs(b) + np.abs(bv) + np.abs(c0))
    np.testing.assert_array_less(np.abs(c - ref), tol + 1e-30)
    gaps = flat[:(m - 1) * ldc].reshape(m - 1, ldc)[:, n:] if m > 1 else flat[:0]
    assert np.isnan(gaps).all(), "wrote between rows"


@pytest.mark.parametrize("m", range(1, MAX_ROWS + 2))
@pytest.mark.parametrize("n", [1, 7, 8, 9, 16, 17, 40])
@pytest.mark.parametrize("k", [0, 1, 3, 5, 130])
def test_rows_columns_depths(m: int, n: int, k: int) -> None:
    _check(m, n, k, bias=True, act=1, accumulate=0, threads=1)


@pytest.mark.parametrize("m", range(1, MAX_ROWS + 1))
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_threaded_above_threshold(m: int, threads: int) -> None:
    n = 250  # 16 strips, the last one 10 columns wide
    k = MIN_PARALLEL_GEMV // n + 7
    assert k * n >= MIN_PARALLEL_GEMV
    _check(m, n, k, bias=False, act=0, accumulate=1, threads=threads)


@settings(max_examples=40, deadline=None)
@given(m=st.integers(1, MAX_ROWS), n=st.integers(1, 70), k=st.integers(0, 70), bias=st.booleans(),
       act=st.integers(0, 1), accumulate=st.integers(0, 1), threads=st.integers(1, 2),
       seed=st.integers(0, 2**16))
def test_any_flags(m, n, k, bias, act, accumulate, threads, seed) -> None:  # noqa: ANN001
    _check(m, n, k, bias, act, accumulate, threads, seed)
