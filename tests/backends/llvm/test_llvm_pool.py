"""max_pool2d and avg_pool2d on llvm (k_pool.py) against the numpy oracle, exactly: the unrolled interior
(NCHW rows in masked vector blocks, NHWC channel loops) and the checked edges. Hypothesis draws kernels
of 1-3 (and 2x3), strides 1-3, asymmetric padding, dilation, ceil mode and count_include_pad, with one
executable per attribute set (batch and image sizes symbolic) run on images of size 1, prime sizes and
sizes smaller than the window plus padding; NaN, -inf and signed zeros at every position; the element
types of each interior path; windows too large to unroll; images that end at an unreadable page (no
read past them); 1 and 2 threads; the vectorized assembly. Image sizes known at compile time are drawn
too, and fixed in the tests of special values."""

from __future__ import annotations

import ctypes
import mmap
import sys

import ml_dtypes
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

pytest.importorskip("llvmlite.binding")

import axiom  # noqa: E402
from axiom.backends.llvm import source  # noqa: E402
from axiom.backends.llvm.k_pool import MAX_UNROLLED_TAPS, MAX_VECTOR_STRIDE  # noqa: E402
from axiom.backends.llvm.split import MIN_PARALLEL_WORK  # noqa: E402
from axiom.backends.numpy.interpreter import run_graph  # noqa: E402
from axiom.ir import Builder, Graph, TensorType  # noqa: E402
from axiom.ir.dtypes import dtype_from_numpy  # noqa: E402
from axiom.ir.errors import ShapeError  # noqa: E402
from axiom.ir.ops.conv_shapes import out_hw  # noqa: E402

SIZES = [1, 2, 3, 4, 5, 7, 8, 11, 13, 17, 19, 29, 31]  # 1, primes, and a few that fill whole vector blocks


def _pool(op: str, dtype: np.dtype, layout: str, c: int, hw: tuple[int, int] | None = None,
          **attrs: object) -> Graph:
    """One pool over images of ``c`` channels and size ``hw`` (None: symbols H and W); the batch a symbol."""
    g = Graph(op)
    h, w = ("H", "W") if hw is None else hw
    shape = ("N", c, h, w) if layout == "NCHW" else ("N", h, w, c)
    x = g.add_input("x", TensorType(dtype_from_numpy(np.dtype(dtype)), shape))
    g.set_outputs([Builder(g).op(op, x, layout=layout, **attrs)])
    return g


def _fits(op: str, attrs: dict, h: int, w: int) -> bool:
    """Whether an h x w image leaves the pool at least one window each way."""
    kernel = attrs["kernel"]
    stride = attrs.get("stride") or kernel
    try:
        out_hw(op, (h, w), kernel, stride, attrs.get("padding", (0, 0, 0, 0)), attrs.get("dilation", (1, 1)),
               attrs.get("ceil_mode", False), "")
    except ShapeError:
        return False
    return True


def _image(rng: np.random.Generator, dtype: np.dtype, shape: tuple[int, ...], specials: float) -> np.ndarray:
    """Random values of ``dtype`` (integers including the extremes); a ``specials`` fraction of float cells
    become NaN, -inf, +inf, -0.0 or +0.0."""
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        x = rng.integers(max(info.min, -100), min(info.max, 100), shape, endpoint=True).astype(dtype)
        x.flat[rng.integers(0, x.size, x.size // 7 + 1)] = info.min
        x.flat[rng.integers(0, x.size, x.size // 7 + 1)] = info.max
        return x
    x = (rng.standard_normal(shape) * 4).astype(np.float32)
    hit = rng.random(shape) < specials
    x[hit] = rng.choice(np.array([np.nan, -np.inf, np.inf, -0.0, 0.0], np.float32), int(hit.sum()))
    return x.astype(dtype)


def _nhwc(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1))


def _same(got: np.ndarray, want: np.ndarray) -> None:
    """Equal shapes, dtypes and values (NaN where the oracle has NaN; -0.0 equals 0.0)."""
    assert got.shape == want.shape and got.dtype == want.dtype, (got.shape, got.dtype, want.shape, want.dtype)
    np.testing.assert_array_equal(got.astype(np.float64), want.astype(np.float64))


def _check(exe: axiom.Executable, graph: Graph, x: np.ndarray) -> None:
    got = exe(x)  # before the oracle, whose freed buffers could hold the right values
    _same(got, run_graph(graph, [x])[0])


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_pools_match_the_oracle(data) -> None:  # noqa: ANN001
    op = data.draw(st.sampled_from(["max_pool2d", "avg_pool2d"]))
    is_max = op == "max_pool2d"
    layout = data.draw(st.sampled_from(["NCHW", "NHWC"]))
    dtype = data.draw(st.sampled_from([np.float32, np.float16] + ([np.int32] if is_max else [])))
    kernel = data.draw(st.sampled_from([(1, 1), (2, 2), (3, 3), (2, 3), (3, 1), (1, 2)]))
    stride = data.draw(st.none() | st.tuples(st.integers(1, 3), st.integers(1, 3)))
    padding = tuple(data.draw(st.integers(0, 1)) for _ in range(4))
    attrs: dict = dict(kernel=kernel, stride=stride, padding=padding, ceil_mode=data.draw(st.booleans()))
    if is_max:
        attrs["dilation"] = data.draw(st.sampled_from([(1, 1), (2, 2), (2, 1), (1, 2)]))
    else:
        attrs["count_include_pad"] = data.draw(st.booleans())
    c = data.draw(st.sampled_from([1, 3, 8, 19]))
    sizes = data.draw(st.lists(st.tuples(st.integers(1, 3), st.sampled_from(SIZES), st.sampled_from(SIZES)),
                               min_size=3, max_size=3))
    sizes = [(n, h, w) for n, h, w in sizes if _fits(op, attrs, h, w)]
    assume(sizes)
    static = data.draw(st.booleans())  # the image size known when compiling: one size, folded into the code
    sizes = sizes[:1] if static else sizes
    graph = _pool(op, dtype, layout, c, sizes[0][1:] if static else None, **attrs)
    exe = axiom.compile(graph, backend="llvm", opt_level=0, threads=data.draw(st.sampled_from([1, 2])))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    for n, h, w in sizes:
        shape = (n, c, h, w) if layout == "NCHW" else (n, h, w, c)
        _check(exe, graph, _image(rng, dtype, shape, specials=data.draw(st.sampled_from([0.0, 0.05]))))


# ---- one special value at every position ------------------------------------------------------------

POSITIONS = [  # (op, attrs): windows with edges on every side, vector blocks whole and partial
    ("max_pool2d", dict(kernel=(3, 3), stride=(2, 2), padding=(1, 1, 1, 1))),
    ("max_pool2d", dict(kernel=(2, 3), stride=(1, 2), padding=(0, 1, 1, 0), dilation=(2, 1), ceil_mode=True)),
    ("avg_pool2d", dict(kernel=(2, 2), stride=(2, 2), ceil_mode=True)),
    ("avg_pool2d", dict(kernel=(3, 2), stride=(1, 1), padding=(1, 0, 1, 1), count_include_pad=True)),
]


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
@pytest.mark.parametrize(("op", "attrs"), POSITIONS)
def test_nan_and_minus_inf_reach_exactly_their_windows(op: str, attrs: dict, layout: str) -> None:
    """A NaN (then a -inf) at each cell of a 9 x 21 image in turn: the outputs it spoils are those of the
    oracle, wherever the cell lies (edge, interior, a vector block's first or last lane)."""
    h, w, c = 9, 21, 2
    graph = _pool(op, np.float32, layout, c, (h, w), **attrs)
    exe = axiom.compile(graph, backend="llvm", opt_level=0, threads=1)
    base = _image(np.random.default_rng(1), np.float32, (1, c, h, w), specials=0.0)
    for y in range(h):
        for x in range(w):
            for value in (np.nan, -np.inf):
                img = base.copy()
                img[0, 1, y, x] = value
                _check(exe, graph, img if layout == "NCHW" else _nhwc(img))


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
def test_max_of_signed_zeros_is_plus_zero_when_a_window_has_one(layout: str) -> None:
    """llvm.maximum's order, which the checked code follows: +0 above -0, so a window of zeros (and
    negatives) gives -0 only when all its zeros are -0, wherever they lie in it."""
    op, attrs = "max_pool2d", dict(kernel=(3, 2), stride=(1, 1), padding=(1, 1, 0, 1))
    graph = _pool(op, np.float32, layout, 1, (7, 19), **attrs)
    exe = axiom.compile(graph, backend="llvm", opt_level=0, threads=1)
    rng = np.random.default_rng(2)
    for _ in range(20):
        x = rng.choice(np.array([-0.0, 0.0, -1.0], np.float32), (2, 1, 7, 19))
        x = x if layout == "NCHW" else _nhwc(x)
        got = exe(x)
        plus = run_graph(graph, [((x == 0) & ~np.signbit(x)).astype(np.float32)])[0] == 1  # a +0 in it
        want = run_graph(graph, [x])[0]
        _same(got, want)
        np.testing.assert_array_equal(np.signbit(got[got == 0]), ~plus[got == 0])


# ---- element types, strides and window sizes of each path -------------------------------------------

DTYPES = [np.float64, np.int64, np.uint32, np.float16, ml_dtypes.bfloat16, np.uint8, np.int16]  # and f32, i32


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_every_element_type(dtype: type, layout: str) -> None:
    """Masked vector blocks take 4- and 8-byte elements; half floats and narrow integers take the loop."""
    rng = np.random.default_rng(3)
    float_ = np.dtype(dtype).kind in "fV"
    ops = [("max_pool2d", {})] + ([("avg_pool2d", dict(count_include_pad=True))] if float_ else [])
    for op, extra in ops:
        graph = _pool(op, dtype, layout, 3, kernel=(3, 3), stride=(2, 2), padding=(1, 1, 1, 1), **extra)
        exe = axiom.compile(graph, backend="llvm", opt_level=0, threads=1)
        for h, w in [(23, 37), (4, 3)]:
            shape = (2, 3, h, w) if layout == "NCHW" else (2, h, w, 3)
            _check(exe, graph, _image(rng, dtype, shape, specials=0.05 if float_ else 0.0))


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
@pytest.mark.parametrize(("kernel", "stride"), [
    ((2, 2), (1, MAX_VECTOR_STRIDE)),  # the widest stride in vector blocks
    ((2, 3), (2, MAX_VECTOR_STRIDE + 1)),  # NCHW rows through the loop
    ((8, 8), (1, 1)),  # MAX_UNROLLED_TAPS, unrolled
    ((9, 8), (2, 3)),  # past it: every tap checked
])
def test_wide_strides_and_big_windows(kernel: tuple[int, int], stride: tuple[int, int], layout: str) -> None:
    assert 8 * 8 <= MAX_UNROLLED_TAPS < 9 * 8
    rng = np.random.default_rng(4)
    for op in ("max_pool2d", "avg_pool2d"):
        graph = _pool(op, np.float32, layout, 2, kernel=kernel, stride=stride, padding=(1, 2, 0, 1),
                      ceil_mode=True)
        exe = axiom.compile(graph, backend="llvm", opt_level=0, threads=1)
        for h, w in [(9, 9), (30, 61)]:
            shape = (1, 2, h, w) if layout == "NCHW" else (1, h, w, 2)
            _check(exe, graph, _image(rng, np.float32, shape, specials=0.02))


# ---- no reads past the image -----------------------------------------------------------------------

def _before_a_guard_page(x: np.ndarray) -> np.ndarray:
    """A copy of ``x`` whose last byte ends a page followed by an unreadable one: a read past it faults."""
    page = mmap.PAGESIZE
    size = -(-x.nbytes // page) * page
    buf = mmap.mmap(-1, size + page, prot=mmap.PROT_READ | mmap.PROT_WRITE)
    base = ctypes.addressof(ctypes.c_char.from_buffer(buf))
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.mprotect(ctypes.c_void_p(base + size), ctypes.c_size_t(page), 0) == 0  # PROT_NONE
    out = np.frombuffer(buf, x.dtype, x.size, size - x.nbytes).reshape(x.shape)
    out[...] = x
    return out


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mprotect through libc")
@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16], ids=lambda d: np.dtype(d).name)
def test_nothing_past_the_image_is_read(dtype: type, layout: str) -> None:
    """Images that end at an unreadable page: vector blocks (whole, overlapping the last one, or masked)
    and channel loops stop at the image's last element."""
    rng = np.random.default_rng(6)
    for kernel, stride in [((2, 2), (2, 2)), ((3, 3), (2, 2)), ((1, 3), (1, 3)), ((2, 1), (1, 1))]:
        for op in ("max_pool2d", "avg_pool2d"):
            graph = _pool(op, dtype, layout, 3, kernel=kernel, stride=stride)
            exe = axiom.compile(graph, backend="llvm", opt_level=0, threads=1)
            for h, w in [(14, 14), (9, 28), (5, 9), (4, 31)]:
                shape = (2, 3, h, w) if layout == "NCHW" else (2, h, w, 3)
                _check(exe, graph, _before_a_guard_page(_image(rng, dtype, shape, specials=0.0)))


# ---- threads ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
@pytest.mark.parametrize(("op", "attrs"), [
    ("max_pool2d", dict(kernel=(3, 3), stride=(1, 1), padding=(1, 1, 1, 1))),
    ("avg_pool2d", dict(kernel=(3, 3), stride=(1, 1), padding=(1, 1, 1, 1))),
    ("max_pool2d", dict(kernel=(3, 3), stride=(1, 1))),  # rows with no right edge: vector blocks end them
])
def test_split_over_threads_at_symbolic_batch_sizes(op: str, attrs: dict, layout: str, threads: int) -> None:
    """One executable at sizes below and above the split threshold (NCHW splits planes, NHWC rows)."""
    graph = _pool(op, np.float32, layout, 4, **attrs)
    exe = axiom.compile(graph, backend="llvm", opt_level=0, threads=threads)
    rng = np.random.default_rng(5)
    sizes = [(1, 12, 12), (20, 12, 12), (3, 41, 43)]
    assert 4 * 144 * 9 < MIN_PARALLEL_WORK <= 20 * 4 * 100 * 9  # outputs x taps
    for n, h, w in sizes:
        shape = (n, 4, h, w) if layout == "NCHW" else (n, h, w, 4)
        _check(exe, graph, _image(rng, np.float32, shape, specials=0.01))


# ---- the code -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
@pytest.mark.parametrize(("op", "instruction"), [("max_pool2d", "vmaxps"), ("avg_pool2d", "vaddps")])
def test_interior_is_vectorized(op: str, instruction: str, layout: str) -> None:
    shape = (8, 16, 28, 28) if layout == "NCHW" else (8, 28, 28, 16)
    g = Graph("p")
    x = g.add_input("x", TensorType("f32", shape))
    g.set_outputs([Builder(g).op(op, x, kernel=(2, 2), stride=(2, 2), layout=layout)])
    src = source(g, threads=1)
    assert "llvm.maximum" not in src["ll"]  # its scalar lowering branches on signs
    assert any(instruction in line and "ymm" in line for line in src["s"].splitlines())
