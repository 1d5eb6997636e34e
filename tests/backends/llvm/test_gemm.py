"""The sgemm kernel of the LLVM backend against a float64 numpy product: any M, N, K (1, primes, not
multiples of the vector width, across block sizes), padded leading dimensions, bias, relu and
accumulate; A, B, C and bias end right before a PROT_NONE page and padding holds NaN sentinels, so an
out-of-bounds read crashes or poisons the result and an out-of-bounds write shows in the sentinels."""

from __future__ import annotations

import ctypes
import functools
import mmap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

llvm = pytest.importorskip("llvmlite.binding")

from axiom.backends.llvm.gemm import KC, MC, NC, gemm_ir  # noqa: E402
from axiom.backends.llvm.target import compile_module  # noqa: E402

PAGE = mmap.PAGESIZE
_I64, _PTR = ctypes.c_int64, ctypes.c_void_p
_I32 = ctypes.c_int32
_SIG = ctypes.CFUNCTYPE(None, _I64, _I64, _I64, _PTR, _I64, _PTR, _I64, _PTR, _I64, _PTR, _I32, _I32)
_keep: list[object] = []  # guarded buffers must outlive the arrays viewing them


@functools.cache
def _sgemm():
    """The kernel compiled as the backend compiles modules: O3 for the host CPU, verified before and after."""
    compiled = compile_module(gemm_ir(), "axiom_sgemm", use_cache=False)
    _keep.append(compiled)
    return _SIG(compiled.address)


def _guarded(n: int) -> np.ndarray:
    """A NaN-filled float32[n] whose last element sits right before an inaccessible page."""
    data = (n * 4 + PAGE - 1) // PAGE * PAGE
    buf = mmap.mmap(-1, data + PAGE)
    addr = ctypes.addressof(ctypes.c_char.from_buffer(buf))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    assert libc.mprotect(addr + data, PAGE, 0) == 0, ctypes.get_errno()  # PROT_NONE
    _keep.append(buf)
    out = np.frombuffer(buf, np.float32, count=n, offset=data - n * 4)
    out[:] = np.nan
    return out


def _matrix(rows: int, cols: int, ld: int, values: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(flat guarded storage, [rows, cols] view with row stride ld); padding stays NaN."""
    flat = _guarded(max(1, (rows - 1) * ld + cols))
    view = np.lib.stride_tricks.as_strided(flat, (rows, cols), (ld * 4, 4))
    if values is not None:
        view[...] = values
    return flat, view


def _run(M, N, K, pad=(0, 0, 0), bias=True, act=0, accumulate=0, seed=0):  # noqa: ANN001, ANN202
    """Call the kernel on random data; return (C after, float64 reference, error bound, C storage)."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((M, K)).astype(np.float32)
    b = rng.standard_normal((K, N)).astype(np.float32)
    c0 = rng.standard_normal((M, N)).astype(np.float32)
    bv = rng.standard_normal(N).astype(np.float32) if bias else np.zeros(N, np.float32)
    lda, ldb, ldc = K + pad[0], N + pad[1], N + pad[2]
    a_flat, a_view = _matrix(M, K, lda, a) if K else (_guarded(1), None)
    b_flat, b_view = _matrix(K, N, ldb, b) if K else (_guarded(1), None)
    c_flat, c_view = _matrix(M, N, ldc, c0 if accumulate else None)
    b_ptr = None
    if bias:
        bias_buf = _guarded(N)
        bias_buf[:] = bv
        b_ptr = bias_buf.ctypes.data
    ptrs = a_flat.ctypes.data, b_flat.ctypes.data, c_flat.ctypes.data
    _sgemm()(M, N, K, ptrs[0], lda, ptrs[1], ldb, ptrs[2], ldc, b_ptr, act, accumulate)
    ref = a.astype(np.float64) @ b.astype(np.float64) + bv
    mag = np.abs(a).astype(np.float64) @ np.abs(b) + np.abs(bv)
    if accumulate:
        ref, mag = ref + c0, mag + np.abs(c0)
    if act == 1:
        ref = np.maximum(ref, 0.0)
    return np.array(c_view), ref, 1e-6 * (K + 2) * mag, c_flat, ldc


def _check(M, N, K, **kw) -> None:  # noqa: ANN001
    out, ref, tol, c_flat, ldc = _run(M, N, K, **kw)
    assert np.all(np.abs(out - ref) <= tol), np.abs(out - ref).max()
    written = np.zeros(c_flat.shape, bool)
    for i in range(M):
        written[i * ldc : i * ldc + N] = True
    assert np.isnan(c_flat[~written]).all(), "wrote outside C[:M, :N]"


def test_ir_parses_and_names_entry_point() -> None:
    text = gemm_ir("my_gemm")
    mod = llvm.parse_assembly(text)
    mod.verify()
    assert mod.get_function("my_gemm").linkage == llvm.Linkage.external
    assert "llvm.fma.v8f32" in text and "llvm.masked.store" in text


@settings(max_examples=80, deadline=None)
@given(
    M=st.integers(1, 70),
    N=st.integers(1, 70),
    K=st.integers(1, 70),
    pad=st.tuples(st.integers(0, 9), st.integers(0, 9), st.integers(0, 9)),
    bias=st.booleans(),
    act=st.sampled_from([0, 1]),
    accumulate=st.sampled_from([0, 1]),
    seed=st.integers(0, 2**16),
)
def test_matches_numpy(M, N, K, pad, bias, act, accumulate, seed) -> None:  # noqa: ANN001
    _check(M, N, K, pad=pad, bias=bias, act=act, accumulate=accumulate, seed=seed)


@pytest.mark.parametrize("M, N, K", [(1, 1, 1), (2, 3, 5), (7, 8, 9), (6, 16, 1), (13, 17, 19), (1, 67, 61)])
def test_small_primes_and_vector_edges(M, N, K) -> None:  # noqa: ANN001
    for act in (0, 1):
        _check(M, N, K, pad=(1, 3, 5), act=act)


@pytest.mark.parametrize(
    "M, N, K",
    [(MC + 1, NC + 1, KC + 1), (MC * 2 + 5, 2 * NC - 3, 2 * KC + 3), (MC, NC, KC), (7, NC + 16, 3 * KC)],
)
def test_crosses_block_boundaries(M, N, K) -> None:  # noqa: ANN001
    """Several K blocks: C is re-read between blocks, and bias/relu are applied once, at the end."""
    _check(M, N, K, pad=(3, 1, 2), act=1, accumulate=0)
    _check(M, N, K, pad=(0, 0, 0), act=1, accumulate=1, seed=1)


def test_relu_applies_to_the_whole_sum() -> None:
    """accumulate + relu: act(C0 + A@B + bias), not C0 + act(A@B + bias)."""
    out, ref, tol, _, _ = _run(20, 20, 300, act=1, accumulate=1, seed=3)
    assert (ref == 0).any() and (ref > 0).any()
    assert np.all(np.abs(out - ref) <= tol)


@pytest.mark.parametrize("accumulate", [0, 1])
def test_empty_k_writes_bias(accumulate: int) -> None:
    out, ref, tol, _, _ = _run(5, 11, 0, act=1, accumulate=accumulate)
    assert np.all(np.abs(out - ref) <= tol)


def test_empty_m_or_n_writes_nothing() -> None:
    c = _guarded(64)
    a, b = _guarded(64), _guarded(64)
    for M, N in [(0, 5), (5, 0)]:
        _sgemm()(M, N, 3, a.ctypes.data, 3, b.ctypes.data, 5, c.ctypes.data, 5, None, 1, 0)
        assert np.isnan(c).all()
