"""Reductions: type rules on symbolic shapes, and numerics against PyTorch eager."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from op_harness import infer, run_op

from axiom.ir import ShapeError, TensorType, get_op, sym

N, H = sym("N"), sym("H")
TOL = {np.float16: 2e-2, np.float32: 1e-5, np.float64: 1e-12}






@st.composite
def reduce_case(draw):  # noqa: ANN001, ANN201
    shape = draw(st.lists(st.integers(1, 4), min_size=1, max_size=4))
    rank = len(shape)
    if draw(st.booleans()):
        axes = None
    else:
        picked = draw(st.lists(st.integers(0, rank - 1), unique=True, max_size=rank))
        axes = [a - rank if draw(st.booleans()) else a for a in picked]
    return shape, axes, draw(st.booleans()), draw(st.integers(0, 2**31 - 1))


def torch_reduce(name: str, t: torch.Tensor, axes, keepdims: bool) -> torch.Tensor:  # noqa: ANN001
    dims = list(range(t.dim())) if axes is None else [a % t.dim() for a in axes]
    if not dims:
        return t
    if name == "prod":  # torch.prod takes one dim at a time
        for d in sorted(dims, reverse=True):
            t = torch.prod(t, dim=d, keepdim=keepdims)
        return t
    fn = {"sum": torch.sum, "mean": torch.mean, "max": torch.amax, "min": torch.amin}[name]
    return fn(t, dim=dims, keepdim=keepdims)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "prod"])
@settings(max_examples=15, deadline=None)
@given(case=reduce_case())
def test_float_reductions_match_torch(name, dtype, case) -> None:  # noqa: ANN001
    shape, axes, keepdims, seed = case
    x = np.random.default_rng(seed).uniform(0.5, 1.5, shape).astype(dtype)
    got = run_op(name, [x], axes=axes, keepdims=keepdims)
    want = torch_reduce(name, torch.from_numpy(x), axes, keepdims).numpy()
    np.testing.assert_allclose(got, want, rtol=TOL[dtype], atol=TOL[dtype])


@pytest.mark.parametrize("name", ["sum", "mean", "max", "min"])
def test_f16_reductions_compute_in_f32(name) -> None:  # noqa: ANN001
    x = np.random.default_rng(0).normal(size=(3, 50)).astype(np.float16)
    got = run_op(name, [x], axes=[1], keepdims=False)
    want = torch_reduce(name, torch.from_numpy(x).float(), [1], False).half().numpy()
    assert got.dtype == np.float16
    np.testing.assert_allclose(got.astype(np.float32), want.astype(np.float32), rtol=2e-3, atol=2e-3)


@pytest.mark.parametrize("name", ["sum", "max", "min", "prod"])
@settings(max_examples=10, deadline=None)
@given(case=reduce_case())
def test_int_reductions_match_torch(name, case) -> None:  # noqa: ANN001
    shape, axes, keepdims, seed = case
    x = np.random.default_rng(seed).integers(-3, 4, shape).astype(np.int32)
    got = run_op(name, [x], axes=axes, keepdims=keepdims)
    want = torch_reduce(name, torch.from_numpy(x), axes, keepdims).numpy()
    np.testing.assert_array_equal(got, want.astype(np.int32))


def test_nan_propagates_through_max() -> None:
    x = np.array([[1.0, np.nan], [2.0, 3.0]], np.float32)
    got = run_op("max", [x], axes=[1])
    assert np.isnan(got[0]) and got[1] == 3.0


def test_empty_axes_tuple_reduces_nothing() -> None:
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(run_op("sum", [x], axes=[]), x)


@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.uint8, np.bool_])
def test_max_and_min_over_an_empty_axis_give_their_identity(dtype) -> None:  # noqa: ANN001
    x = np.zeros((2, 0, 3), dtype)
    lo, hi = (False, True) if dtype == np.bool_ else (
        (-np.inf, np.inf) if dtype == np.float32 else (np.iinfo(dtype).min, np.iinfo(dtype).max))
    np.testing.assert_array_equal(run_op("max", [x], axes=[1]), np.full((2, 3), lo, dtype))
    np.testing.assert_array_equal(run_op("min", [x], axes=[1], keepdims=True), np.full((2, 1, 3), hi, dtype))
    np.testing.assert_array_equal(run_op("max", [np.array([[3, 7]], dtype)], axes=[1]),
                                  np.array([[3, 7]], dtype).max(axis=1))


@pytest.mark.parametrize("name,fn", [("argmax", torch.argmax), ("argmin", torch.argmin)])
@settings(max_examples=20, deadline=None)
@given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=3), data=st.data())
def test_arg_reductions_match_torch(name, fn, shape, data) -> None:  # noqa: ANN001
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    keepdims = data.draw(st.booleans())
    seed = data.draw(st.integers(0, 2**31 - 1))
    x = np.random.default_rng(seed).integers(0, 3, shape).astype(np.float32)  # many ties
    got = run_op(name, [x], axis=axis, keepdims=keepdims)
    want = fn(torch.from_numpy(x), dim=axis, keepdim=keepdims).numpy()
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, want)
    last = run_op(name, [x], axis=axis, keepdims=keepdims, select_last_index=True)
    flipped = fn(torch.from_numpy(np.flip(x, axis).copy()), dim=axis, keepdim=keepdims).numpy()
    np.testing.assert_array_equal(last, x.shape[axis] - 1 - flipped)


def test_select_last_index_on_ties() -> None:
    x = np.array([1, 5, 5, 0, 5], np.float32)
    assert run_op("argmax", [x]) == 1
    assert run_op("argmax", [x], select_last_index=True) == 4
    assert run_op("argmin", [np.array([2, 0, 0], np.int64)], select_last_index=True) == 2


# ---- type rules --------------------------------------------------------------------------
def test_symbolic_shapes_flow_through() -> None:
    t = TensorType("f32", (N, 3, H))
    assert str(infer("sum", t, axes=[-1])) == "f32[N, 3]"
    assert str(infer("mean", t, axes=[0, 2], keepdims=True)) == "f32[1, 3, 1]"
    assert str(infer("max", t)) == "f32[]"
    assert str(infer("prod", t, keepdims=True)) == "f32[1, 1, 1]"
    assert str(infer("argmax", t, axis=-1)) == "i64[N, 3]"
    assert str(infer("argmin", t, axis=1, keepdims=True)) == "i64[N, 1, H]"


def test_reductions_carry_their_trait() -> None:
    for name in ("sum", "mean", "max", "min", "prod", "argmax", "argmin"):
        assert "reduction" in get_op(name).traits


@pytest.mark.parametrize("axes,match", [([2], "out of range"), ([-3], "out of range"),
                                        ([1, -1], "twice"), ([0, 0], "twice")])
def test_bad_axes_are_shape_errors(axes, match) -> None:  # noqa: ANN001
    with pytest.raises(ShapeError, match=match) as info:
        infer("sum", TensorType("f32", (N, 4)), axes=axes)
    assert "f32[N, 4]" in str(info.value)


def test_mean_of_ints_is_an_error() -> None:
    with pytest.raises(ShapeError, match="mean"):
        infer("mean", TensorType("i32", (3,)))


def test_argmax_needs_rank_one_and_a_valid_axis() -> None:
    with pytest.raises(ShapeError, match="rank"):
        infer("argmax", TensorType("f32", ()))
    with pytest.raises(ShapeError, match="out of range"):
        infer("argmax", TensorType("f32", (2, 3)), axis=2)
