"""The direct NCHW conv (k_conv_direct.py, conv_direct.py) against the numpy oracle: hypothesis over
sizes, strides, dilation, asymmetric padding, channel counts that do not fill a 16-channel strip, pixel
counts that do not fill a 6-pixel tile, bias, a residual in the output's buffer and relu; tiles of one
image split over threads; which convs take the path."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import axiom
from axiom.backends.llvm import k_conv_direct
from axiom.backends.llvm.lowering import source
from axiom.backends.numpy.interpreter import run_graph
from axiom.ir import Builder, Graph, TensorType
from axiom.ir.dtypes import f32


def _graph(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, residual: bool, relu: bool,
           **attrs: object) -> Graph:
    """relu?(conv(x, w, b) + r?) with constant weights; r, when asked, is the second input."""
    g = Graph("direct")
    xv = g.add_input("x", TensorType(f32, x.shape))
    ins = [xv, g.add_constant(w, "w")] + ([] if b is None else [g.add_constant(b, "b")])
    bld = Builder(g)
    y = bld.op("conv2d", *ins, **attrs)
    if residual:
        y = bld.op("add", y, g.add_input("r", TensorType(f32, y.shape)))
    g.set_outputs([bld.op("relu", y) if relu else y])
    return g


def _direct(g: Graph, threads: int) -> bool:
    return "@axiom_conv_direct(" in source(axiom.compile(g, backend="numpy").ir, threads)["ll"]


def _check(g: Graph, arrays: list[np.ndarray], threads: int) -> None:
    got = axiom.compile(g, backend="llvm", opt_level=2, threads=threads)(*arrays)
    want = run_graph(g, arrays)[0]
    scale = max(1.0, float(np.nanmax(np.abs(want[np.isfinite(want)]), initial=0)))
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5 * scale)


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_direct_conv_matches_the_oracle(data) -> None:  # noqa: ANN001
    cin, cout = data.draw(st.integers(1, 7)), data.draw(st.sampled_from([1, 5, 8, 16, 17, 33]))
    kh, kw = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 3))
    stride = (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 2)))
    dilation = (data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2)))
    padding = tuple(data.draw(st.integers(0, 2)) for _ in range(4))
    h = data.draw(st.integers(max(1, (kh - 1) * dilation[0] + 1 - padding[0] - padding[2]), 13))
    w_ = data.draw(st.integers(max(1, (kw - 1) * dilation[1] + 1 - padding[1] - padding[3]), 11))
    batch = data.draw(st.integers(1, 3))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31 - 1)))
    x = rng.standard_normal((batch, cin, h, w_)).astype(np.float32)
    w = rng.standard_normal((cout, cin, kh, kw)).astype(np.float32)
    b = rng.standard_normal(cout).astype(np.float32) if data.draw(st.booleans()) else None
    residual, relu = data.draw(st.booleans()), data.draw(st.booleans())
    g = _graph(x, w, b, residual, relu, stride=stride, padding=padding, dilation=dilation)
    arrays = [x] + ([rng.standard_normal(g.outputs[0].shape).astype(np.float32)] if residual else [])
    threads = data.draw(st.sampled_from([1, 2]))
    by_strip = data.draw(st.booleans())
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(k_conv_direct, "MIN_TAPS", 1)  # every size takes the direct path
        mp.setattr(k_conv_direct, "STRIP_OUTER_BYTES", 0 if by_strip else 1 << 18)
        assert _direct(g, threads)
        _check(g, arrays, threads)


@pytest.mark.parametrize("residual", [False, True])
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_one_image_splits_into_tiles_over_threads(residual, threads) -> None:  # noqa: ANN001
    """One image large enough to split: chunks of tiles start and end inside the image, ragged at both
    ends (41 x 37 = 1517 pixels, not a multiple of 6), with 40 channels (two and a half strips)."""
    _one_image(residual, threads)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_large_weights_go_strip_by_strip(threads, monkeypatch) -> None:  # noqa: ANN001
    """(image, strip) items: chunks start and end inside an image's strips, the last strip half full."""
    monkeypatch.setattr(k_conv_direct, "STRIP_OUTER_BYTES", 0)
    _one_image(True, threads)


def _one_image(residual: bool, threads: int) -> None:
    rng = np.random.default_rng(threads)
    x = rng.standard_normal((1, 9, 41, 37)).astype(np.float32)
    w = rng.standard_normal((40, 9, 3, 3)).astype(np.float32)
    b = rng.standard_normal(40).astype(np.float32)
    assert 40 * 41 * 37 * 81 >= k_conv_direct.MIN_SPLIT_MACS
    g = _graph(x, w, b, residual, True, padding=(1, 1, 1, 1))
    assert _direct(g, threads)
    arrays = [x] + ([rng.standard_normal((1, 40, 41, 37)).astype(np.float32)] if residual else [])
    _check(g, arrays, threads)


def test_nan_and_infinities_reach_the_outputs_they_touch() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 8, 10, 10)).astype(np.float32)
    x[0, 3, 4, 4], x[1, 0, 0, 0], x[1, 7, 9, 9] = np.nan, np.inf, -np.inf
    w = rng.standard_normal((24, 8, 3, 3)).astype(np.float32)
    g = _graph(x, w, None, False, True, padding=(1, 1, 1, 1))
    assert _direct(g, 1)
    _check(g, [x], 1)


def test_residual_in_the_output_buffer() -> None:
    """A ResNet-like block: the last conv's residual is a planned value read last, so the output may take
    its buffer; each row of a tile is read before it is written."""
    rng = np.random.default_rng(1)
    w1, w2 = (rng.standard_normal((16, 16, 3, 3)).astype(np.float32) * 0.2 for _ in range(2))
    g = Graph("block")
    x = g.add_input("x", TensorType(f32, (2, 16, 9, 11)))
    bld = Builder(g)
    t = bld.op("relu", bld.op("conv2d", x, g.add_constant(w1, "w1"), padding=(1, 1, 1, 1)))
    y = bld.op("conv2d", t, g.add_constant(w2, "w2"), padding=(1, 1, 1, 1))
    g.set_outputs([bld.op("relu", bld.op("add", y, t))])
    assert _direct(g, 2)
    _check(g, [rng.standard_normal((2, 16, 9, 11)).astype(np.float32)], 2)


def test_which_convs_take_the_direct_path() -> None:
    rng = np.random.default_rng(2)
    x = rng.standard_normal((1, 16, 8, 8)).astype(np.float32)

    def conv(w: np.ndarray, **attrs: object) -> Graph:
        return _graph(x, w, None, False, False, padding=(1, 1, 1, 1), **attrs)

    assert _direct(conv(rng.standard_normal((32, 16, 3, 3)).astype(np.float32)), 1)
    assert not _direct(conv(rng.standard_normal((32, 1, 3, 3)).astype(np.float32), groups=16), 1)
    assert not _direct(_graph(x[:, :1], rng.standard_normal((8, 1, 3, 3)).astype(np.float32), None,
                              False, False, padding=(1, 1, 1, 1)), 1)  # 9 taps: too shallow
    big = rng.standard_normal((512, 16, 3, 3)).astype(np.float32)  # 288 KiB packed: strip by strip
    assert _direct(conv(big), 1)
    g = Graph("shared")  # a weight read twice is not packed for one kernel
    xv = g.add_input("x", TensorType(f32, x.shape))
    wv = g.add_constant(rng.standard_normal((16, 16, 3, 3)).astype(np.float32), "w")
    bld = Builder(g)
    pad = (1, 1, 1, 1)
    g.set_outputs([bld.op("conv2d", bld.op("conv2d", xv, wv, padding=pad), wv, padding=pad)])
    assert not _direct(g, 1)
