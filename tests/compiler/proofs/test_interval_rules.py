"""Interval rules against the numpy oracle: every value at sampled points of random boxes lies within
its bounds, and the bounds are tight where they should be (exact for selections and relu)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from axiom.compiler.proofs.ibp import BoundsError, propagate
from axiom.compiler.proofs.interval import Interval, gamma, to_dtype
from tests.compiler.proofs.bounds_cases import assert_sound, one_op, random_box

SHAPES = st.lists(st.sampled_from([1, 2, 3, 5, 7]), min_size=1, max_size=3).map(tuple)
SEEDS = st.integers(0, 2**31 - 1)
F32 = np.float32


@settings(max_examples=25, deadline=None)
@given(shape=SHAPES, seed=SEEDS, op=st.sampled_from(["relu", "neg", "abs", "floor", "ceil", "round", "sign"]))
def test_exact_unary_ops_are_sound(shape, seed, op):
    rng = np.random.default_rng(seed)
    g = one_op(op, [(shape, F32)])
    assert_sound(g, [random_box(rng, shape)], points=16, seed=seed)


@settings(max_examples=25, deadline=None)
@given(shape=SHAPES, seed=SEEDS, op=st.sampled_from(["add", "sub", "mul", "div", "maximum", "minimum"]),
       broadcast=st.booleans())
def test_binary_ops_are_sound(shape, seed, op, broadcast):
    rng = np.random.default_rng(seed)
    other = shape[-1:] if broadcast else shape
    g = one_op(op, [(shape, F32), (other, F32)])
    box = [random_box(rng, shape), random_box(rng, other, scale=2.0, center=1.0)]
    assert_sound(g, box, points=16, seed=seed)


@pytest.mark.parametrize("op,attrs", [("leaky_relu", {"alpha": 0.1}), ("leaky_relu", {"alpha": -0.5}),
                                      ("clip", {"min": -1.0, "max": 2.0}), ("cast", {"to": "f64"}),
                                      ("cast", {"to": "i32"}), ("cast", {"to": "f16"})])
def test_attribute_unary_ops_are_sound(op, attrs):
    rng = np.random.default_rng(1)
    g = one_op(op, [((4, 7), F32)], **attrs)
    assert_sound(g, [random_box(rng, (4, 7))], points=64)


def test_relu_bounds_are_exact():
    lo = np.array([[-2.0, -1.0, 0.5, 1.0]], F32)
    hi = np.array([[-1.0, 3.0, 0.75, 1.0]], F32)
    g = one_op("relu", [((1, 4), F32)])
    iv = propagate(g, [Interval.of(lo, hi)])[id(g.outputs[0])]
    np.testing.assert_array_equal(iv.lo, [[0, 0, 0.5, 1.0]])
    np.testing.assert_array_equal(iv.hi, [[0, 3.0, 0.75, 1.0]])


@settings(max_examples=20, deadline=None)
@given(m=st.sampled_from([1, 3, 8]), k=st.sampled_from([1, 5, 17, 64]), n=st.sampled_from([1, 4, 9]),
       seed=SEEDS, bias=st.booleans())
def test_linear_and_matmul_with_constant_weights_are_sound(m, k, n, seed, bias):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((n, k)).astype(F32)
    consts = [w, rng.standard_normal(n).astype(F32)] if bias else [w]
    box = [random_box(rng, (m, k))]
    assert_sound(one_op("linear", [((m, k), F32)], consts), box, points=16, seed=seed)
    assert_sound(one_op("matmul", [((m, k), F32)], [w.T.copy()]), box, points=16, seed=seed)


def test_matmul_of_two_bounded_operands_is_sound():
    rng = np.random.default_rng(3)
    g = one_op("matmul", [((2, 3, 6), F32), ((6, 4), F32)])
    assert_sound(g, [random_box(rng, (2, 3, 6)), random_box(rng, (6, 4))], points=64)


def test_the_rounding_margin_covers_float32_cancellation():
    """Boxes one ulp wide around points where float32 sums cancel badly: the executed product (numpy's
    float32 matmul, its own summation order) must still lie inside, so the margin is not optional."""
    rng = np.random.default_rng(4)
    k = 512
    x = (rng.standard_normal((16, k)) * 1e4).astype(F32)
    w = rng.standard_normal((k, 8)).astype(F32)
    w[-1] = -(x[0, :-1] @ w[:-1]) / x[0, -1]  # makes row 0's products cancel almost exactly
    box = Interval.of(x, np.nextafter(x, np.float32(np.inf)))
    bounds = assert_sound(one_op("matmul", [((16, k), F32)], [w]), [box], points=32)
    (out,) = [iv for iv in bounds.values() if iv.shape == (16, 8)]
    exact = x.astype(np.float64) @ w.astype(np.float64)
    assert (out.hi - out.lo > np.abs(exact) * 1e-7).any()  # the margin is there, not just the box width


@pytest.mark.parametrize("groups,bias", [(1, True), (2, False)])
def test_conv2d_is_sound(groups, bias):
    rng = np.random.default_rng(5)
    w = rng.standard_normal((4, 4 // groups, 3, 3)).astype(F32)
    consts = [w, rng.standard_normal(4).astype(F32)] if bias else [w]
    g = one_op("conv2d", [((2, 4, 6, 5), F32)], consts, padding=(1, 1, 1, 1), stride=(2, 1), groups=groups)
    assert_sound(g, [random_box(rng, (2, 4, 6, 5))], points=24)


@pytest.mark.parametrize("op,attrs", [("sum", {"axes": (1,)}), ("mean", {"axes": (0, 2), "keepdims": True}),
                                      ("cumsum", {"axis": 2}), ("global_avg_pool2d", {}),
                                      ("avg_pool2d", {"kernel": (2, 2)}), ("max_pool2d", {"kernel": (2, 3)}),
                                      ("max", {"axes": (3,)}), ("min", {"axes": (1, 2)})])
def test_reductions_and_pooling_are_sound(op, attrs):
    rng = np.random.default_rng(6)
    g = one_op(op, [((2, 3, 4, 5), F32)], **attrs)
    assert_sound(g, [random_box(rng, (2, 3, 4, 5))], points=48)


def test_batch_norm_is_sound():
    rng = np.random.default_rng(7)
    stats = [rng.standard_normal(3).astype(F32) for _ in range(3)] + [rng.random(3).astype(F32) + 0.1]
    g = one_op("batch_norm", [((2, 3, 4, 4), F32)], stats)
    assert_sound(g, [random_box(rng, (2, 3, 4, 4))], points=32)


@pytest.mark.parametrize("op,attrs", [
    ("reshape", {"shape": (6, 4)}), ("flatten", {"axis": 1}), ("transpose", {"perm": (2, 0, 1)}),
    ("unsqueeze", {"axes": (0,)}), ("slice", {"starts": (1,), "ends": (3,), "axes": (2,)}),
    ("pad", {"pads": (0, 1, 0, 0, 2, 1), "value": 9.0}), ("split", {"axis": 2, "sizes": (1, 3)}),
    ("topk", {"k": 2, "axis": 2}), ("trilu", {"k": 0})])
def test_element_moving_ops_are_sound(op, attrs):
    rng = np.random.default_rng(8)
    assert_sound(one_op(op, [((2, 3, 4), F32)], **attrs), [random_box(rng, (2, 3, 4))], points=32)


def test_gather_with_constant_indices_and_concat():
    rng = np.random.default_rng(9)
    g = one_op("gather", [((5, 3), F32)], [np.array([4, 0, 4], np.int64)], axis=0)
    assert_sound(g, [random_box(rng, (5, 3))], points=16)
    g = one_op("concat", [((2, 3), F32), ((2, 1), F32)], axis=1)
    assert_sound(g, [random_box(rng, (2, 3)), random_box(rng, (2, 1))], points=16)


def test_where_with_an_unknown_condition_joins_both_sides():
    rng = np.random.default_rng(10)
    g = one_op("where", [((3, 4), np.bool_), ((3, 4), F32), ((3, 4), F32)])
    cond = Interval.of(np.zeros((3, 4)), np.ones((3, 4)))
    assert_sound(g, [cond, random_box(rng, (3, 4)), random_box(rng, (3, 4))], points=16)


def test_nan_and_infinity_are_tracked():
    g = one_op("sub", [((1, 2), F32), ((1, 2), F32)])
    box = [Interval.of([[0.0, 1.0]], [[np.inf, 2.0]]), Interval.of([[1.0, 0.0]], [[np.inf, 1.0]])]
    out = propagate(g, box)[id(g.outputs[0])]
    assert out.nan.tolist() == [[True, False]]  # inf - inf
    g = one_op("div", [((1, 2), F32), ((1, 2), F32)])
    box = [Interval.of([[-1.0, 1.0]], [[1.0, 2.0]]), Interval.of([[-1.0, 1.0]], [[1.0, 2.0]])]
    out = propagate(g, box)[id(g.outputs[0])]
    assert out.nan.tolist() == [[True, False]] and out.lo[0, 0] == -np.inf and out.hi[0, 0] == np.inf
    np.testing.assert_array_equal([out.lo[0, 1], out.hi[0, 1]], [0.5, 2.0])


def test_float32_overflow_is_an_infinite_bound():
    g = one_op("mul", [((1,), F32), ((1,), F32)])
    out = propagate(g, [Interval.of([1e30], [2e30]), Interval.of([1e10], [1e10 + 1e4])])[id(g.outputs[0])]
    assert out.hi[0] == np.inf and out.lo[0] > 1e38


def test_to_dtype_rounds_outward():
    lo, hi = to_dtype(np.array([0.1, -1e39]), np.array([0.1, 1e39]), np.float32)
    assert lo[0] <= 0.1 <= hi[0] and lo[0] < hi[0] and lo[1] == -np.inf and hi[1] == np.inf
    assert gamma(2**25, np.float32) == np.inf and 0 < gamma(10, np.float32) < 1e-6


def test_ops_without_a_rule_are_listed_together():
    g = one_op("prod", [((2, 3), F32)], axes=(1,))
    with pytest.raises(BoundsError, match=r"no interval rule for 1 node.*\n  prod"):
        propagate(g, [Interval.of(np.zeros((2, 3)), np.ones((2, 3)))])


def test_exact_inputs_are_evaluated_by_the_reference():
    g = one_op("prod", [((2, 3), F32)], axes=(1,))
    x = np.arange(6, dtype=F32).reshape(2, 3)
    out = propagate(g, [Interval.point(x)])[id(g.outputs[0])]
    np.testing.assert_array_equal(out.lo, x.prod(axis=1))


def test_a_bounded_weight_is_a_clear_error():
    g = one_op("conv2d", [((1, 1, 3, 3), F32), ((1, 1, 2, 2), F32)])
    box = [Interval.of(np.zeros((1, 1, 3, 3)), np.ones((1, 1, 3, 3))),
           Interval.of(np.zeros((1, 1, 2, 2)), np.ones((1, 1, 2, 2)))]
    with pytest.raises(BoundsError, match=r"conv2d: the weight or bias \(input 1\) must be constant"):
        propagate(g, box)
