"""Regions with a GEMM anchor and a bias / residual / relu tail run as one llvm kernel (k_epilogue.py):
which regions qualify, and each path (NCHW per image, NCHW folded, NHWC, matmul with a batch, the few-row
product, linear) against the numpy oracle, with the residual sharing the output's buffer."""

from __future__ import annotations

import numpy as np
import pytest
from llvm_cases import assert_matches

import axiom
from axiom.backends.llvm import k_epilogue
from axiom.backends.llvm.lowering import prepare
from axiom.ir import Builder, Graph, TensorType
from axiom.ir.dtypes import f16, f32

RNG = np.random.default_rng(0)


def _arr(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def _graph(x_shape: tuple, build) -> Graph:  # noqa: ANN001 - build(g, b, x) -> value
    g = Graph("tail")
    x = g.add_input("x", TensorType(f32, x_shape))
    g.set_outputs([build(g, Builder(g), x)])
    return g


def _regions(graph: Graph) -> list[str]:
    """The kinds of the fused regions the llvm backend keeps whole after optimisation."""
    ir = axiom.compile(graph, backend="numpy").ir
    return [n.attrs["kind"] for n in prepare(ir).nodes if n.region is not None]


def _block(channels: int, residual: bool, relu: bool, scale: float = 1.0, **attrs: object):  # noqa: ANN202
    """A ResNet-like block: t = relu(conv(x)); y = conv(relu(conv(t))) (+ t) (relu). t is a planned value
    read last by the final region, so the output may take t's buffer (the tail reads it in place)."""
    ws = [_arr(channels, channels, 3, 3) * scale for _ in range(3)]
    bs = [_arr(channels) for _ in range(3)]

    def build(g, b, x):  # noqa: ANN001, ANN202
        def conv(v, i):  # noqa: ANN001, ANN202
            return b.op("conv2d", v, g.add_constant(ws[i], f"w{i}"), g.add_constant(bs[i], f"b{i}"), **attrs)
        t = b.op("relu", conv(x, 0))
        y = conv(b.op("relu", conv(t, 1)), 2)
        y = b.op("add", y, t) if residual else y
        return b.op("relu", y) if relu else y
    return build


@pytest.mark.parametrize("residual,relu", [(False, True), (True, False), (True, True)])
@pytest.mark.parametrize("batch,size", [(2, 9), (1, 30)])
@pytest.mark.parametrize("threads", [1, 2])
def test_conv_tails_nchw(residual, relu, batch, size, threads) -> None:  # noqa: ANN001
    g = _graph((batch, 24, size, size), _block(24, residual, relu, scale=0.1, padding=(1, 1, 1, 1)))
    last = "conv2d" + ("+add" if residual else "") + ("+relu" if relu else "")
    assert _regions(g) == ["conv2d+relu", "conv2d+relu"] + ([last] if last != "conv2d" else [])
    x = _arr(batch, 24, size, size)
    x[0, 0, 0, :3] = [np.nan, -np.inf, np.inf]
    assert_matches(g, [x], rtol=2e-5, atol=2e-4, opt_level=2, threads=threads)


@pytest.mark.parametrize("threads", [1, 2])
def test_conv_tails_on_folded_images(threads) -> None:  # noqa: ANN001
    """Few pixels and a large product per image: the tail is applied as the folded product is copied out."""
    g = _graph((3, 512, 7, 7), _block(512, True, True, scale=0.02, padding=(1, 1, 1, 1)))
    assert _regions(g) == ["conv2d+relu", "conv2d+relu", "conv2d+add+relu"]
    assert_matches(g, [_arr(3, 512, 7, 7)], rtol=1e-4, atol=1e-3, opt_level=2, threads=threads)


def test_conv_residual_from_another_input_on_folded_images() -> None:
    w, bias = _arr(25, 512, 3, 3) * 0.05, _arr(25)
    g = Graph("res")
    x = g.add_input("x", TensorType(f32, (3, 512, 7, 7)))
    r = g.add_input("r", TensorType(f32, (3, 25, 7, 7)))
    b = Builder(g)
    y = b.op("conv2d", x, g.add_constant(w, "w"), g.add_constant(bias, "b"), padding=(1, 1, 1, 1))
    g.set_outputs([b.op("relu", b.op("add", r, y))])
    assert _regions(g) == ["conv2d+add+relu"]
    for threads in (1, 2):
        assert_matches(g, [_arr(3, 512, 7, 7), _arr(3, 25, 7, 7)], rtol=2e-5, atol=2e-4, opt_level=2,
                       threads=threads)


@pytest.mark.parametrize("threads", [1, 2])
def test_conv_tails_nhwc(threads) -> None:  # noqa: ANN001
    w, bias = _arr(16, 8, 3, 3), _arr(16)
    g = Graph("nhwc")
    x = g.add_input("x", TensorType(f32, (2, 10, 11, 8)))
    r = g.add_input("r", TensorType(f32, (2, 10, 11, 16)))
    b = Builder(g)
    y = b.op("conv2d", x, g.add_constant(w, "w"), g.add_constant(bias, "b"), padding=(1, 1, 1, 1),
             layout="NHWC")
    g.set_outputs([b.op("relu", b.op("add", y, r))])
    assert _regions(g) == ["conv2d+add+relu"]
    assert_matches(g, [_arr(2, 10, 11, 8), _arr(2, 10, 11, 16)], rtol=2e-5, atol=2e-4, opt_level=2,
                   threads=threads)


@pytest.mark.parametrize("rows", [1, 3, 7, 64])
@pytest.mark.parametrize("threads", [1, 2])
def test_matmul_bias_residual_relu(rows, threads) -> None:  # noqa: ANN001
    """matmul + bias + residual + relu, B constant (packed; few rows take the GEMV path) and B an input."""
    wc, bias = _arr(40, 37), _arr(37)
    g = Graph("mm")
    x = g.add_input("x", TensorType(f32, (2, rows, 40)))
    r = g.add_input("r", TensorType(f32, (2, rows, 37)))
    w2 = g.add_input("w2", TensorType(f32, (2, 37, 37)))
    b = Builder(g)
    y = b.op("add", b.op("matmul", x, g.add_constant(wc, "w")), g.add_constant(bias, "b"))
    y = b.op("relu", b.op("add", y, r))
    z = b.op("add", b.op("matmul", y, w2), g.add_constant(bias, "b2"))
    g.set_outputs([z])
    assert sorted(_regions(g)) == ["matmul+add", "matmul+add+add+relu"]
    assert_matches(g, [_arr(2, rows, 40), _arr(2, rows, 37), _arr(2, 37, 37)], rtol=2e-5, atol=2e-4,
                   opt_level=2, threads=threads)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("rows", [1, 5, 50])
def test_linear_tails(bias, rows) -> None:  # noqa: ANN001
    w, bv = _arr(33, 70), _arr(33)

    def build(g, b, x):  # noqa: ANN001, ANN202
        ins = [x, g.add_constant(w, "w")] + ([g.add_constant(bv, "b")] if bias else [])
        y = b.op("linear", *ins)
        if not bias:
            y = b.op("add", y, g.add_constant(bv, "b"))
        return b.op("relu", y)
    g = _graph((rows, 70), build)
    assert _regions(g) == ["linear+relu"]  # simplify folds a following bias add into the linear
    x = _arr(rows, 70)
    x[0, 0] = np.nan
    for threads in (1, 2):
        assert_matches(g, [x], rtol=2e-5, atol=2e-4, opt_level=2, threads=threads)


def test_what_does_not_qualify() -> None:
    """A tail the GEMM cannot apply (sigmoid), a half-float anchor, or a linear whose weight is an input:
    those regions are inlined and run op by op, with the same results."""
    w = _arr(12, 9)
    g = _graph((4, 9), lambda g, b, x: b.op("sigmoid", b.op("matmul", x, g.add_constant(w.T.copy(), "w"))))
    assert not any(k.startswith("matmul") for k in _regions(g))
    assert_matches(g, [_arr(4, 9)], opt_level=2, rtol=2e-5, atol=1e-5)
    h = Graph("half")
    xh = h.add_input("x", TensorType(f16, (4, 9)))
    bh = Builder(h)
    h.set_outputs([bh.op("relu", bh.op("matmul", xh, h.add_constant(w.T.astype(np.float16), "w")))])
    assert not any(k.startswith("matmul") for k in _regions(h))
    lin = Graph("lin")
    xl = lin.add_input("x", TensorType(f32, (4, 9)))
    wl = lin.add_input("w", TensorType(f32, (12, 9)))
    bl = Builder(lin)
    lin.set_outputs([bl.op("relu", bl.op("linear", xl, wl))])
    node = next((n for n in axiom.compile(lin, backend="numpy").ir.nodes if n.region is not None), None)
    assert node is None or k_epilogue.match(node) is None
    assert_matches(lin, [_arr(4, 9), _arr(12, 9)], opt_level=2, rtol=2e-5, atol=1e-5)


def test_linear_whose_weight_is_also_an_output() -> None:
    """A weight the graph also returns is not packed: its linear+relu region runs op by op."""
    g = Graph("wout")
    x = g.add_input("x", TensorType(f32, (3, 9)))
    w = g.add_constant(_arr(5, 9), "w")
    b = Builder(g)
    g.set_outputs([b.op("relu", b.op("linear", x, w)), w])
    assert_matches(g, [_arr(3, 9)], opt_level=2, rtol=2e-5, atol=1e-5)
