"""conv2d on llvm through im2col + the threaded sgemm, against the numpy oracle: hypothesis over sizes,
strides, padding, dilation, groups, bias and both layouts; 1x1 convs (no im2col); products large
enough to be split over threads; other dtypes through the direct kernel."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from llvm_cases import one_op

import axiom
from axiom.backends.llvm.gemm_mt import MIN_PARALLEL_MACS
from axiom.backends.llvm.k_conv import FOLD_BELOW, FOLD_COLUMN_FLOATS
from axiom.backends.llvm.split import SPLIT_ITEMS_BELOW
from axiom.backends.numpy.interpreter import run_graph
from axiom.ir import Builder, Graph, TensorType
from axiom.ir.dtypes import f32


def _constant_weights(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, **attrs: object) -> Graph:
    """conv2d of input ``x`` with ``w`` (and ``b``) as constants: the weights the runtime packs at load."""
    g = Graph("conv")
    xv = g.add_input("x", TensorType(f32, x.shape))
    ins = [xv, g.add_constant(w, "w")] + ([] if b is None else [g.add_constant(b, "b")])
    g.set_outputs([Builder(g).op("conv2d", *ins, **attrs)])
    return g


def _check(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, threads: int = 1, constant: bool = False,
           **attrs: object) -> None:
    arrays = [x, w] if b is None else [x, w, b]
    if constant:
        g, arrays = _constant_weights(x, w, b, **attrs), [x]
    else:
        g = one_op("conv2d", arrays, **attrs)
    want = run_graph(g, arrays)[0]
    got = axiom.compile(g, backend="llvm", opt_level=0, threads=threads)(*arrays)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5 * max(1.0, float(np.abs(want).max(initial=0))))


@settings(max_examples=12, deadline=None)
@given(data=st.data())
def test_conv_gemm_matches_the_oracle(data) -> None:  # noqa: ANN001
    groups = data.draw(st.sampled_from([1, 1, 2, 3]))
    cg, og = data.draw(st.integers(1, 5)), data.draw(st.integers(1, 5))
    kh, kw = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 3))
    stride = (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 2)))
    dilation = (data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2)))
    padding = tuple(data.draw(st.integers(0, 2)) for _ in range(4))
    h = data.draw(st.integers((kh - 1) * dilation[0] + 1, 13))
    w_ = data.draw(st.integers((kw - 1) * dilation[1] + 1, 11))
    layout = data.draw(st.sampled_from(["NCHW", "NHWC"]))
    batch = data.draw(st.integers(1, 3))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31 - 1)))
    cin, cout = cg * groups, og * groups
    shape = (batch, cin, h, w_) if layout == "NCHW" else (batch, h, w_, cin)
    x = rng.standard_normal(shape).astype(np.float32)
    wt = rng.standard_normal((cout, cg, kh, kw)).astype(np.float32)
    b = rng.standard_normal(cout).astype(np.float32) if data.draw(st.booleans()) else None
    _check(x, wt, b, threads=data.draw(st.sampled_from([1, 2])), constant=data.draw(st.booleans()),
           stride=stride, padding=padding, dilation=dilation, groups=groups, layout=layout)


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
@pytest.mark.parametrize("kernel", [1, 3])
def test_large_conv_split_over_threads(layout, kernel) -> None:  # noqa: ANN001
    rng = np.random.default_rng(kernel)
    x = rng.standard_normal((2, 128, 40, 40) if layout == "NCHW" else (2, 40, 40, 128)).astype(np.float32)
    w = rng.standard_normal((128, 128, kernel, kernel)).astype(np.float32)
    b = rng.standard_normal(128).astype(np.float32)
    assert 128 * 1600 * 128 * kernel * kernel >= MIN_PARALLEL_MACS  # each image's product is split
    pad = kernel // 2
    for threads in (1, 2, 3):
        _check(x, w, b, threads=threads, padding=(pad,) * 4, layout=layout)
    _check(x, w, b, threads=2, constant=True, padding=(pad,) * 4, layout=layout)
    w7 = rng.standard_normal((50, 64, kernel, kernel)).astype(np.float32)  # 25 rows per group: not 6k
    _check(x, w7, None, threads=2, constant=True, padding=(pad,) * 4, layout=layout, groups=2)


def test_other_dtypes_use_the_direct_kernel() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 2, 6, 5))
    w = rng.standard_normal((3, 2, 2, 2))
    _check(x, w, None, padding=(1, 0, 0, 1))


def test_threads_option_is_checked() -> None:
    g = one_op("relu", [np.zeros(3, np.float32)])
    with pytest.raises(axiom.AxiomError, match="threads"):
        axiom.compile(g, backend="llvm", threads=0)
    with pytest.raises(axiom.AxiomError, match="threads"):
        axiom.compile(g, backend="numpy", threads=2)


@pytest.mark.parametrize("groups,stride", [(1, 1), (2, 2)])
def test_small_images_fold_into_one_product(groups, stride) -> None:  # noqa: ANN001
    """NCHW with few output pixels and a large product per image: the images of a chunk are the columns
    of one GEMM (k_conv._folded). K = 4608 makes a chunk 9 images, so batch 10 also runs a chunk of 1."""
    rng = np.random.default_rng(groups)
    cg, og, size = 512, 25, 7 * stride  # og = 25: not a multiple of the 6-row strips
    assert og * 49 * cg * 9 >= SPLIT_ITEMS_BELOW and 49 < FOLD_BELOW
    assert FOLD_COLUMN_FLOATS // (cg * 9 * 49) == 9
    x = rng.standard_normal((10, cg * groups, size, size)).astype(np.float32)
    w = rng.standard_normal((og * groups, cg, 3, 3)).astype(np.float32)
    b = rng.standard_normal(og * groups).astype(np.float32)
    for threads in (1, 2):
        _check(x, w, b, threads=threads, constant=True, padding=(1, 1, 1, 1), stride=(stride, stride),
               groups=groups)
    _check(x[:2], w, None, threads=2, padding=(1, 0, 2, 1), stride=(stride, stride), groups=groups)
