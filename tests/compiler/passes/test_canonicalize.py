"""canonicalize: each normal-form rewrite as Before/Expected IR text (with its hit counter),
the cases it must leave alone, and the oracle on DSL models (bit-exact: every rewrite is)."""

import numpy as np
import pytest

import axiom
from axiom import Tensor, f32, ops
from axiom.compiler.testing import assert_pass, canonical_text, run_on_text
from axiom.examples.mnist import fake_digits, mnist
from axiom.nn import Dense, Dropout, ReLU


def check(before: str, expected: str, hits: dict[str, int]) -> None:
    ctx = assert_pass(before, "canonicalize", expected)
    for name, n in hits.items():
        assert ctx.stats[f"pattern.{name}"] == n, (name, dict(ctx.stats))


def unchanged(text: str) -> None:
    """canonicalize leaves ``text`` exactly as it is."""
    ctx = assert_pass(text, "canonicalize", text)
    assert not [k for k in ctx.stats if k.startswith("pattern.")], dict(ctx.stats)


def test_constants_go_second_in_commutative_ops():
    check("""
graph @g(%x: f32[N, 2], %b: bool[N, 2]) -> (f32[N, 2], f32[N, 2], bool[N, 2], bool[N, 2]) {
  %c = const {name = "c"} dense<[1.5, 2.0]> : f32[2]
  %t = const {name = "t"} dense<[true, false]> : bool[2]
  %0 = mul(%c, %x) : f32[N, 2]
  %1 = add(%c, %0) : f32[N, 2]
  %2 = equal(%c, %1) : bool[N, 2]
  %3 = logical_and(%t, %b) : bool[N, 2]
  return %0, %1, %2, %3
}""", """
graph @g(%x: f32[N, 2], %b: bool[N, 2]) -> (f32[N, 2], f32[N, 2], bool[N, 2], bool[N, 2]) {
  %c = const {name = "c"} dense<[1.5, 2.0]> : f32[2]
  %t = const {name = "t"} dense<[true, false]> : bool[2]
  %0 = mul(%x, %c) : f32[N, 2]
  %1 = add(%0, %c) : f32[N, 2]
  %2 = equal(%1, %c) : bool[N, 2]
  %3 = logical_and(%b, %t) : bool[N, 2]
  return %0, %1, %2, %3
}""", {"commute-constant": 4})


def test_max_min_swap_only_constants_without_zeros():
    # maximum(-0.0, +0.0) depends on the operand order in numpy: a float zero constant stays
    # first; integers have one zero.
    check("""
graph @g(%x: f32[3], %i: i32[3]) -> (f32[3], f32[3], i32[3]) {
  %c = const {name = "c"} dense<[1.0, -2.0, 3.0]> : f32[3]
  %z = const {name = "z"} dense<[1.0, 0.0, 3.0]> : f32[3]
  %zi = const {name = "zi"} dense<0> : i32[]
  %0 = maximum(%c, %x) : f32[3]
  %1 = minimum(%z, %0) : f32[3]
  %2 = maximum(%zi, %i) : i32[3]
  return %0, %1, %2
}""", """
graph @g(%x: f32[3], %i: i32[3]) -> (f32[3], f32[3], i32[3]) {
  %c = const {name = "c"} dense<[1.0, -2.0, 3.0]> : f32[3]
  %z = const {name = "z"} dense<[1.0, 0.0, 3.0]> : f32[3]
  %zi = const {name = "zi"} dense<0> : i32[]
  %0 = maximum(%x, %c) : f32[3]
  %1 = minimum(%z, %0) : f32[3]
  %2 = maximum(%i, %zi) : i32[3]
  return %0, %1, %2
}""", {"commute-constant": 2})


def test_comparisons_with_a_constant_first_are_flipped():
    check("""
graph @g(%x: i32[4]) -> (bool[4], bool[4], bool[4], bool[4]) {
  %c = const {name = "c"} dense<3> : i32[]
  %0 = less(%c, %x) : bool[4]
  %1 = less_equal(%c, %x) : bool[4]
  %2 = greater(%c, %x) : bool[4]
  %3 = greater_equal(%c, %x) : bool[4]
  return %0, %1, %2, %3
}""", """
graph @g(%x: i32[4]) -> (bool[4], bool[4], bool[4], bool[4]) {
  %c = const {name = "c"} dense<3> : i32[]
  %0 = greater(%x, %c) : bool[4]
  %1 = greater_equal(%x, %c) : bool[4]
  %2 = less(%x, %c) : bool[4]
  %3 = less_equal(%x, %c) : bool[4]
  return %0, %1, %2, %3
}""", {"flip-comparison": 4})


def test_operand_order_is_kept_when_both_or_neither_are_constants_and_for_sub():
    unchanged("""
graph @g(%x: f32[2], %y: f32[2]) -> (f32[2], f32[2], f32[2], f32[2]) {
  %a = const {name = "a"} dense<[1.0, 2.0]> : f32[2]
  %b = const {name = "b"} dense<[3.0, 4.0]> : f32[2]
  %0 = add(%a, %b) : f32[2]
  %1 = mul(%y, %x) : f32[2]
  %2 = sub(%a, %x) : f32[2]
  %3 = sub(%x, %a) : f32[2]
  return %0, %1, %2, %3
}""")


def test_transpose_with_the_identity_perm_is_removed():
    check("""
graph @g(%x: f32[N, 3, 4], %v: f32[5]) -> (f32[N, 3, 4], f32[5]) {
  %0 = transpose(%x) {perm = [0, 1, 2]} : f32[N, 3, 4]
  %1 = transpose(%v) {perm = none} : f32[5]
  return %0, %1
}""", """
graph @g(%x: f32[N, 3, 4], %v: f32[5]) -> (f32[N, 3, 4], f32[5]) {
  return %x, %v
}""", {"transpose-identity": 2})


def test_a_transpose_keeping_the_type_but_moving_elements_stays():
    unchanged("""
graph @g(%x: f32[3, 3]) -> (f32[3, 3], f32[3, 3]) {
  %0 = transpose(%x) {perm = [1, 0]} : f32[3, 3]
  %1 = transpose(%x) {perm = none} : f32[3, 3]
  return %0, %1
}""")


def test_shape_ops_that_keep_the_shape_are_removed():
    check("""
graph @g(%x: f32[N, 4], %y: f32[1, 4]) -> (f32[N, 4]) {
  %0 = reshape(%x) {shape = [N, 4]} : f32[N, 4]
  %1 = flatten(%0) {axis = 1} : f32[N, 4]
  %2 = squeeze(%1) {axes = []} : f32[N, 4]
  %3 = squeeze(%2) : f32[N, 4]
  %4 = unsqueeze(%3) {axes = []} : f32[N, 4]
  %5 = expand(%4) {shape = [N, 4]} : f32[N, 4]
  %6 = expand(%y) {shape = [1, 4]} : f32[1, 4]
  %7 = add(%5, %6) : f32[N, 4]
  return %7
}""", """
graph @g(%x: f32[N, 4], %y: f32[1, 4]) -> (f32[N, 4]) {
  %7 = add(%x, %y) : f32[N, 4]
  return %7
}""", {"reshape-noop": 1, "flatten-noop": 1, "squeeze-noop": 2, "unsqueeze-noop": 1, "expand-noop": 2})


def test_shape_ops_that_change_the_shape_stay():
    unchanged("""
graph @g(%x: f32[N, 1, 4]) -> (f32[N, 4], f32[N, 4], f32[N, 1, 1, 4], f32[N, 3, 4]) {
  %0 = reshape(%x) {shape = [N, 4]} : f32[N, 4]
  %1 = squeeze(%x) {axes = [1]} : f32[N, 4]
  %2 = unsqueeze(%x) {axes = [1]} : f32[N, 1, 1, 4]
  %3 = expand(%x) {shape = [N, 3, 4]} : f32[N, 3, 4]
  return %0, %1, %2, %3
}""")


def test_cast_to_the_same_dtype_and_dropout_are_removed():
    check("""
graph @g(%x: f32[N, 4], %i: i8[3]) -> (f32[N, 4], i8[3], f64[3]) {
  %0 = cast(%x) {to = f32} : f32[N, 4]
  %1 = dropout(%0) {rate = 0.25} : f32[N, 4]
  %2 = cast(%i) {to = i8} : i8[3]
  %3 = cast(%2) {to = f64} : f64[3]
  return %1, %2, %3
}""", """
graph @g(%x: f32[N, 4], %i: i8[3]) -> (f32[N, 4], i8[3], f64[3]) {
  %3 = cast(%i) {to = f64} : f64[3]
  return %x, %i, %3
}""", {"cast-noop": 2, "dropout-inference": 1})


def test_concat_and_split_of_one_piece_are_removed():
    check("""
graph @g(%x: f32[N, 4]) -> (f32[N, 4], f32[N, 1]) {
  %0 = concat(%x) {axis = 1} : f32[N, 4]
  %1 = split(%0) {axis = 1, sizes = [4]} : f32[N, 4]
  %2 = concat(%1, %1) {axis = 1} : f32[N, 8]
  %3, %4 = split(%2) {axis = 1, sizes = [7, 1]} : f32[N, 7], f32[N, 1]
  return %1, %4
}""", """
graph @g(%x: f32[N, 4]) -> (f32[N, 4], f32[N, 1]) {
  %2 = concat(%x, %x) {axis = 1} : f32[N, 8]
  %3, %4 = split(%2) {axis = 1, sizes = [7, 1]} : f32[N, 7], f32[N, 1]
  return %x, %4
}""", {"concat-single": 1, "split-single": 1})


def test_a_slice_that_takes_everything_is_removed():
    check("""
graph @g(%x: f32[N, 4], %y: f32[1, 3]) -> (f32[N, 4], f32[1, 3]) {
  %0 = slice(%x) {axes = none, ends = [4611686018427387904, 4], starts = [0, -4], steps = none} : f32[N, 4]
  %1 = slice(%y) {axes = [0], ends = [1], starts = [0], steps = [5]} : f32[1, 3]
  return %0, %1
}""", """
graph @g(%x: f32[N, 4], %y: f32[1, 3]) -> (f32[N, 4], f32[1, 3]) {
  return %x, %y
}""", {"slice-everything": 2})


def test_a_reversing_or_partial_slice_stays():
    unchanged("""
graph @g(%x: f32[4]) -> (f32[4], f32[2]) {
  %0 = slice(%x) {axes = none, ends = [-5], starts = [3], steps = [-1]} : f32[4]
  %1 = slice(%x) {axes = none, ends = [4], starts = [0], steps = [2]} : f32[2]
  return %0, %1
}""")


def test_pad_of_zero_widths_is_removed_in_every_mode():
    check("""
graph @g(%x: f32[N, 4]) -> (f32[N, 4], f32[N, 4], f32[N, 6]) {
  %0 = pad(%x) {mode = "constant", pads = [0, 0, 0, 0], value = 1.0} : f32[N, 4]
  %1 = pad(%0) {mode = "reflect", pads = [0, 0, 0, 0], value = 0.0} : f32[N, 4]
  %2 = pad(%1) {mode = "edge", pads = [0, 1, 0, 1], value = 0.0} : f32[N, 6]
  return %0, %1, %2
}""", """
graph @g(%x: f32[N, 4]) -> (f32[N, 4], f32[N, 4], f32[N, 6]) {
  %2 = pad(%x) {mode = "edge", pads = [0, 1, 0, 1], value = 0.0} : f32[N, 6]
  return %x, %x, %2
}""", {"pad-zero": 2})


def test_canonicalize_reaches_a_fixed_point_and_is_idempotent():
    text = """
graph @g(%x: f32[N, 2]) -> (f32[N, 2]) {
  %c = const {name = "c"} dense<[1.5, 2.0]> : f32[2]
  %0 = dropout(%x) : f32[N, 2]
  %1 = mul(%c, %0) : f32[N, 2]
  %2 = cast(%1) {to = f32} : f32[N, 2]
  return %2
}"""
    once = run_on_text(text, "canonicalize")
    assert canonical_text(run_on_text(canonical_text(once), "canonicalize")) == canonical_text(once)
    assert [n.op.name for n in once.nodes] == ["const", "mul"]


# ---- the oracle: whole models, bit-exact against opt_level=0 ------------------------------------


@axiom.model(seed=1)
def noisy_mlp(x: Tensor[f32, "N", 6]) -> Tensor[f32, "N", 3]:  # noqa: F821
    h = x | Dense(6, 8) | ReLU() | Dropout(0.3)
    h = 2.0 * h + 0.5
    h = ops.maximum(3.0, h)
    h = ops.transpose(ops.transpose(h, [0, 1]), [0, 1]).astype(f32)
    h = ops.concat([ops.reshape(h, ["N", 8])], axis=1)
    return h | Dense(8, 3)


def _inputs(shape: tuple[int, ...], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(np.float32)
    x.flat[:4] = [-0.0, np.inf, -np.inf, np.nan][: x.size]
    return x


@pytest.mark.parametrize("pipeline", ["canonicalize", "canonicalize,fold-constants,cse,dce"])
def test_oracle_models_bit_exact(pipeline):
    x = _inputs((5, 6), 0)
    want = axiom.compile(noisy_mlp, backend="numpy", opt_level=0)(x)
    exe = axiom.compile(noisy_mlp, backend="numpy", passes=pipeline)
    np.testing.assert_array_equal(exe(x), want)
    ops_left = [n.op.name for n in exe.ir.nodes]
    assert not {"dropout", "transpose", "reshape", "concat", "cast"} & set(ops_left)


def test_oracle_mnist_bit_exact_without_dropout():
    x, _ = fake_digits(3)
    want = axiom.compile(mnist, backend="numpy", opt_level=0)(x)
    exe = axiom.compile(mnist, backend="numpy", passes="canonicalize,dce")
    np.testing.assert_array_equal(exe(x), want)
    assert "dropout" not in [n.op.name for n in exe.ir.nodes]
