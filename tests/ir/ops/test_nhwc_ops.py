"""The ``layout = "NHWC"`` form of conv2d, the 2-D pools and batch_norm: on hypothesis-drawn
cases each NHWC op equals its NCHW form on the transposed image (the NCHW forms are checked
against PyTorch in test_nn.py), and their type rules, decompositions and errors follow the layout."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from op_harness import infer, run_op

from axiom.backends.numpy.interpreter import run_graph
from axiom.ir import Builder, Graph, ShapeError, TensorType, get_op, sym
from axiom.ir.dot import attr_summary
from axiom.ir.errors import AttributeError_
from axiom.ir.ops.conv_shapes import from_nchw, layout_perm, to_nchw

N, H, W = sym("N"), sym("H"), sym("W")
TO_NHWC, TO_NCHW = (0, 2, 3, 1), (0, 3, 1, 2)
seeds = st.integers(0, 2**31 - 1)


def nhwc(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x.transpose(TO_NHWC))


def same_both_ways(op: str, x: np.ndarray, *rest: np.ndarray, exact: bool = True, **attrs: object) -> None:
    """``op`` on NHWC ``x`` must give the NHWC transpose of ``op`` on NCHW ``x``: bit for bit
    where the NHWC reference is the NCHW one between two transposes (``exact``)."""
    want = run_op(op, [x, *rest], **attrs)
    got = run_op(op, [nhwc(x), *rest], layout="NHWC", **attrs)
    if exact:
        np.testing.assert_array_equal(got, nhwc(want))
    else:
        np.testing.assert_allclose(got, nhwc(want), rtol=1e-6, atol=1e-7)


def test_layout_perms_and_shapes() -> None:
    assert layout_perm("NCHW", "NHWC") == TO_NHWC
    assert layout_perm("NHWC", "NCHW") == TO_NCHW
    assert layout_perm("NCHW", "NCHW") == (0, 1, 2, 3)
    assert to_nchw((N, H, W, 3), "NHWC") == (N, 3, H, W)
    assert from_nchw((N, 3, H, W), "NHWC") == (N, H, W, 3)


@st.composite
def conv_case(draw):  # noqa: ANN001, ANN201
    groups = draw(st.integers(1, 2))
    c, o = groups * draw(st.integers(1, 3)), groups * draw(st.integers(1, 2))
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    pad = tuple(draw(st.integers(0, 1)) for _ in range(4))
    attrs = {"stride": (draw(st.integers(1, 2)), draw(st.integers(1, 2))), "padding": pad,
             "dilation": (draw(st.integers(1, 2)), 1), "groups": groups}
    h = draw(st.integers(attrs["dilation"][0] * (k[0] - 1) + 1, 7))
    w = draw(st.integers(k[1], 7))
    return (draw(st.integers(1, 2)), c, h, w), (o, c // groups, *k), draw(st.booleans()), attrs


@settings(max_examples=30, deadline=None)
@given(case=conv_case(), seed=seeds)
def test_conv2d_nhwc_is_the_transposed_nchw_conv(case, seed) -> None:  # noqa: ANN001
    xs, ws, bias, attrs = case
    rng = np.random.default_rng(seed)
    x, w = rng.normal(size=xs).astype(np.float32), rng.normal(size=ws).astype(np.float32)
    rest = [w, rng.normal(size=ws[0]).astype(np.float32)] if bias else [w]
    same_both_ways("conv2d", x, *rest, **attrs)


@settings(max_examples=30, deadline=None)
@given(k=st.integers(1, 3), s=st.integers(1, 3), pad=st.integers(0, 1), ceil=st.booleans(),
       include=st.booleans(), hw=st.tuples(st.integers(3, 7), st.integers(3, 7)), seed=seeds)
def test_pools_nhwc_are_the_transposed_nchw_pools(k, s, pad, ceil, include, hw, seed) -> None:  # noqa: ANN001
    if pad * 2 > k:
        pad = 0  # PyTorch's rule: padding at most half the kernel
    x = np.random.default_rng(seed).normal(size=(2, 3, *hw)).astype(np.float32)
    window = {"kernel": (k, k), "stride": (s, s), "padding": (pad,) * 4, "ceil_mode": ceil}
    same_both_ways("max_pool2d", x, **window, dilation=(1, 1))
    same_both_ways("avg_pool2d", x, **window, count_include_pad=include)
    same_both_ways("global_avg_pool2d", x, exact=False)  # a mean over axes (1, 2), summed in another order


def test_max_pool2d_nhwc_of_ints() -> None:
    x = np.arange(2 * 3 * 5 * 4, dtype=np.int32).reshape(2, 3, 5, 4) * np.int32(-1)
    same_both_ways("max_pool2d", x, kernel=(2, 2), padding=(1, 1, 1, 1))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batch_norm_nhwc_normalises_the_last_axis(dtype) -> None:  # noqa: ANN001
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 3, 5, 4)).astype(dtype)
    scale, bias, mean = (rng.normal(size=3).astype(dtype) for _ in range(3))
    var = rng.uniform(0.5, 2.0, 3).astype(dtype)
    same_both_ways("batch_norm", x, scale, bias, mean, var, epsilon=1e-3)
    # Channels last at any rank: [N, C] and [N, L, C] too.
    x = nhwc(x)
    flat = x.reshape(-1, 3)
    got = run_op("batch_norm", [flat, scale, bias, mean, var], layout="NHWC")
    np.testing.assert_array_equal(got, run_op("batch_norm", [flat, scale, bias, mean, var]))
    seq = x.reshape(2, 20, 3)
    got = run_op("batch_norm", [seq, scale, bias, mean, var], layout="NHWC")
    want = run_op("batch_norm", [seq.transpose(0, 2, 1).copy(), scale, bias, mean, var])
    np.testing.assert_array_equal(got, want.transpose(0, 2, 1))


def test_nhwc_type_rules() -> None:
    f32 = "f32"
    w = TensorType(f32, (8, 3, 3, 3))
    x = TensorType(f32, (N, H, W, 3))
    out = infer("conv2d", x, w, padding=(1, 1, 1, 1), stride=(2, 2), layout="NHWC")
    assert str(out) == "f32[N, (H - 1)//2 + 1, (W - 1)//2 + 1, 8]"
    img = TensorType(f32, (N, H, W, 8))
    assert str(infer("max_pool2d", img, kernel=(2, 2), layout="NHWC")) == "f32[N, H//2, W//2, 8]"
    assert str(infer("avg_pool2d", img, kernel=(3, 3), stride=(1, 1), padding=(1, 1, 1, 1),
                     layout="NHWC")) == "f32[N, H, W, 8]"
    assert str(infer("global_avg_pool2d", img, layout="NHWC")) == "f32[N, 1, 1, 8]"
    c = TensorType(f32, (8,))
    assert infer("batch_norm", img, c, c, c, c, layout="NHWC") == img


def test_nhwc_errors_name_the_layout() -> None:
    w = TensorType("f32", (8, 3, 3, 3))
    # An NCHW image given to an NHWC conv: its "channels" are the width.
    with pytest.raises(ShapeError, match="input channels 32 .*NHWC"):
        infer("conv2d", TensorType("f32", (N, 3, 32, 32)), w, layout="NHWC")
    with pytest.raises(ShapeError, match=r"\[N, H, W, C\]"):
        infer("conv2d", TensorType("f32", (N, 32, 3)), w, layout="NHWC")
    with pytest.raises(ShapeError, match="NHWC image of rank 4"):
        infer("global_avg_pool2d", TensorType("f32", (N, 4, 4)), layout="NHWC")
    c = TensorType("f32", (3,))
    with pytest.raises(ShapeError, match="axis 3, layout NHWC"):
        infer("batch_norm", TensorType("f32", (N, 3, 8, 8)), c, c, c, c, layout="NHWC")
    for op, extra in (("conv2d", [w]), ("max_pool2d", []), ("avg_pool2d", []), ("global_avg_pool2d", []),
                      ("batch_norm", [c] * 4)):
        attrs = {"kernel": (2, 2)} if "pool2d" in op and op != "global_avg_pool2d" else {}
        with pytest.raises(AttributeError_, match="layout must be one of NCHW, NHWC, got 'NWHC'"):
            infer(op, TensorType("f32", (N, 3, 8, 8)), *extra, layout="NWHC", **attrs)


def decomposed(op: str, arrays: list[np.ndarray], **attrs: object) -> tuple[Graph, np.ndarray]:
    g = Graph(op)
    xs = [g.add_input(f"x{i}", TensorType("f32", a.shape)) for i, a in enumerate(arrays)]
    opdef = get_op(op)
    (out,) = opdef.decompose(Builder(g), xs, opdef.make_attrs(attrs))
    g.set_outputs([out])
    return g, run_graph(g, arrays)[0]


def test_nhwc_decompositions_match_the_references() -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 5, 4, 3)).astype(np.float32)
    g, got = decomposed("global_avg_pool2d", [x], layout="NHWC")
    assert [n.attrs["axes"] for n in g.nodes if n.op.name == "mean"] == [(1, 2)]
    np.testing.assert_allclose(got, run_op("global_avg_pool2d", [x], layout="NHWC"), rtol=1e-6)
    params = [rng.normal(size=3).astype(np.float32) for _ in range(3)] + [np.full(3, 1.5, np.float32)]
    g, got = decomposed("batch_norm", [x, *params], layout="NHWC")
    assert "reshape" not in {n.op.name for n in g.nodes}  # a [C] vector broadcasts over the last axis
    np.testing.assert_allclose(got, run_op("batch_norm", [x, *params], layout="NHWC"), rtol=1e-5, atol=1e-6)


def test_dot_shows_only_a_non_default_layout() -> None:
    g = Graph("g")
    x = g.add_input("x", TensorType("f32", (N, 8, 8, 3)))
    b = Builder(g)
    nhwc_node = b.op("max_pool2d", x, kernel=(2, 2), layout="NHWC").producer
    nchw_node = b.op("max_pool2d", x, kernel=(2, 2)).producer
    assert "layout=NHWC" in attr_summary(nhwc_node)
    assert not any(item.startswith("layout") for item in attr_summary(nchw_node))
