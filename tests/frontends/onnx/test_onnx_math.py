"""ONNX math converters (Mod, BitShift, Bitwise*, IsInf/IsNaN, Sign, rounding, trigonometry, CastLike, the
composed activations, Mean, ReduceL1/LogSum/LogSumExp over opsets) and the math op exporters, each
against onnxruntime; Cast between every pair of supported dtypes."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper
from onnx_cases import check, make

from axiom.backends.numpy.interpreter import run_graph
from axiom.frontends.onnx.export import to_onnx
from axiom.ir import ALL_DTYPES, UnsupportedError, parse_graph

F = TensorProto.FLOAT
RNG = np.random.default_rng(0)
X = RNG.standard_normal((3, 4)).astype(np.float32) * 3


def unary(op_type: str, x: np.ndarray, opset: int = 17, out_type: int | None = None, **attrs: object):  # noqa: ANN201
    elem = helper.np_dtype_to_tensor_dtype(x.dtype)
    node = helper.make_node(op_type, ["x"], ["y"], **attrs)
    return check(make([node], [("x", elem, list(x.shape))], [("y", out_type or elem, None)], opset=opset), x)


def binary(op_type: str, x: np.ndarray, y: np.ndarray, opset: int = 18, **attrs: object):  # noqa: ANN201
    elem = helper.np_dtype_to_tensor_dtype(x.dtype)
    node = helper.make_node(op_type, ["x", "y"], ["z"], **attrs)
    model = make([node], [("x", elem, list(x.shape)), ("y", elem, list(y.shape))], [("z", elem, None)],
                 opset=opset)
    return check(model, x, y)


@pytest.mark.parametrize("op", ["Tan", "Atan", "Sinh", "Cosh", "Asinh", "Floor", "Ceil", "Round", "Sign"])
def test_unary_float_ops(op):
    unary(op, X)


@pytest.mark.parametrize("op", ["Asin", "Acos", "Atanh"])
def test_unary_ops_on_their_domain(op):
    unary(op, np.linspace(-0.95, 0.95, 12, dtype=np.float32).reshape(3, 4))


def test_acosh_and_round_halves():
    unary("Acosh", np.linspace(1, 9, 12, dtype=np.float32).reshape(3, 4))
    unary("Round", np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5], np.float32))


@pytest.mark.parametrize("pos, neg", [(1, 1), (1, 0), (0, 1)])
def test_is_inf_and_is_nan(pos, neg):
    x = np.array([np.inf, -np.inf, np.nan, 0.0, 1.0], np.float32)
    unary("IsInf", x, out_type=TensorProto.BOOL, detect_positive=pos, detect_negative=neg)
    unary("IsNaN", x, out_type=TensorProto.BOOL)


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint32, np.uint64])
@pytest.mark.parametrize("fmod", [0, 1])
def test_integer_mod(dtype, fmod):
    lo = 0 if np.dtype(dtype).kind == "u" else -20
    x = RNG.integers(lo, 20, (3, 4)).astype(dtype)
    y = RNG.integers(1, 7, (4,)).astype(dtype) * (1 if lo == 0 else np.array([1, -1, 1, -1], dtype))
    binary("Mod", x, y.astype(dtype), opset=13, fmod=fmod)


def test_float_fmod():
    binary("Mod", X, np.array([1.5, -2.0, 0.7, 3.0], np.float32), opset=13, fmod=1)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.uint32, np.uint64])
@pytest.mark.parametrize("direction", ["LEFT", "RIGHT"])
def test_bitshift_unsigned(dtype, direction):
    bits = np.iinfo(dtype).bits
    x = RNG.integers(0, np.iinfo(dtype).max, (6,), endpoint=True, dtype=dtype)
    y = np.array([0, 1, 3, bits // 2, bits - 1, 2], dtype)
    binary("BitShift", x, y, opset=11, direction=direction)


@pytest.mark.parametrize("op", ["BitwiseAnd", "BitwiseOr", "BitwiseXor"])
@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.uint16, np.int32, np.uint64])
def test_bitwise_binary(op, dtype):
    info = np.iinfo(dtype)
    x = RNG.integers(info.min, info.max, (3, 4), endpoint=True, dtype=dtype)
    binary(op, x, RNG.integers(info.min, info.max, (4,), endpoint=True, dtype=dtype))


def test_bitwise_not():
    unary("BitwiseNot", np.array([0, 5, -1, 127, -128], np.int8), opset=18)


@pytest.mark.parametrize("opset", [15, 19, 21])
@pytest.mark.parametrize("to", [np.int32, np.uint16, np.float64, np.float32])
def test_cast_like(opset, to):
    like = np.zeros((1,), to)
    elem = helper.np_dtype_to_tensor_dtype(like.dtype)
    node = helper.make_node("CastLike", ["x", "like"], ["y"])
    model = make([node], [("x", F, [3, 4]), ("like", elem, [1])], [("y", elem, None)], opset=opset)
    check(model, np.abs(X), like)


NUMERIC = [d for d in ALL_DTYPES if d.name != "bf16"]  # onnxruntime's Cast has no bf16 on every pair


@pytest.mark.parametrize("src", NUMERIC, ids=str)
@pytest.mark.parametrize("dst", NUMERIC, ids=str)
def test_cast_every_pair_in_range(src, dst):
    vals = np.array([0, 1, 2, 3, 7, 100, 127], np.float64)
    x = (vals != 0) if src.is_bool else vals.astype(src.np_dtype)
    unary("Cast", x, opset=19, out_type=helper.np_dtype_to_tensor_dtype(dst.np_dtype),
          to=helper.np_dtype_to_tensor_dtype(dst.np_dtype))


# ---- composed activations and Mean -------------------------------------------------------
@pytest.mark.parametrize("op, opset, attrs", [
    ("Celu", 12, {}), ("Celu", 12, {"alpha": 2.0}), ("ThresholdedRelu", 10, {"alpha": 0.5}),
    ("Shrink", 9, {}), ("Shrink", 9, {"lambd": 1.0, "bias": 0.3}), ("Softsign", 1, {}),
    ("Mish", 18, {}),
])
def test_activations(op, opset, attrs):
    unary(op, X, opset=opset, **attrs)


def test_swish_matches_its_definition():
    from axiom.frontends.onnx import from_onnx

    node = helper.make_node("Swish", ["x"], ["y"], alpha=0.5)
    graph = from_onnx(make([node], [("x", F, [3, 4])], [("y", F, None)], opset=24))
    (got,) = run_graph(graph, [X])
    np.testing.assert_allclose(got, X / (1 + np.exp(-0.5 * X)), rtol=1e-6)


def test_mean_of_three_broadcast_inputs():
    node = helper.make_node("Mean", ["a", "b", "c"], ["y"])
    model = make([node], [("a", F, [3, 4]), ("b", F, [4]), ("c", F, [3, 1])], [("y", F, None)], opset=13)
    check(model, X, X[0], X[:, :1])


# ---- reductions over opsets -----------------------------------------------------------------
REDUCE = ["ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare", "ReduceMin",
          "ReduceProd"]


@pytest.mark.parametrize("op", REDUCE)
@pytest.mark.parametrize("axes, keepdims", [([1], 1), ([0, -1], 0), (None, 1)])
@pytest.mark.parametrize("opset", [13, 18])
def test_reductions(op, axes, keepdims, opset):
    x = np.abs(X) + 0.5
    inits = []
    if axes is None:
        node = helper.make_node(op, ["x"], ["y"], keepdims=keepdims)
    elif opset >= 18:
        node = helper.make_node(op, ["x", "axes"], ["y"], keepdims=keepdims)
        inits = [("axes", np.array(axes, np.int64))]
    else:
        node = helper.make_node(op, ["x"], ["y"], keepdims=keepdims, axes=axes)
    check(make([node], [("x", F, [3, 4])], [("y", F, None)], opset=opset, inits=inits), x)


def test_reduce_log_sum_exp_is_stable_and_handles_infinities():
    node = helper.make_node("ReduceLogSumExp", ["x"], ["y"], axes=[1], keepdims=0)
    model = make([node], [("x", F, [3, 2])], [("y", F, None)], opset=13)
    x = np.array([[1000.0, 1000.0], [-np.inf, -np.inf], [-np.inf, 0.0]], np.float32)
    check(model, x)


def test_reduce_with_empty_axes_is_a_noop_when_asked():
    node = helper.make_node("ReduceL1", ["x", "axes"], ["y"], noop_with_empty_axes=1)
    model = make([node], [("x", F, [3, 4])], [("y", F, None)], opset=18,
                 inits=[("axes", np.zeros((0,), np.int64))])
    check(model, X)


# ---- export --------------------------------------------------------------------------------------
def export_check(text: str, *inputs: np.ndarray) -> None:
    graph = parse_graph(text)
    model = to_onnx(graph, opset=20)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    got = sess.run(None, {v.name: a for v, a in zip(graph.inputs, inputs, strict=True)})
    for g, w in zip(got, run_graph(graph, list(inputs)), strict=True):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("op", ["tan", "atan", "sinh", "cosh", "asinh", "floor", "ceil", "round", "sign",
                                "is_nan", "is_inf"])
def test_export_unary(op):
    out = "bool" if op.startswith("is_") else "f32"
    x = np.concatenate([X.reshape(-1), [np.inf, -np.inf, np.nan, 2.5]]).astype(np.float32)
    export_check(f"graph @g(%x: f32[N]) -> ({out}[N]) {{\n  %0 = {op}(%x) : {out}[N]\n  return %0\n}}", x)


@pytest.mark.parametrize("op", ["asin", "acos", "atanh", "acosh"])
def test_export_unary_on_domain(op):
    lo, hi = (1.0, 3.0) if op == "acosh" else (-0.9, 0.9)
    x = np.linspace(lo, hi, 9, dtype=np.float32)
    export_check(f"graph @g(%x: f32[N]) -> (f32[N]) {{\n  %0 = {op}(%x) : f32[N]\n  return %0\n}}", x)


@pytest.mark.parametrize("dt, fmod", [("i32", False), ("i32", True), ("u16", False), ("f32", True),
                                      ("f32", False), ("f64", False)])
def test_export_mod_with_zero_divisors(dt, fmod):
    x = np.array([7, -7, 7, -7, 5, 0, 3], np.float64)
    y = np.array([3, 3, -3, -3, 0, 2, 4], np.float64)
    if dt == "u16":
        x, y = np.abs(x), np.abs(y)
    np_dt = {"i32": np.int32, "u16": np.uint16, "f32": np.float32, "f64": np.float64}[dt]
    x, y = x.astype(np_dt), y.astype(np_dt)
    if dt.startswith("f"):  # a float x mod 0 is NaN on both sides; keep the comparison finite
        y = np.where(y == 0, 1.5, y).astype(np_dt)
    flag = "true" if fmod else "false"
    export_check(f"graph @g(%x: {dt}[7], %y: {dt}[7]) -> ({dt}[7]) {{\n"
                 f"  %0 = mod(%x, %y) {{fmod = {flag}}} : {dt}[7]\n  return %0\n}}", x, y)


@pytest.mark.parametrize("dt", ["u8", "u64"])
@pytest.mark.parametrize("direction", ["LEFT", "RIGHT"])
def test_export_bitshift_guards_wide_shifts(dt, direction):
    np_dt = {"u8": np.uint8, "u64": np.uint64}[dt]
    x = np.array([1, 255, 128, 7, 9], np_dt)
    y = np.array([1, 3, 8, 64, 200], np_dt)
    export_check(f'graph @g(%x: {dt}[5], %y: {dt}[5]) -> ({dt}[5]) {{\n'
                 f'  %0 = bitshift(%x, %y) {{direction = "{direction}"}} : {dt}[5]\n  return %0\n}}', x, y)


def test_export_of_a_signed_bitshift_needs_opset_28():
    graph = parse_graph('graph @g(%x: i8[2], %y: i8[2]) -> (i8[2]) {\n'
                        '  %0 = bitshift(%x, %y) {direction = "RIGHT"} : i8[2]\n  return %0\n}')
    with pytest.raises(UnsupportedError, match="BitShift of signed i8 needs ONNX opset 28"):
        to_onnx(graph, opset=20)


@pytest.mark.parametrize("op", ["bitwise_and", "bitwise_or", "bitwise_xor"])
def test_export_bitwise(op):
    x = np.array([0, 5, -1, 100], np.int16)
    y = np.array([3, -6, 77, 100], np.int16)
    export_check(f"graph @g(%x: i16[4], %y: i16[4]) -> (i16[4], i16[4]) {{\n  %0 = {op}(%x, %y) : i16[4]\n"
                 f"  %1 = bitwise_not(%0) : i16[4]\n  return %0, %1\n}}", x, y)
