"""The math ops (mod, bitshift, bitwise logic, rounding, is_inf/is_nan, sign, inverse and hyperbolic
trigonometry) against exact Python arithmetic and onnx's reference evaluator, their edge cases (x mod 0,
shifts out of range, halves), their type errors, and the integer dtypes i16/u16/u32/u64 through the
existing elementwise ops, reductions and the text form."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator
from op_harness import infer, run_op

from axiom.ir import ShapeError, TensorType, parse_graph, print_graph
from axiom.ir.dtypes import dtype_from_numpy

FAST = settings(max_examples=25, deadline=None)
INTS = [np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64, np.uint64]
UINTS = [np.uint8, np.uint16, np.uint32, np.uint64]
NEW_INTS = [np.int16, np.uint16, np.uint32, np.uint64]


def wrap(v: int, dtype: np.dtype) -> int:
    """``v`` reduced into ``dtype``'s range modulo 2**bits, as fixed-width integers wrap."""
    info = np.iinfo(dtype)
    return (v - int(info.min)) % 2**info.bits + int(info.min)


def int_arrays(dtype: object, n: int = 12) -> st.SearchStrategy:
    return hnp.arrays(np.dtype(dtype), n)


# ---- mod --------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", INTS)
@pytest.mark.parametrize("fmod", [False, True])
@FAST
@given(data=st.data())
def test_int_mod_follows_python_or_c_and_x_mod_0_is_0(dtype, fmod, data):
    x, y = data.draw(int_arrays(dtype)), data.draw(int_arrays(dtype))
    got = run_op("mod", [x, y], fmod=fmod)
    for a, b, r in zip(x.tolist(), y.tolist(), got.tolist(), strict=True):
        if b == 0:
            want = 0
        elif fmod:  # C: the dividend's sign
            want = abs(a) % abs(b) * (1 if a >= 0 else -1)
        else:  # Python: the divisor's sign
            want = a % b
        assert r == wrap(want, dtype), (a, b, r, want)


def test_mod_edge_cases():
    x = np.array([7, -7, 7, -7, 5, -128, -128], np.int8)
    y = np.array([3, 3, -3, -3, 0, -1, 3], np.int8)
    np.testing.assert_array_equal(run_op("mod", [x, y]), [1, 2, -2, -1, 0, 0, 1])
    np.testing.assert_array_equal(run_op("mod", [x, y], fmod=True), [1, -1, 1, -1, 0, 0, -2])


def onnx_reference(op_type: str, arrays: list[np.ndarray], opset: int = 28, **attrs: object) -> np.ndarray:
    """One ONNX node run by onnx's reference evaluator."""
    names = [f"x{i}" for i in range(len(arrays))]
    elem = helper.np_dtype_to_tensor_dtype
    node = helper.make_node(op_type, names, ["y"], **attrs)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info(n, elem(a.dtype), a.shape)
                                           for n, a in zip(names, arrays, strict=True)],
                              [helper.make_tensor_value_info("y", TensorProto.UNDEFINED, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    return ReferenceEvaluator(model).run(None, dict(zip(names, arrays, strict=True)))[0]


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@FAST
@given(data=st.data())
def test_float_fmod_matches_onnx(dtype, data):
    elements = st.floats(-100, 100, width=np.dtype(dtype).itemsize * 8)
    x = data.draw(hnp.arrays(dtype, 10, elements=elements))
    y = data.draw(hnp.arrays(dtype, 10, elements=elements.filter(lambda v: v != 0)))
    np.testing.assert_array_equal(run_op("mod", [x, y], fmod=True), onnx_reference("Mod", [x, y], fmod=1))


def test_float_mod_takes_the_divisor_sign():
    x = np.array([5.5, -5.5, 5.5, -5.5, 6.0, np.inf, 1.0], np.float32)
    y = np.array([2.0, 2.0, -2.0, -2.0, 3.0, 2.0, 0.0], np.float32)
    np.testing.assert_array_equal(run_op("mod", [x, y]), [1.5, 0.5, -0.5, -1.5, 0.0, np.nan, np.nan])


def test_float_mod_with_divisors_so_small_the_quotient_overflows():
    """x / y is inf here, so x - floor(x / y) * y (torch's remainder) would be NaN; the remainder is exact."""
    x = np.array([3.0, -3.0, 3.0, 1e300, 0.7], np.float64)
    y = np.array([2.0**-1023, 2.0**-1023, -(2.0**-1060), 3e-300, 5e-324], np.float64)
    got = run_op("mod", [x, y])
    assert np.isfinite(got).all()
    np.testing.assert_array_equal(got, np.mod(x, y))


# ---- bitshift and bitwise logic -----------------------------------------------------------
def shift_oracle(a: int, s: int, left: bool, dtype: np.dtype) -> int:
    bits = np.iinfo(dtype).bits
    if not 0 <= s < bits:
        return -1 if (not left and a < 0) else 0
    return wrap(a << s, dtype) if left else a >> s  # Python's >> is arithmetic, as for signed ints


@pytest.mark.parametrize("dtype", INTS)
@pytest.mark.parametrize("direction", ["LEFT", "RIGHT"])
@FAST
@given(data=st.data())
def test_bitshift_matches_python(dtype, direction, data):
    x = data.draw(int_arrays(dtype))
    info = np.iinfo(dtype)
    amounts = st.integers(max(int(info.min), -3), min(int(info.max), info.bits + 3))
    y = data.draw(hnp.arrays(np.dtype(dtype), 12, elements=amounts))
    got = run_op("bitshift", [x, y], direction=direction)
    for a, s, r in zip(x.tolist(), y.tolist(), got.tolist(), strict=True):
        assert r == shift_oracle(a, s, direction == "LEFT", dtype), (a, s, r)


@pytest.mark.parametrize("op, fn", [("bitwise_and", lambda a, b: a & b), ("bitwise_or", lambda a, b: a | b),
                                    ("bitwise_xor", lambda a, b: a ^ b)])
@pytest.mark.parametrize("dtype", INTS)
@FAST
@given(data=st.data())
def test_bitwise_binary_matches_python(op, fn, dtype, data):
    x, y = data.draw(int_arrays(dtype)), data.draw(int_arrays(dtype))
    got = run_op(op, [x, y])
    # Python's & | ^ on two's complement values agree with fixed-width ones, wrapped.
    assert got.tolist() == [wrap(fn(a, b), dtype) for a, b in zip(x.tolist(), y.tolist(), strict=True)]


@pytest.mark.parametrize("dtype", INTS)
def test_bitwise_not_matches_python(dtype):
    info = np.iinfo(dtype)
    x = np.array([0, 1, 5, int(info.max), int(info.min)], dtype)
    assert run_op("bitwise_not", [x]).tolist() == [wrap(~v, dtype) for v in x.tolist()]


# ---- rounding, classification, sign -------------------------------------------------------
def test_round_halves_to_even_and_floor_ceil():
    x = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4, -2.6, np.inf, np.nan], np.float32)
    np.testing.assert_array_equal(run_op("round", [x]), [0, 2, 2, -0, -2, -2, 2, -3, np.inf, np.nan])
    np.testing.assert_array_equal(run_op("floor", [x[:8]]), [0, 1, 2, -1, -2, -3, 2, -3])
    np.testing.assert_array_equal(run_op("ceil", [x[:8]]), [1, 2, 3, -0, -1, -2, 3, -2])


@pytest.mark.parametrize("pos, neg", [(True, True), (True, False), (False, True), (False, False)])
def test_is_inf_detects_the_signs_asked_for(pos, neg):
    x = np.array([np.inf, -np.inf, np.nan, 0.0, 1e38], np.float32)
    got = run_op("is_inf", [x], detect_positive=pos, detect_negative=neg)
    assert got.tolist() == [pos, neg, False, False, False]
    np.testing.assert_array_equal(got, onnx_reference("IsInf", [x], detect_positive=int(pos),
                                                      detect_negative=int(neg)))


def test_is_nan_and_sign():
    x = np.array([np.nan, -np.nan, np.inf, -3.0, 0.0, -0.0, 2.0], np.float16)
    assert run_op("is_nan", [x]).tolist() == [True, True, False, False, False, False, False]
    np.testing.assert_array_equal(run_op("sign", [x]), [np.nan, np.nan, 1, -1, 0, 0, 1])
    u = np.array([0, 7, 65535], np.uint16)
    np.testing.assert_array_equal(run_op("sign", [u]), np.array([0, 1, 1], np.uint16), strict=True)


TRIG = {"tan": "Tan", "asin": "Asin", "acos": "Acos", "atan": "Atan", "sinh": "Sinh", "cosh": "Cosh",
        "asinh": "Asinh", "acosh": "Acosh", "atanh": "Atanh", "floor": "Floor", "ceil": "Ceil",
        "round": "Round", "sign": "Sign", "is_nan": "IsNaN"}


@pytest.mark.parametrize("op", TRIG)
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_unary_matches_onnx_reference(op, dtype):
    x = np.concatenate([np.linspace(-3, 3, 61), [np.inf, -np.inf, np.nan, 0.999, -0.999]]).astype(dtype)
    got = run_op(op, [x])
    with np.errstate(all="ignore"):  # NaN outside the domain, inf at its ends
        want = onnx_reference(TRIG[op], [x])
    assert got.dtype == want.dtype
    tol = 2e-3 if dtype == np.float16 else 1e-6
    np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol=tol, atol=tol)


# ---- types and errors ---------------------------------------------------------------------
@pytest.mark.parametrize("op, types, attrs, match", [
    ("bitshift", ["f32[3]", "f32[3]"], {"direction": "LEFT"}, "bitshift: expects a int/uint tensor"),
    ("bitshift", ["u8[3]", "u8[3]"], {"direction": "UP"}, "direction must be LEFT or RIGHT"),
    ("bitwise_and", ["bool[3]", "bool[3]"], {}, "bitwise_and: expects a int/uint tensor"),
    ("mod", ["i32[3]", "i64[3]"], {}, "mod: operands must have one dtype"),
    ("mod", ["u16[2, 3]", "u16[4, 3]"], {}, "do not broadcast"),
    ("is_nan", ["i32[3]"], {}, "is_nan: expects a float tensor"),
    ("round", ["u8[3]"], {}, "round: expects a float tensor"),
    ("sign", ["bool[3]"], {}, "sign: expects a float/int/uint tensor"),
    ("bitwise_not", ["f16[3]"], {}, "bitwise_not: expects a int/uint tensor"),
])
def test_kind_and_dtype_errors(op, types, attrs, match):
    def parse(text: str) -> TensorType:
        dt, dims = text.rstrip("]").split("[")
        return TensorType(dt, [int(d) for d in dims.split(",") if d.strip()])

    with pytest.raises(ShapeError, match=match):
        infer(op, *[parse(t) for t in types], **attrs)


def test_result_types_broadcast_symbolically_and_classifiers_give_bool():
    from axiom.ir import sym

    n = sym("N")
    assert str(infer("mod", TensorType("u32", [n, 1]), TensorType("u32", [4]), fmod=True)) == "u32[N, 4]"
    assert str(infer("is_inf", TensorType("bf16", [n, 3]))) == "bool[N, 3]"
    shifted = infer("bitshift", TensorType("i16", [n]), TensorType("i16", [1]), direction="RIGHT")
    assert str(shifted) == "i16[N]"


# ---- the new integer dtypes through existing ops ------------------------------------------
BINARY_NP = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "maximum": np.maximum,
             "minimum": np.minimum, "equal": np.equal, "not_equal": np.not_equal, "less": np.less,
             "less_equal": np.less_equal, "greater": np.greater, "greater_equal": np.greater_equal}


@pytest.mark.parametrize("dtype", NEW_INTS)
@pytest.mark.parametrize("op", BINARY_NP)
@FAST
@given(data=st.data())
def test_new_int_dtypes_in_binary_ops_match_numpy(dtype, op, data):
    x, y = data.draw(int_arrays(dtype, 6)), data.draw(int_arrays(dtype, 6))
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(run_op(op, [x, y]), BINARY_NP[op](x, y), strict=True)


@pytest.mark.parametrize("dtype", NEW_INTS)
def test_new_int_dtypes_in_div_and_reductions(dtype):
    info = np.iinfo(dtype)
    x = np.array([[7, 0, int(info.max)], [3, 2, 1]], dtype)
    y = np.array([2, 0, 3], dtype)
    assert run_op("div", [x, y]).tolist() == [[3, 0, int(info.max) // 3], [1, 0, 0]]
    for op, fn in [("sum", np.sum), ("max", np.max), ("min", np.min), ("prod", np.prod)]:
        got = run_op(op, [x], axes=[1], keepdims=True)
        np.testing.assert_array_equal(got, fn(x, axis=1, keepdims=True).astype(dtype), strict=True)


@pytest.mark.parametrize("dtype", NEW_INTS)
def test_new_int_dtypes_print_and_parse(dtype):
    name = dtype_from_numpy(dtype).name
    text = (f"graph @g(%x: {name}[N, 3], %y: {name}[3]) -> ({name}[N, 3]) {{\n"
            f"  %0 = bitwise_xor(%x, %y) : {name}[N, 3]\n  return %0\n}}\n")
    assert print_graph(parse_graph(text)).strip() == text.strip()
