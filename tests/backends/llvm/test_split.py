"""Kernels split over threads (split.py), against the numpy oracle on 1, 2 and 3 threads, at sizes above
each split's threshold (asserted from the constants): flat elementwise loops in chunks, broadcasting ones
over the outermost axis, fused regions, pools by plane, convs and batched products by item; sizes that
are not multiples of the chunk or the thread count; symbolic batches run at two sizes, one of them
below the threshold, through one executable; and the module text with and without the split."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pytest

pytest.importorskip("llvmlite.binding")

from llvm_cases import assert_matches, one_op  # noqa: E402

import axiom  # noqa: E402
from axiom.backends.llvm import source  # noqa: E402
from axiom.backends.llvm.gemm_mt import MIN_PARALLEL_GEMV  # noqa: E402
from axiom.backends.llvm.k_conv import MIN_PARALLEL_IM2COL  # noqa: E402
from axiom.backends.llvm.k_elementwise import CHUNK  # noqa: E402
from axiom.backends.llvm.parallel import PARALLEL_FOR, POOL_WAKE  # noqa: E402
from axiom.backends.llvm.split import MIN_PARALLEL_WORK, MIN_SPLIT_MACS, SPLIT_ITEMS_BELOW  # noqa: E402
from axiom.backends.numpy.interpreter import run_graph  # noqa: E402
from axiom.compiler.pipeline import run_pipeline  # noqa: E402
from axiom.ir import Builder, Graph, TensorType  # noqa: E402
from axiom.ir.parser import parse_graph  # noqa: E402

THREADS = [1, 2, 3]
RNG = np.random.default_rng(5)


def _normal(*shape: int, dtype: type = np.float32) -> np.ndarray:
    return RNG.standard_normal(shape).astype(dtype)


def _graph(op: str, operands: Sequence[TensorType | np.ndarray], **attrs: object) -> Graph:
    """One ``op`` node over graph inputs (the TensorTypes, symbolic dims allowed) and constants (arrays)."""
    g = Graph(op)
    vals = [g.add_input(f"x{i}", v) if isinstance(v, TensorType) else g.add_constant(v, f"c{i}")
            for i, v in enumerate(operands)]
    g.set_outputs([Builder(g).op(op, *vals, **attrs)])
    return g


def _runs_match(graph: Graph, runs: Sequence[Sequence[np.ndarray]], threads: int, rtol: float = 1e-5,
                atol: float = 1e-5) -> None:
    """One llvm executable of ``graph`` agrees with the oracle at every input list of ``runs`` (floats
    within ``rtol`` and ``atol`` scaled by the largest result, others exactly)."""
    exe = axiom.compile(graph, backend="llvm", opt_level=0, threads=threads)
    for arrays in runs:
        got = exe(*arrays)  # before the oracle, whose freed buffers could hold the right values
        got = list(got) if isinstance(got, tuple) else [got]
        for g, w in zip(got, run_graph(graph, list(arrays)), strict=True):
            assert g.shape == w.shape and g.dtype == w.dtype, (g.shape, g.dtype, w.shape, w.dtype)
            if w.dtype.kind != "f":
                np.testing.assert_array_equal(g, w)
                continue
            np.testing.assert_allclose(g, w, rtol=rtol, atol=atol * max(1.0, float(np.abs(w).max(initial=0))))


def _uneven(count: int) -> None:
    """``count`` (chunks, rows, planes, items) does not divide evenly over 2 or 3 threads."""
    assert count % 2 and count % 3, count


# ---- elementwise ------------------------------------------------------------------------------------

FLAT = (5, 40009)  # 200045 elements: 13 chunks, the last one partial


@pytest.mark.parametrize("threads", THREADS)
def test_flat_loops_split_in_chunks(threads: int) -> None:
    numel = FLAT[0] * FLAT[1]
    assert numel >= MIN_PARALLEL_WORK and numel % CHUNK
    _uneven(-(-numel // CHUNK))
    x, y = _normal(*FLAT), _normal(*FLAT)
    assert_matches(one_op("exp", [x]), [x], threads=threads)
    assert_matches(one_op("mul", [x, y]), [x, y], threads=threads)
    for s in (np.float32(1.5).reshape(()), np.full((1, 1), -2.0, np.float32)):  # one element: still flat
        assert_matches(one_op("sub", [x, s]), [x, s], threads=threads)
    i, j = RNG.integers(-1000, 1000, FLAT, np.int32), RNG.integers(-1000, 1000, FLAT, np.int32)
    assert_matches(one_op("add", [i, j]), [i, j], threads=threads)
    assert_matches(one_op("less", [x, y]), [x, y], threads=threads)  # bool results


@pytest.mark.parametrize("threads", THREADS)
def test_broadcasting_loops_split_over_the_outer_axis(threads: int) -> None:
    x = _normal(301, 257)
    assert x.size >= MIN_PARALLEL_WORK
    _uneven(x.shape[0])
    row, col, scalar = _normal(257), _normal(301, 1), _normal()
    for other in (row, col):
        assert_matches(one_op("add", [x, other]), [x, other], threads=threads)
        assert_matches(one_op("maximum", [other, x]), [other, x], threads=threads)
    assert_matches(one_op("div", [scalar, x]), [scalar, x], threads=threads)
    a, b = _normal(5, 1, 101), _normal(131, 1)  # both broadcast: out [5, 131, 101]
    assert 5 * 131 * 101 >= MIN_PARALLEL_WORK
    assert_matches(one_op("mul", [a, b]), [a, b], threads=threads)


@pytest.mark.parametrize("threads", THREADS)
def test_symbolic_batch_runs_below_and_above_the_threshold(threads: int) -> None:
    x_t = TensorType("f32", ("N", 700))
    small, big = 1, 97
    assert small * 700 < MIN_PARALLEL_WORK <= big * 700
    _uneven(big)
    row = _normal(700)
    flat, broadcast = _graph("tanh", [x_t]), _graph("add", [x_t, TensorType("f32", (700,))])
    for n in (small, big):
        _uneven(-(-n * 700 // CHUNK))
    _runs_match(flat, [[_normal(small, 700)], [_normal(big, 700)]], threads)
    _runs_match(broadcast, [[_normal(small, 700), row], [_normal(big, 700), row]], threads)


FUSED = """graph @g(%x: f32[N, 700], %y: f32[N, 700], %b: f32[700], %s: f32[]) -> (f32[N, 700], f32[N, 700]) {
  %0 = exp(%x) : f32[N, 700]
  %1 = mul(%0, %y) : f32[N, 700]
  %2 = add(%1, %s) : f32[N, 700]
  %3 = add(%x, %b) : f32[N, 700]
  %4 = tanh(%3) : f32[N, 700]
  %5 = mul(%4, %s) : f32[N, 700]
  %6 = sub(%5, %y) : f32[N, 700]
  return %2, %6
}"""


@pytest.mark.parametrize("threads", THREADS)
def test_fused_regions_split_like_their_ops(threads: int) -> None:
    fused = run_pipeline(parse_graph(FUSED), "fuse{min-nodes=2}").graph
    assert [n.op.name for n in fused.nodes] == ["fused", "fused"]  # one flat region, one broadcasting
    small, big = 1, 97
    assert small * 700 < MIN_PARALLEL_WORK <= big * 700
    b, s = _normal(700), _normal()
    _runs_match(fused, [[_normal(n, 700), _normal(n, 700), b, s] for n in (small, big)], threads)


def test_a_big_elementwise_op_gets_a_part_function_only_with_threads() -> None:
    x = np.zeros(FLAT, np.float32)
    g = one_op("exp", [x])
    two = source(g, threads=2)["ll"]
    part = re.search(r"define internal void @(k\w+\.part0)\(ptr %ctx, i64 %lo, i64 %hi\)", two)
    assert part, two
    assert re.search(rf"call void @{PARALLEL_FOR}\w*\(ptr @{re.escape(part[1])}, ", two), two  # any entry
    assert f"call void @{POOL_WAKE}()" in two  # the workers are woken at the start of the call
    one = source(g, threads=1)["ll"]
    assert ".part" not in one and PARALLEL_FOR not in one and POOL_WAKE not in one


# ---- pools ------------------------------------------------------------------------------------------

POOLS = [
    ("max_pool2d", "NCHW", dict(kernel=(3, 3), stride=(1, 1), padding=(1, 1, 1, 1))),
    ("max_pool2d", "NHWC", dict(kernel=(3, 2), stride=(2, 1), padding=(1, 0, 1, 1), dilation=(2, 1),
                                ceil_mode=True)),
    ("avg_pool2d", "NCHW", dict(kernel=(3, 3), stride=(2, 2), padding=(1, 2, 0, 1), count_include_pad=True,
                                ceil_mode=True)),
    ("avg_pool2d", "NHWC", dict(kernel=(3, 3), stride=(1, 1), padding=(1, 1, 1, 1))),
    ("avg_pool2d", "NHWC", dict(kernel=(2, 3), stride=(1, 2), padding=(1, 1, 0, 1), count_include_pad=True)),
]


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize(("op", "layout", "attrs"), POOLS)
def test_pools_split_over_planes(op: str, layout: str, attrs: dict, threads: int) -> None:
    c, h, w = 7, 45, 41
    shape = ("N", c, h, w) if layout == "NCHW" else ("N", h, w, c)
    g = _graph(op, [TensorType("f32", shape)], layout=layout, **attrs)
    out = g.outputs[0].shape
    kernel = attrs["kernel"][0] * attrs["kernel"][1]
    big = 5
    assert int(np.prod([big if d == out[0] else d for d in out])) * kernel >= MIN_PARALLEL_WORK
    _uneven(big * c)
    runs = [[_normal(*(n if d == "N" else d for d in shape))] for n in (1, big)]
    _runs_match(g, runs, threads)


@pytest.mark.parametrize("threads", THREADS)
def test_integer_max_pool_splits_too(threads: int) -> None:
    x = RNG.integers(-50, 50, (5, 7, 30, 31), np.int32)
    assert x.size * 9 >= MIN_PARALLEL_WORK
    _uneven(5 * 7)
    assert_matches(one_op("max_pool2d", [x], kernel=(3, 3), stride=(1, 1), padding=(1, 1, 1, 1)), [x],
                   threads=threads)


# ---- conv2d -----------------------------------------------------------------------------------------

# (cin, h, w, weight shape, attrs, bias): each image's product below the GEMM's own threading threshold
CONVS = [
    (8, 20, 20, (16, 8, 3, 3), dict(padding=(1, 1, 1, 1)), True),
    (8, 32, 32, (12, 4, 3, 3), dict(stride=(2, 1), padding=(1, 0, 2, 1), dilation=(1, 2), groups=2), True),
    (16, 32, 32, (24, 16, 1, 1), {}, False),  # pointwise: no im2col
]


def _per_image_macs(g: Graph, w: tuple[int, ...], layout: str) -> int:
    out = g.outputs[0].shape
    p = out[2] * out[3] if layout == "NCHW" else out[1] * out[2]
    return w[0] * p * w[1] * w[2] * w[3]  # cout * P * (cin/groups * kh * kw)


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
@pytest.mark.parametrize("case", range(len(CONVS)))
def test_conv_splits_images_over_threads(case: int, layout: str, threads: int) -> None:
    cin, h, w, wshape, attrs, has_bias = CONVS[case]
    shape = ("N", cin, h, w) if layout == "NCHW" else ("N", h, w, cin)
    wt, b = _normal(*wshape), _normal(wshape[0])
    big = 7
    for constant in (False, True):  # constant weights are packed at load (NCHW) or transposed per call
        extra = [b] if has_bias else []
        operands = [TensorType("f32", shape), *([wt, *extra] if constant else
                                                 [TensorType("f32", a.shape) for a in (wt, *extra)])]
        g = _graph("conv2d", operands, layout=layout, **attrs)
        macs = _per_image_macs(g, wshape, layout)
        assert macs < SPLIT_ITEMS_BELOW and macs < MIN_SPLIT_MACS <= macs * big  # a batch of 1: no split
        _uneven(big)
        weights = [] if constant else [wt, *extra]
        runs = [[_normal(*(n if d == "N" else d for d in shape)), *weights] for n in (1, big)]
        _runs_match(g, runs, threads, rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("threads", THREADS)
def test_conv_images_with_threaded_im2col_inside(threads: int) -> None:
    """Few output channels over many patches: the images split, and each image's im2col asks for the
    threads again from inside a chunk (the pool runs that nested range on the calling thread)."""
    x, w, b = _normal(5, 16, 92, 92), _normal(2, 16, 3, 3), _normal(2)
    kdim, p = 16 * 9, 90 * 90
    assert kdim * p >= MIN_PARALLEL_IM2COL and 2 * p * kdim < SPLIT_ITEMS_BELOW <= 5 * 2 * p * kdim
    _uneven(5)
    assert_matches(one_op("conv2d", [x, w, b]), [x, w, b], rtol=2e-5, atol=1e-4, threads=threads)


# ---- matmul -----------------------------------------------------------------------------------------

M, K, N = 20, 40, 45  # 36000 multiply-adds a product: 35 of them reach MIN_SPLIT_MACS


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize(("sa", "sb"), [((5, 7, M, K), (5, 7, K, N)), ((5, 1, M, K), (1, 7, K, N)),
                                        ((7, M, K), (5, 1, K, N))])
def test_batched_matmul_splits_over_the_batch(sa: tuple, sb: tuple, threads: int) -> None:
    assert M * K * N < SPLIT_ITEMS_BELOW and M * K * N * 35 >= MIN_SPLIT_MACS
    _uneven(35)
    a, b = _normal(*sa), _normal(*sb)
    assert_matches(one_op("matmul", [a, b]), [a, b], rtol=1e-5, atol=1e-4, threads=threads)
    ai, bi = (RNG.integers(-9, 9, s, np.int32) for s in (sa, sb))
    assert_matches(one_op("matmul", [ai, bi]), [ai, bi], threads=threads)


@pytest.mark.parametrize("threads", THREADS)
def test_half_matmul_batch_splits_and_rounds_once(threads: int) -> None:
    a, b = _normal(5, 7, M, K, dtype=np.float16), _normal(5, 7, K, N, dtype=np.float16)
    assert_matches(one_op("matmul", [a, b]), [a, b], rtol=1e-3, atol=1e-3, threads=threads)


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("constant", [False, True])
def test_batch_of_products_with_one_matrix(constant: bool, threads: int) -> None:
    """[N, M, K] @ [K, N2]: B an input, or a constant packed at load time."""
    big = 35
    assert M * K * N < MIN_SPLIT_MACS <= M * K * N * big  # N = 1: no split
    b = _normal(K, N)
    g = _graph("matmul", [TensorType("f32", ("N", M, K)), b if constant else TensorType("f32", b.shape)])
    runs = [[_normal(n, M, K), *([] if constant else [b])] for n in (1, big)]
    _runs_match(g, runs, threads, atol=1e-4)


@pytest.mark.parametrize("threads", THREADS)
def test_batch_of_few_row_products_over_a_packed_matrix(threads: int) -> None:
    """[N, 3, K] @ constant [K, 300]: each item is a threaded GEMV, called from inside a chunk."""
    k, n = 1024, 300
    big = 7
    assert k * n >= MIN_PARALLEL_GEMV and 3 * k * n < MIN_SPLIT_MACS <= 3 * k * n * big
    g = _graph("matmul", [TensorType("f32", ("N", 3, k)), _normal(k, n)])
    _runs_match(g, [[_normal(m, 3, k)] for m in (1, big)], threads, atol=1e-4)


@pytest.mark.parametrize("threads", THREADS)
def test_few_rows_over_a_packed_matrix(threads: int) -> None:
    """[M, K] @ constant [K, N]: the GEMV for M <= 4, over threads when B is large; the GEMM for M = 5."""
    k, n = 1024, 300
    assert k * n >= MIN_PARALLEL_GEMV
    g = _graph("matmul", [TensorType("f32", ("M", k)), _normal(k, n)])
    _runs_match(g, [[_normal(m, k)] for m in (1, 4, 5)], threads, atol=1e-4)
