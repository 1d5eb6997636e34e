"""sgemm: the LLVM backend's GEMM kernel against numpy (OpenBLAS), both on one thread.

    python -m benchmarks.sgemm [--sizes 256 512 1024] [--repeats 21]

Square C = A @ B in float32. Prints the median GFLOP/s of each and the kernel's fraction of
OpenBLAS (issue 5 asks for at least 0.85 at 1024). The two are timed interleaved, call by call,
so a slow phase of the machine hits both alike.
"""

from __future__ import annotations

import os
import sys

if "numpy" in sys.modules:  # OpenBLAS reads its thread count once, when numpy loads
    raise SystemExit("benchmarks.sgemm must set OPENBLAS_NUM_THREADS before numpy is imported")
os.environ["OPENBLAS_NUM_THREADS"] = "1"

import argparse  # noqa: E402
import ctypes  # noqa: E402
import functools  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402

_I64, _PTR, _I32 = ctypes.c_int64, ctypes.c_void_p, ctypes.c_int32
_SIG = ctypes.CFUNCTYPE(None, _I64, _I64, _I64, _PTR, _I64, _PTR, _I64, _PTR, _I64, _PTR, _I32, _I32)


def compile_sgemm() -> tuple[Callable, object]:
    """(ctypes function, compiled module to keep alive): the kernel at O3 for the host CPU."""
    from axiom.backends.llvm.gemm import gemm_ir
    from axiom.backends.llvm.target import compile_module

    compiled = compile_module(gemm_ir(), "axiom_sgemm", use_cache=False)
    return _SIG(compiled.address), compiled


def interleaved_seconds(fns: list[Callable[[], object]], repeats: int) -> list[float]:
    """Median seconds of each function, calling them in turn ``repeats`` times after one warm-up."""
    times: list[list[float]] = [[] for _ in fns]
    for fn in fns:
        fn()
    for _ in range(repeats):
        for fn, bucket in zip(fns, times, strict=True):
            start = time.perf_counter()
            fn()
            bucket.append(time.perf_counter() - start)
    return [statistics.median(t) for t in times]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024])
    ap.add_argument("--repeats", type=int, default=21)
    args = ap.parse_args()
    sgemm, _engine = compile_sgemm()
    rng = np.random.default_rng(0)
    print(f"{'n':>6}{'axiom GFLOP/s':>15}{'OpenBLAS GFLOP/s':>18}{'ratio':>8}")
    for n in args.sizes:
        a, b = (rng.standard_normal((n, n), dtype=np.float32) for _ in range(2))
        c, c_ref = np.empty((n, n), np.float32), np.empty((n, n), np.float32)
        ptrs = a.ctypes.data, b.ctypes.data, c.ctypes.data
        ours = functools.partial(sgemm, n, n, n, ptrs[0], n, ptrs[1], n, ptrs[2], n, None, 0, 0)
        theirs = functools.partial(np.matmul, a, b, out=c_ref)
        t_ours, t_theirs = interleaved_seconds([ours, theirs], args.repeats)
        np.testing.assert_allclose(c, c_ref, rtol=1e-3, atol=1e-3 * np.sqrt(n))
        flops = 2.0 * n**3
        g_ours, g_theirs = flops / t_ours / 1e9, flops / t_theirs / 1e9
        print(f"{n:>6}{g_ours:>15.1f}{g_theirs:>18.1f}{g_ours / g_theirs:>8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
