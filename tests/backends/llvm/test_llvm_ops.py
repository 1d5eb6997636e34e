"""Each llvm kernel against the numpy oracle: elementwise ops with broadcasting over hypothesis shapes
(sizes 1, primes, non-multiples of the vector width) and dtypes, reductions, normalisations, matmul,
convolutions, pools and data movement; fused elementwise regions; out-of-range gathers."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from llvm_cases import assert_matches, one_op

import axiom
from axiom.ir.errors import AxiomError

FAST = settings(max_examples=10, deadline=None)
SIDES = st.sampled_from([1, 2, 3, 5, 7, 8, 9, 17])
UNARY_FLOAT = ["neg", "abs", "exp", "log", "sqrt", "rsqrt", "reciprocal", "sin", "cos", "tan", "tanh", "erf",
               "sigmoid", "relu", "softplus", "floor", "ceil", "round", "asin", "acos", "atan", "sinh",
               "cosh", "asinh", "acosh", "atanh"]
BINARY = ["add", "sub", "mul", "div", "maximum", "minimum"]
COMPARE = ["equal", "not_equal", "less", "less_equal", "greater", "greater_equal"]


def _floats(rng: np.random.Generator, shape: tuple, dtype=np.float32) -> np.ndarray:  # noqa: ANN001
    x = rng.standard_normal(shape).astype(dtype)
    if x.size > 2:
        x.flat[0], x.flat[1] = np.nan, np.inf  # NaN and inf take the same paths as numpy's
    return x


@pytest.mark.parametrize("op", UNARY_FLOAT)
@FAST
@given(shape=st.lists(SIDES, max_size=3).map(tuple), seed=st.integers(0, 2**31 - 1))
def test_unary_float_ops(op, shape, seed) -> None:  # noqa: ANN001
    x = _floats(np.random.default_rng(seed), shape)
    if op in ("acosh",):
        x = np.abs(x) + 1
    with np.errstate(all="ignore"):
        assert_matches(one_op(op, [x]), [x], rtol=2e-6, atol=1e-6)


@pytest.mark.parametrize("op", BINARY + ["pow"])
@FAST
@given(a=st.lists(SIDES, max_size=3).map(tuple), b_rank=st.integers(0, 3), seed=st.integers(0, 2**31 - 1))
def test_binary_float_ops_broadcast(op, a, b_rank, seed) -> None:  # noqa: ANN001
    rng = np.random.default_rng(seed)
    b = tuple(d if rng.random() < 0.6 else 1 for d in a[len(a) - min(b_rank, len(a)):])
    x, y = _floats(rng, a), _floats(rng, b)
    with np.errstate(all="ignore"):
        assert_matches(one_op(op, [x, y]), [x, y], rtol=2e-6, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16, np.int32, np.uint32, np.int64, np.uint64])
@pytest.mark.parametrize("op", [*BINARY, *COMPARE])
def test_integer_ops_are_exact(op, dtype) -> None:  # noqa: ANN001
    info = np.iinfo(dtype)
    rng = np.random.default_rng(7)
    x = rng.integers(info.min, info.max, (5, 7), dtype=dtype, endpoint=True)
    y = rng.integers(info.min, info.max, (7,), dtype=dtype, endpoint=True)
    y[:3] = [0, 1, info.max]  # division by zero gives 0; MIN / -1 wraps like numpy
    if info.min < 0:
        x[0, :3], y[3] = info.min, -1
    with np.errstate(all="ignore"):
        assert_matches(one_op(op, [x, y]), [x, y])


@pytest.mark.parametrize("src", [np.float32, np.float64, np.float16, np.int8, np.uint8, np.int32, np.int64,
                                 np.bool_])
@pytest.mark.parametrize("to", ["f32", "f64", "f16", "i8", "u8", "i16", "i32", "u32", "i64", "bool"])
def test_cast_saturates_truncates_and_maps_nan_to_zero(src, to) -> None:  # noqa: ANN001
    rng = np.random.default_rng(3)
    if np.dtype(src).kind == "f":
        x = np.array([0.0, -0.0, 1.5, -1.5, 2.5e9, -3e9, 1e30, np.nan, np.inf, -np.inf, 200.7, -129.2], src)
    elif src == np.bool_:
        x = np.array([True, False, True])
    else:
        info = np.iinfo(src)
        edges = [info.min, info.max, 0, -1 if info.min else 1]
        x = np.concatenate([edges, rng.integers(info.min, info.max, 8)]).astype(src)
    with np.errstate(all="ignore"):
        assert_matches(one_op("cast", [x], to=to), [x])


def test_logic_where_clip_and_activations() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.random((4, 5)) < 0.5, rng.random((5,)) < 0.5
    for op in ("logical_and", "logical_or", "logical_xor"):
        assert_matches(one_op(op, [a, b]), [a, b])
    assert_matches(one_op("logical_not", [a]), [a])
    x, y = _floats(rng, (4, 5)), _floats(rng, (1, 5))
    assert_matches(one_op("where", [a, x, y]), [a, x, y])
    assert_matches(one_op("clip", [x], min=-0.5, max=0.7), [x])
    assert_matches(one_op("leaky_relu", [x], alpha=0.2), [x])
    for approx in ("none", "tanh"):
        assert_matches(one_op("gelu", [x], approximate=approx), [x], rtol=3e-6)
    n = rng.integers(-100, 100, (3, 4)).astype(np.int32)
    assert_matches(one_op("clip", [n], min=-7.5, max=20.2), [n])


@pytest.mark.parametrize("op", ["sum", "mean", "max", "min", "prod"])
@FAST
@given(shape=st.lists(SIDES, min_size=1, max_size=3).map(tuple), data=st.data())
def test_reductions(op, shape, data) -> None:  # noqa: ANN001
    axes = data.draw(st.lists(st.integers(0, len(shape) - 1), unique=True, max_size=len(shape)))
    keep = data.draw(st.booleans())
    x = np.random.default_rng(len(shape)).standard_normal(shape).astype(np.float32)
    assert_matches(one_op(op, [x], axes=axes or None, keepdims=keep), [x], rtol=1e-5, atol=1e-5)


def test_reductions_over_empty_axes_and_integers() -> None:
    e = np.zeros((2, 0, 3), np.float32)
    for op in ("sum", "max", "min", "prod"):
        assert_matches(one_op(op, [e], axes=[1]), [e])
    i = np.arange(-12, 12, dtype=np.int32).reshape(4, 6)
    for op in ("sum", "max", "min", "prod"):
        assert_matches(one_op(op, [i], axes=[0]), [i])


@pytest.mark.parametrize("op", ["argmax", "argmin"])
@pytest.mark.parametrize("last", [False, True])
def test_arg_reductions_with_ties_and_nan(op, last) -> None:  # noqa: ANN001
    x = np.random.default_rng(1).integers(0, 3, (4, 6, 5)).astype(np.float32)  # many ties
    x[1, 2, 3] = np.nan
    for axis in (0, 1, -1):
        assert_matches(one_op(op, [x], axis=axis, select_last_index=last), [x])


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_along_each_axis(op) -> None:  # noqa: ANN001
    x = np.random.default_rng(2).standard_normal((3, 4, 7)).astype(np.float32) * 5
    for axis in (0, 1, 2):
        assert_matches(one_op(op, [x], axis=axis), [x])


def test_layer_norm_matmul_and_linear() -> None:
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 5, 8)).astype(np.float32)
    s, b = rng.standard_normal(8).astype(np.float32), rng.standard_normal(8).astype(np.float32)
    assert_matches(one_op("layer_norm", [x, s, b], axis=-1, epsilon=1e-5), [x, s, b], rtol=1e-4, atol=1e-5)
    for ashape, bshape in [((5, 7), (7, 3)), ((2, 5, 7), (7, 3)), ((7,), (7, 3)), ((2, 1, 5, 7), (3, 7, 4)),
                           ((5, 7), (7,))]:
        p, q = rng.standard_normal(ashape).astype(np.float32), rng.standard_normal(bshape).astype(np.float32)
        assert_matches(one_op("matmul", [p, q]), [p, q], rtol=1e-5, atol=1e-5)
    w, bias = rng.standard_normal((6, 8)).astype(np.float32), rng.standard_normal(6).astype(np.float32)
    assert_matches(one_op("linear", [x, w, bias]), [x, w, bias], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
def test_conv_and_pools(layout) -> None:  # noqa: ANN001
    rng = np.random.default_rng(5)
    shape = (2, 4, 9, 7) if layout == "NCHW" else (2, 9, 7, 4)
    x = rng.standard_normal(shape).astype(np.float32)
    w, b = rng.standard_normal((6, 2, 3, 2)).astype(np.float32), rng.standard_normal(6).astype(np.float32)
    assert_matches(one_op("conv2d", [x, w, b], stride=(2, 1), padding=(1, 0, 2, 1), dilation=(1, 2), groups=2,
                          layout=layout), [x, w, b], rtol=1e-5, atol=1e-5)
    assert_matches(one_op("max_pool2d", [x], kernel=(3, 2), stride=(2, 2), padding=(1, 1, 1, 1),
                          ceil_mode=True, layout=layout), [x])
    for include in (False, True):
        assert_matches(one_op("avg_pool2d", [x], kernel=(3, 3), stride=(2, 2), padding=(1, 1, 1, 1),
                              ceil_mode=True, count_include_pad=include, layout=layout), [x])


def test_data_movement() -> None:
    rng = np.random.default_rng(6)
    x = rng.standard_normal((3, 4, 5)).astype(np.float32)
    assert_matches(one_op("transpose", [x], perm=(2, 0, 1)), [x])
    assert_matches(one_op("reshape", [x], shape=(12, 5)), [x])
    assert_matches(one_op("expand", [x[:, :1]], shape=(2, 3, 4, 5)), [x[:, :1].copy()])
    assert_matches(one_op("slice", [x], starts=(-1, 1), ends=(-10**9, 4), axes=(0, 2), steps=(-1, 2)), [x])
    y = rng.standard_normal((3, 2, 5)).astype(np.float32)
    assert_matches(one_op("concat", [x, y], axis=1), [x, y])
    assert_matches(one_op("split", [x], axis=1, sizes=(1, 3)), [x])
    assert_matches(one_op("pad", [x], pads=(1, 0, 2, 0, 3, 1), value=-2.0), [x])
    idx = np.array([[0, -1], [2, 1]], np.int64)
    assert_matches(one_op("gather", [x, idx], axis=1), [x, idx])


def test_an_out_of_range_gather_index_is_an_error_not_a_read() -> None:
    import axiom

    x, idx = np.ones((3, 4), np.float32), np.array([0, 4], np.int64)
    exe = axiom.compile(one_op("gather", [x, idx], axis=1), backend="llvm")
    with pytest.raises(AxiomError, match="gather: an index is out of range"):
        exe(x, idx)
    np.testing.assert_array_equal(exe(x, np.array([3, -4], np.int64)), x[:, [3, 0]])


def test_fused_elementwise_region_is_one_loop() -> None:
    from axiom.backends.llvm import source
    from axiom.compiler.pipeline import run_pipeline
    from axiom.ir.parser import parse_graph

    g = parse_graph("""graph @g(%x: f32[N, 7], %b: f32[7]) -> (f32[N, 7]) {
  %0 = add(%x, %b) : f32[N, 7]
  %1 = tanh(%0) : f32[N, 7]
  %2 = mul(%1, %x) : f32[N, 7]
  return %2
}""")
    fused = run_pipeline(g, "fuse{min-nodes=2}").graph
    assert [n.op.name for n in fused.nodes] == ["fused"]
    ll = source(fused)["ll"]
    kernels = re.findall(r"define internal void @(k\w+)\(", ll)  # not its parts (the threads' bodies)
    assert len(kernels) == 1, kernels  # one kernel for the three ops
    x, b = np.random.default_rng(0).standard_normal((5, 7)).astype(np.float32), np.ones(7, np.float32)
    assert_matches(fused, [x, b])


def test_bf16_rounds_to_nearest_even_and_keeps_nan() -> None:
    ml_dtypes = pytest.importorskip("ml_dtypes")
    from axiom.ir.dtypes import bf16

    x = np.array([1.0, 1.00390625, 1.01171875, 1.0078125, 3.4e38, -3.4e38, np.nan, np.inf, -np.inf, 1e-40,
                  0.0, -0.0, 65504.0], np.float32)
    got = axiom.compile(one_op("cast", [x], to=bf16), backend="llvm")(x)
    np.testing.assert_array_equal(got.view(np.uint16), x.astype(ml_dtypes.bfloat16).view(np.uint16))
    xb = np.random.default_rng(3).standard_normal((5, 7)).astype(ml_dtypes.bfloat16)
    assert_matches(one_op("mul", [xb, xb]), [xb, xb], rtol=0, atol=0)


def test_half_matmul_rounds_once() -> None:
    rng = np.random.default_rng(4)
    for sa, sb in (((4, 8), (8, 6)), ((2, 3, 5), (5, 7)), ((5,), (5, 3))):
        a, b = rng.standard_normal(sa).astype(np.float16), rng.standard_normal(sb).astype(np.float16)
        assert_matches(one_op("matmul", [a, b]), [a, b], rtol=0, atol=0)


def test_a_scalar_constant_output_keeps_its_shape() -> None:
    from axiom.ir import Builder, Graph, TensorType
    from axiom.ir.dtypes import f32

    g = Graph("g")
    x = g.add_input("x", TensorType(f32, (3,)))
    g.set_outputs([Builder(g).op("neg", x), g.add_constant(np.array(5, np.int64), "c")])
    _, c = axiom.compile(g, backend="llvm")(np.ones(3, np.float32))
    assert c.shape == () and c == 5
