"""vmath's inlined f32 exp, erf and tanh against float64 references: ulp bounds over a dense grid and
random points, exact special values (infinities, NaN, signed zeros, overflow, subnormals), and the loop
that calls them vectorized (no call left in the assembly)."""

from __future__ import annotations

import ctypes
import functools

import numpy as np
import pytest

pytest.importorskip("llvmlite.binding")
special = pytest.importorskip("scipy.special")

from axiom.backends.llvm.target import assembly, compile_module  # noqa: E402
from axiom.backends.llvm.vmath import declare_vmath  # noqa: E402

FUNCS = {"axiom_expf": (np.exp, 1.5), "axiom_erff": (special.erf, 3.0), "axiom_tanhf": (np.tanh, 2.0)}
_keep: list[object] = []


def _module(name: str) -> str:
    declared: dict[str, str] = {}
    declare_vmath(declared, name)
    loop = f"""define void @loop(ptr noalias %x, ptr noalias %y, i64 %n) {{
entry:
  br label %head
head:
  %i = phi i64 [ 0, %entry ], [ %next, %body ]
  %more = icmp slt i64 %i, %n
  br i1 %more, label %body, label %done
body:
  %px = getelementptr inbounds float, ptr %x, i64 %i
  %v = load float, ptr %px
  %r = call float @{name}(float %v)
  %py = getelementptr inbounds float, ptr %y, i64 %i
  store float %r, ptr %py
  %next = add nsw i64 %i, 1
  br label %head
done:
  ret void
}}
"""
    return "\n".join([*declared.values(), loop])


@functools.cache
def _fn(name: str):  # noqa: ANN202
    compiled = compile_module(_module(name), "loop", use_cache=False)
    _keep.append(compiled)
    return ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)(compiled.address)


def _run(name: str, x: np.ndarray) -> np.ndarray:
    x = np.ascontiguousarray(x, np.float32)
    y = np.empty_like(x)
    _fn(name)(x.ctypes.data, y.ctypes.data, x.size)
    return y


@pytest.mark.parametrize("name", sorted(FUNCS))
def test_ulp_error_is_bounded(name: str) -> None:
    ref_fn, bound = FUNCS[name]
    rng = np.random.default_rng(1)
    x = np.concatenate([np.linspace(-106, 90, 400_001), rng.uniform(-6, 6, 200_000),
                        rng.standard_normal(50_000) * 1e-3]).astype(np.float32)
    with np.errstate(over="ignore"):
        ref = ref_fn(x.astype(np.float64))
    ok = np.abs(ref) < np.finfo(np.float32).max
    ulp = np.maximum(np.spacing(np.abs(ref[ok]).astype(np.float32)).astype(np.float64), 2.0**-149)
    err = np.abs(_run(name, x)[ok].astype(np.float64) - ref[ok]) / ulp
    assert err.max() <= bound, (x[ok][np.argmax(err)], err.max())


@pytest.mark.parametrize("name", sorted(FUNCS))
def test_special_values(name: str) -> None:
    ref_fn, _ = FUNCS[name]
    x = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 88.72, 88.73, 200.0, -87.5, -100.0, -103.9, -104.0,
                  1e-30, -1e-30, 3.9, 4.0, 9.5, -9.5, 0.625, -0.625], np.float32)
    got = _run(name, x)
    with np.errstate(over="ignore"):
        want = ref_fn(x.astype(np.float64)).astype(np.float32)
    exact = ~np.isfinite(want) | (want == 0) | (np.abs(want) == 1)
    np.testing.assert_array_equal(got[exact], want[exact])
    np.testing.assert_array_equal(np.signbit(got[x == 0]), np.signbit(x[x == 0]) & (name != "axiom_expf"))
    np.testing.assert_allclose(got[~exact], want[~exact], rtol=3e-7, atol=0)


@pytest.mark.parametrize("name", sorted(FUNCS))
def test_loops_calling_them_vectorize(name: str) -> None:
    asm = assembly(_module(name))
    body = asm.split("loop:", 1)[1]
    assert "ymm" in body and "call" not in body
