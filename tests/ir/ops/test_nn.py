"""Neural-network ops against torch.nn.functional on hypothesis-drawn shapes, and their
symbolic type rules (the output dims are checked against PyTorch's shapes too)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from op_harness import infer, run_op

from axiom.ir import ShapeError, TensorType, sym
from axiom.ir.dims import evaluate_dim
from axiom.ir.dtypes import dtype_from_numpy
from axiom.ir.errors import AttributeError_

N, C, H, W = sym("N"), sym("C"), sym("H"), sym("W")
TOL = {np.float16: 2e-2, np.float32: 1e-4, np.float64: 1e-10}
FLOATS = [np.float32, np.float64]






def symbolic_hw(op: str, x: np.ndarray, *rest: np.ndarray, **attrs) -> tuple[int, int]:
    """The op's output H and W inferred with H and W symbolic, then evaluated at x's sizes."""
    xt = TensorType(dtype_from_numpy(x.dtype), (N, x.shape[1], H, W))
    types = [TensorType(dtype_from_numpy(a.dtype), a.shape) for a in rest]
    out = infer(op, xt, *types, **attrs)
    binding = {"H": x.shape[2], "W": x.shape[3]}
    return evaluate_dim(out.shape[2], binding), evaluate_dim(out.shape[3], binding)


def close(got: np.ndarray, want: torch.Tensor, dtype) -> None:  # noqa: ANN001
    tol = TOL[dtype]
    np.testing.assert_allclose(got.astype(np.float64), want.double().numpy(), rtol=tol, atol=tol)


def t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a))


# ---- conv2d ------------------------------------------------------------------------------
@st.composite
def conv_case(draw):  # noqa: ANN001, ANN201
    groups = draw(st.integers(1, 3))
    c, o = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    pad = tuple(draw(st.integers(0, 2)) for _ in range(4))
    ext = [d * (kk - 1) + 1 for d, kk in zip(dilation, k, strict=True)]
    h = draw(st.integers(max(1, ext[0] - pad[0] - pad[2]), ext[0] + 5))
    w = draw(st.integers(max(1, ext[1] - pad[1] - pad[3]), ext[1] + 5))
    attrs = {"stride": stride, "padding": pad, "dilation": dilation, "groups": groups}
    return (draw(st.integers(1, 2)), c, h, w), (o, c // groups, *k), draw(st.booleans()), attrs


@pytest.mark.parametrize("dtype", FLOATS)
@settings(max_examples=40, deadline=None)
@given(case=conv_case(), seed=st.integers(0, 2**31 - 1))
def test_conv2d_matches_torch(dtype, case, seed) -> None:  # noqa: ANN001
    xs, ws, has_bias, attrs = case
    rng = np.random.default_rng(seed)
    arrays = [rng.normal(size=xs).astype(dtype), rng.normal(size=ws).astype(dtype)]
    if has_bias:
        arrays.append(rng.normal(size=ws[:1]).astype(dtype))
    got = run_op("conv2d", arrays, **attrs)
    top, left, bottom, right = attrs["padding"]
    padded = F.pad(t(arrays[0]), (left, right, top, bottom))
    want = F.conv2d(padded, t(arrays[1]), t(arrays[2]) if has_bias else None, stride=attrs["stride"],
                    dilation=attrs["dilation"], groups=attrs["groups"])
    close(got, want, dtype)
    assert symbolic_hw("conv2d", *arrays, **attrs) == tuple(want.shape[2:])


def test_conv2d_f16_computes_in_f32() -> None:
    rng = np.random.default_rng(0)
    x, w, b = (rng.normal(size=s).astype(np.float16) for s in [(2, 4, 9, 9), (6, 2, 3, 3), (6,)])
    got = run_op("conv2d", [x, w, b], padding=(1, 0, 1, 2), stride=(2, 1), groups=2)
    want = F.conv2d(F.pad(t(x).float(), (0, 2, 1, 1)), t(w).float(), t(b).float(), stride=(2, 1), groups=2)
    assert got.dtype == np.float16
    close(got, want.half(), np.float16)


# ---- pooling -----------------------------------------------------------------------------
@st.composite
def pool_case(draw, dilated: bool):  # noqa: ANN001, ANN201
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = draw(st.none() | st.tuples(st.integers(1, 3), st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) if dilated else (1, 1)
    pad = (draw(st.integers(0, k[0] // 2)), draw(st.integers(0, k[1] // 2)))
    ext = [d * (kk - 1) + 1 for d, kk in zip(dilation, k, strict=True)]
    h = draw(st.integers(max(1, ext[0] - 2 * pad[0]), ext[0] + 6))
    w = draw(st.integers(max(1, ext[1] - 2 * pad[1]), ext[1] + 6))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3)), h, w)
    return shape, k, stride, dilation, pad, draw(st.booleans())


@pytest.mark.parametrize("dtype", FLOATS)
@settings(max_examples=40, deadline=None)
@given(case=pool_case(dilated=True), seed=st.integers(0, 2**31 - 1))
def test_max_pool2d_matches_torch(dtype, case, seed) -> None:  # noqa: ANN001
    shape, k, stride, dilation, pad, ceil = case
    x = np.random.default_rng(seed).normal(size=shape).astype(dtype)
    attrs = {"kernel": k, "stride": stride, "dilation": dilation, "padding": (*pad, *pad), "ceil_mode": ceil}
    got = run_op("max_pool2d", [x], **attrs)
    want = F.max_pool2d(t(x), k, stride, pad, dilation, ceil_mode=ceil)
    close(got, want, dtype)
    assert symbolic_hw("max_pool2d", x, **attrs) == tuple(want.shape[2:])


@pytest.mark.parametrize("dtype", FLOATS)
@settings(max_examples=40, deadline=None)
@given(case=pool_case(dilated=False), include=st.booleans(), seed=st.integers(0, 2**31 - 1))
def test_avg_pool2d_matches_torch(dtype, case, include, seed) -> None:  # noqa: ANN001
    shape, k, stride, _, pad, ceil = case
    x = np.random.default_rng(seed).normal(size=shape).astype(dtype)
    attrs = {"kernel": k, "stride": stride, "padding": (*pad, *pad), "ceil_mode": ceil,
             "count_include_pad": include}
    got = run_op("avg_pool2d", [x], **attrs)
    want = F.avg_pool2d(t(x), k, stride, pad, ceil_mode=ceil, count_include_pad=include)
    close(got, want, dtype)
    assert symbolic_hw("avg_pool2d", x, **attrs) == tuple(want.shape[2:])


def _torch_pool(op: str, x: np.ndarray, k: int, s: int, d: int, p: int, ceil: bool, include: bool):  # noqa: ANN202
    """PyTorch's pool along H (kernel (k, 1)), or None where PyTorch rejects the sizes."""
    try:
        if op == "max_pool2d":
            return F.max_pool2d(t(x), (k, 1), (s, 1), (p, 0), (d, 1), ceil_mode=ceil).numpy()
        return F.avg_pool2d(t(x), (k, 1), (s, 1), (p, 0), ceil_mode=ceil, count_include_pad=include).numpy()
    except RuntimeError:
        return None


@pytest.mark.parametrize("op", ["max_pool2d", "avg_pool2d"])
def test_pool_sizes_and_rejections_match_torch_over_a_sweep(op) -> None:  # noqa: ANN001
    """Every small H, kernel, stride, dilation, padding (<= kernel/2, as PyTorch wants) and mode:
    the type rule accepts exactly what PyTorch accepts, with its output size, also in ceil mode
    where no whole window fits the padded input (H=2, kernel 3, stride 3, dilation 2, padding 1
    gives one window), and the symbolic size in H agrees at every H."""
    dilations = range(1, 4) if op == "max_pool2d" else [1]
    includes = [False] if op == "max_pool2d" else [False, True]
    accepted = 0
    sweep = itertools.product(range(1, 5), range(1, 5), dilations, [False, True], includes)
    for k, s, d, ceil, include in sweep:
        for p in range(k // 2 + 1):
            attrs = {"kernel": (k, 1), "stride": (s, 1), "padding": (p, 0, p, 0), "ceil_mode": ceil}
            attrs.update({"dilation": (d, 1)} if op == "max_pool2d" else {"count_include_pad": include})
            case = f"{op} k={k} s={s} d={d} p={p} ceil={ceil} include={include}"
            try:
                sym_h = infer(op, TensorType("f32", (1, 2, H, 3)), **attrs).shape[2]
            except ShapeError:
                sym_h = None
            for h in range(1, 9):
                x = np.random.default_rng(h).normal(size=(1, 2, h, 3)).astype(np.float32)
                want = _torch_pool(op, x, k, s, d, p, ceil, include)
                if want is None:
                    with pytest.raises(ShapeError, match="window"):
                        infer(op, TensorType("f32", x.shape), **attrs)
                    continue
                accepted += 1
                got = run_op(op, [x], **attrs)
                assert got.shape == want.shape, f"{case} H={h}"
                np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6, err_msg=f"{case} H={h}")
                assert sym_h is not None and evaluate_dim(sym_h, {"H": h}) == want.shape[2], f"{case} H={h}"
    assert accepted > 500


def test_ceil_mode_keeps_a_window_that_overhangs_the_padded_input() -> None:
    x = np.array([3.0, 5.0], np.float32).reshape(1, 1, 2, 1)
    attrs = {"kernel": (3, 1), "stride": (3, 1), "dilation": (2, 1), "padding": (1, 0, 1, 0)}
    got = run_op("max_pool2d", [x], ceil_mode=True, **attrs)
    want = F.max_pool2d(t(x), (3, 1), (3, 1), (1, 0), (2, 1), ceil_mode=True)
    np.testing.assert_array_equal(got, want.numpy())  # taps at rows -1, 1, 3: only x[1] = 5 is real
    assert got.ravel().tolist() == [5.0]
    with pytest.raises(ShapeError, match="does not fit"):
        infer("max_pool2d", TensorType("f32", x.shape), ceil_mode=False, **attrs)
    with pytest.raises(ShapeError, match="leaves no window"):  # PyTorch: output size 0
        infer("max_pool2d", TensorType("f32", (1, 1, 1, 1)), kernel=(4, 1), stride=(2, 1), ceil_mode=True)


@settings(max_examples=20, deadline=None)
@given(pad=st.tuples(*[st.integers(0, 3)] * 4), k=st.integers(1, 4), s=st.integers(1, 3),
       seed=st.integers(0, 2**31 - 1))
def test_pools_with_asymmetric_padding_match_explicit_pad(pad, k, s, seed) -> None:  # noqa: ANN001
    x = np.random.default_rng(seed).normal(size=(1, 2, 5, 6)).astype(np.float32)
    top, left, bottom, right = pad
    got = run_op("max_pool2d", [x], kernel=(k, k), stride=(s, s), padding=pad)
    want = F.max_pool2d(F.pad(t(x), (left, right, top, bottom), value=-np.inf), k, s)
    close(got, want, np.float32)
    got = run_op("avg_pool2d", [x], kernel=(k, k), stride=(s, s), padding=pad, count_include_pad=True)
    want = F.avg_pool2d(F.pad(t(x), (left, right, top, bottom)), k, s)
    close(got, want, np.float32)


def test_max_pool2d_of_ints_pads_with_the_lowest_int() -> None:
    x = -np.arange(16, dtype=np.int32).reshape(1, 1, 4, 4) - 100
    got = run_op("max_pool2d", [x], kernel=(2, 2), padding=(1, 1, 1, 1))
    want = F.max_pool2d(t(x).double(), 2, padding=1).numpy().astype(np.int32)
    np.testing.assert_array_equal(got, want)


def test_pools_f16() -> None:
    x = np.random.default_rng(4).normal(size=(1, 3, 7, 7)).astype(np.float16)
    got = run_op("avg_pool2d", [x], kernel=(3, 3), stride=(2, 2), padding=(1, 1, 1, 1), ceil_mode=True)
    want = F.avg_pool2d(t(x).float(), 3, 2, 1, ceil_mode=True, count_include_pad=False)
    close(got, want.half(), np.float16)
    got = run_op("max_pool2d", [x], kernel=(2, 2), ceil_mode=True)
    close(got, F.max_pool2d(t(x).float(), 2, ceil_mode=True).half(), np.float16)


@pytest.mark.parametrize("dtype", [*FLOATS, np.float16])
def test_global_avg_pool2d_matches_torch(dtype) -> None:  # noqa: ANN001
    x = np.random.default_rng(5).normal(size=(2, 3, 5, 4)).astype(dtype)
    close(run_op("global_avg_pool2d", [x]), F.adaptive_avg_pool2d(t(x).double(), 1), dtype)


# ---- normalisation, softmax, dropout -----------------------------------------------------
@pytest.mark.parametrize("dtype", FLOATS)
@settings(max_examples=25, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=2, max_size=4), eps=st.sampled_from([1e-5, 1e-3, 0.1]),
       seed=st.integers(0, 2**31 - 1))
def test_batch_norm_matches_torch(dtype, shape, eps, seed) -> None:  # noqa: ANN001
    rng = np.random.default_rng(seed)
    c = shape[1]
    x = rng.normal(size=shape).astype(dtype)
    scale, bias, mean = (rng.normal(size=c).astype(dtype) for _ in range(3))
    var = rng.uniform(0.1, 2.0, c).astype(dtype)
    got = run_op("batch_norm", [x, scale, bias, mean, var], epsilon=eps)
    want = F.batch_norm(t(x), t(mean), t(var), t(scale), t(bias), training=False, eps=eps)
    close(got, want, dtype)


@pytest.mark.parametrize("dtype", FLOATS)
@settings(max_examples=30, deadline=None)
@given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=4), data=st.data())
def test_layer_norm_matches_torch(dtype, shape, data) -> None:  # noqa: ANN001
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    params = data.draw(st.integers(0, 2))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31 - 1)))
    x = (rng.normal(size=shape) * 10 + 3).astype(dtype)
    inner = tuple(shape[axis:])
    ps = [rng.normal(size=inner).astype(dtype) for _ in range(params)]
    got = run_op("layer_norm", [x, *ps], axis=axis, epsilon=1e-5)
    want = F.layer_norm(t(x), inner, *(t(p) for p in ps), eps=1e-5)
    close(got, want, dtype)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@settings(max_examples=25, deadline=None)
@given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=4), scale=st.sampled_from([1.0, 1e3]),
       data=st.data())
def test_softmax_matches_torch_and_is_stable(dtype, name, shape, scale, data) -> None:  # noqa: ANN001
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31 - 1)))
    x = (rng.normal(size=shape) * scale).astype(dtype)
    got = run_op(name, [x], axis=axis)
    want = getattr(F, name)(t(x), dim=axis)
    assert np.all(np.isfinite(got))
    close(got, want, dtype)


def test_norms_and_softmax_f16() -> None:
    rng = np.random.default_rng(6)
    x = rng.normal(size=(2, 3, 4)).astype(np.float16)
    close(run_op("softmax", [x], axis=1), F.softmax(t(x).float(), 1).half(), np.float16)
    close(run_op("log_softmax", [x]), F.log_softmax(t(x).float(), -1).half(), np.float16)
    s, b = rng.normal(size=(3, 4)).astype(np.float16), rng.normal(size=(3, 4)).astype(np.float16)
    close(run_op("layer_norm", [x, s, b], axis=1), F.layer_norm(t(x).float(), (3, 4), t(s).float(),
                                                                 t(b).float()).half(), np.float16)


def test_dropout_is_identity_at_inference() -> None:
    x = np.random.default_rng(7).normal(size=(3, 4)).astype(np.float32)
    got = run_op("dropout", [x], rate=0.3)
    np.testing.assert_array_equal(got, F.dropout(t(x), 0.3, training=False).numpy())


# ---- type rules --------------------------------------------------------------------------
def test_conv2d_symbolic_batch_and_spatial_dims() -> None:
    w = TensorType("f32", (32, 1, 3, 3))
    assert str(infer("conv2d", TensorType("f32", (N, 1, 28, 28)), w, padding=(1, 1, 1, 1))) == \
        "f32[N, 32, 28, 28]"
    out = infer("conv2d", TensorType("f32", (N, 1, H, W)), w, padding=(1, 1, 1, 1), stride=(2, 2))
    assert str(out) == "f32[N, 32, (H - 1)//2 + 1, (W - 1)//2 + 1]"
    assert str(infer("conv2d", TensorType("f32", (N, 1, H, W)), w)) == "f32[N, 32, H - 2, W - 2]"
    grouped = infer("conv2d", TensorType("f32", (N, 8, H, 9)), TensorType("f32", (4, 2, 1, 3)), groups=4,
                    dilation=(1, 2))
    assert str(grouped) == "f32[N, 4, H, 5]"


@pytest.mark.parametrize("x,w,attrs,match", [
    ((N, 3, 8, 8), (4, 2, 3, 3), {}, "input channels 3"),
    ((N, 4, 8, 8), (3, 2, 3, 3), {"groups": 2}, "divisible by groups"),
    ((N, 1, 2, 8), (4, 1, 3, 3), {}, "does not fit"),
    ((N, 1, 8), (4, 1, 3, 3), {}, "NCHW|\\[N, C, H, W\\]"),
])
def test_conv2d_shape_errors_name_both_shapes(x, w, attrs, match) -> None:  # noqa: ANN001
    tx, tw = TensorType("f32", x), TensorType("f32", w)
    with pytest.raises(ShapeError, match=match) as info:
        infer("conv2d", tx, tw, **attrs)
    assert str(tx) in str(info.value) and str(tw) in str(info.value)


def test_conv2d_bias_and_attribute_errors() -> None:
    x, w = TensorType("f32", (N, 3, 8, 8)), TensorType("f32", (4, 3, 3, 3))
    with pytest.raises(ShapeError, match="bias"):
        infer("conv2d", x, w, TensorType("f32", (5,)))
    with pytest.raises(AttributeError_, match="padding"):
        infer("conv2d", x, w, padding=(1, 1))
    with pytest.raises(AttributeError_, match="stride"):
        infer("conv2d", x, w, stride=(0, 1))


def test_pool_symbolic_shapes() -> None:
    x = TensorType("f32", (N, C, H, W))
    assert str(infer("max_pool2d", x, kernel=(2, 2))) == "f32[N, C, H//2, W//2]"
    assert str(infer("avg_pool2d", x, kernel=(3, 3), stride=(1, 1), padding=(1, 1, 1, 1))) == \
        "f32[N, C, H, W]"
    assert str(infer("global_avg_pool2d", x)) == "f32[N, C, 1, 1]"
    with pytest.raises(ShapeError, match="does not fit"):
        infer("max_pool2d", TensorType("f32", (N, C, 1, 4)), kernel=(2, 2))
    with pytest.raises(AttributeError_, match="kernel"):
        infer("max_pool2d", x, kernel=(2,))
    with pytest.raises(ShapeError, match="rank 4"):
        infer("global_avg_pool2d", TensorType("f32", (N, C, H)))


def test_norm_softmax_dropout_type_rules() -> None:
    x = TensorType("f32", (N, 16, H, W))
    c = TensorType("f32", (16,))
    assert infer("batch_norm", x, c, c, c, c) == x
    with pytest.raises(ShapeError, match="mean") as info:
        infer("batch_norm", x, c, c, TensorType("f32", (8,)), c)
    assert "f32[8]" in str(info.value) and str(x) in str(info.value)
    seq = TensorType("f32", (N, 7, 32))
    assert infer("layer_norm", seq, TensorType("f32", (32,)), TensorType("f32", (32,))) == seq
    assert infer("layer_norm", seq, TensorType("f32", (7, 32)), axis=1) == seq
    with pytest.raises(ShapeError, match="scale") as info:
        infer("layer_norm", seq, TensorType("f32", (7,)))
    assert "f32[7]" in str(info.value) and str(seq) in str(info.value)
    assert infer("softmax", seq, axis=1) == seq
    with pytest.raises(ShapeError, match="out of range"):
        infer("log_softmax", seq, axis=3)
    with pytest.raises(AttributeError_, match="rate"):
        infer("dropout", seq, rate=1.0)
