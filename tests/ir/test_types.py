"""TensorType and DType, and the symbolic broadcasting rule every binary op relies on."""

from __future__ import annotations

import dataclasses

import ml_dtypes
import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from axiom.ir import ALL_DTYPES, ShapeError, TensorType, Truth, as_dtype, bf16, f32, i64, sym
from axiom.ir.dtypes import dtype_from_name, dtype_from_numpy
from axiom.ir.ops.common import broadcast_shapes

N, M = sym("N"), sym("M")


# ---- dtypes -----------------------------------------------------------------------------
def test_dtype_table():
    assert [d.name for d in ALL_DTYPES] == ["f16", "bf16", "f32", "f64", "i8", "u8", "i16", "u16", "i32",
                                           "u32", "i64", "u64", "bool"]
    for d in ALL_DTYPES:
        assert as_dtype(d.name) is d
        assert as_dtype(d) is d
        assert dtype_from_numpy(d.np_dtype) is d
        assert d.itemsize == d.np_dtype.itemsize
        assert [d.is_float, d.is_int, d.is_bool].count(True) == 1
    assert bf16.np_dtype == np.dtype(ml_dtypes.bfloat16)
    assert as_dtype(np.float32) is f32 and as_dtype("int64") is i64


def test_dtype_errors_list_the_known_names():
    with pytest.raises(ValueError, match="unknown dtype 'f8'.*f16, bf16, f32"):
        dtype_from_name("f8")
    with pytest.raises(ValueError, match="complex64 has no Axiom dtype"):
        as_dtype(np.complex64)


# ---- TensorType -------------------------------------------------------------------------
def test_tensor_type_text_and_properties():
    t = TensorType("f32", ["N", 784])
    assert str(t) == "f32[N, 784]" and repr(t) == "TensorType(f32[N, 784])"
    assert t.shape == (N, 784) and t.rank == 2 and not t.is_static
    assert t.numel == 784 * N and t.symbols == {N}
    assert str(TensorType("bool", [])) == "bool[]"
    s = TensorType(np.float64, (np.int64(2), sympy.Integer(3)))
    assert s.is_static and s.numel == 6 and isinstance(s.shape[1], int) and s.dtype.name == "f64"
    assert str(TensorType("i8", ["(H - 1)//2 + 1"])) == "i8[(H - 1)//2 + 1]"


def test_tensor_type_is_frozen_hashable_and_structural():
    t = TensorType("f32", ["N", 3])
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.dtype = i64  # type: ignore[misc]
    assert t == TensorType(f32, [N, 3])
    assert len({t, TensorType("f32", [N, 3]), TensorType("f32", [M, 3])}) == 2
    assert t.with_shape([4]) == TensorType("f32", [4])
    assert t.with_dtype("i64") == TensorType("i64", [N, 3])
    assert t == TensorType("f32", ["N", 3])  # unchanged by the helpers


def test_tensor_type_same_as_is_three_valued():
    t = TensorType("f32", [N, 3])
    assert t.same_as(TensorType("f32", [N, 3])) is Truth.PROVED
    assert t.same_as(TensorType("f32", [M, 3])) is Truth.UNKNOWN
    assert t.same_as(TensorType("f32", [N, 4])) is Truth.DISPROVED
    assert t.same_as(TensorType("f64", [N, 3])) is Truth.DISPROVED
    assert t.same_as(TensorType("f32", [N])) is Truth.DISPROVED


@pytest.mark.parametrize("bad, err", [([-1], ValueError), ([True], TypeError), ([1.5], TypeError),
                                      (["N/2"], ValueError), (["2N"], ValueError)])
def test_tensor_type_rejects_bad_dims(bad, err):
    with pytest.raises(err):
        TensorType("f32", bad)


# ---- broadcast_shapes -------------------------------------------------------------------
@settings(max_examples=80, deadline=None)
@given(hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=4, max_side=4))
def test_broadcast_shapes_matches_numpy(shapes):
    inputs, result = shapes
    assert broadcast_shapes("add", *inputs) == result
    assert broadcast_shapes("add", *inputs) == np.broadcast_shapes(*inputs)


@settings(max_examples=60, deadline=None)
@given(hnp.array_shapes(min_dims=1, max_dims=3, min_side=2, max_side=4), st.data())
def test_broadcast_shapes_rejects_what_numpy_rejects(shape, data):
    axis = data.draw(st.integers(0, len(shape) - 1))
    other = list(shape)
    other[axis] = shape[axis] + data.draw(st.integers(1, 3))
    with pytest.raises(ValueError):
        np.broadcast_shapes(shape, tuple(other))
    with pytest.raises(ShapeError, match=f"add: shapes .* do not broadcast: dims {shape[axis]} and "
                                         f"{other[axis]} differ"):
        broadcast_shapes("add", shape, other)


def test_broadcast_shapes_symbolic():
    assert broadcast_shapes("mul", (N, 1, 3), (4, 1)) == (N, 4, 3)
    assert broadcast_shapes("mul", (N, 3), (N, 3), (1,)) == (N, 3)
    assert broadcast_shapes("mul", (2 * N,), (N + N,)) == (2 * N,)
    assert broadcast_shapes("mul") == ()
    with pytest.raises(ShapeError, match=r"mul: shapes \[N, 3\] and \[M, 3\] do not broadcast: dims N and "
                                         r"M cannot be proved equal"):
        broadcast_shapes("mul", (N, 3), (M, 3))
    with pytest.raises(ShapeError, match="dims N and 3 cannot be proved equal"):
        broadcast_shapes("mul", (N,), (3,))  # strict: N might be 1, 3 or anything
    with pytest.raises(ShapeError, match="dims N \\+ 1 and N differ"):
        broadcast_shapes("mul", (N + 1,), (N,))
