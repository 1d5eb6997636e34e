"""The layout pass: Before/Expected IR for each rewrite and each ``prefer`` mode, the cases it
must leave alone, idempotence, and the oracle (run_graph before and after) on the reference
models and on hypothesis-generated conv chains."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from axiom.backends.numpy.interpreter import run_graph
from axiom.compiler.context import PassContext
from axiom.compiler.passbase import PipelineError, parse_pipeline
from axiom.compiler.passes.layout import find_chains
from axiom.compiler.pipeline import run_pipeline
from axiom.compiler.testing import assert_pass, run_on_text
from axiom.examples.mnist import fake_digits, mnist
from axiom.examples.resnet18 import fake_images, resnet18_small
from axiom.ir import Builder, Graph, TensorType, parse_graph, print_graph, sym

N = sym("N")

TF_STYLE = """
graph @tf(%x: f32[N, 16, 16, 3]) -> (f32[N, 16, 16, 8]) {
  %w1 = const {name = "w1"} : f32[8, 3, 3, 3]
  %w2 = const {name = "w2"} : f32[8, 8, 3, 3]
  %t = transpose(%x) {perm = [0, 3, 1, 2]} : f32[N, 3, 16, 16]
  %c1 = conv2d(%t, %w1) {padding = [1, 1, 1, 1]} : f32[N, 8, 16, 16]
  %r = relu(%c1) : f32[N, 8, 16, 16]
  %c2 = conv2d(%r, %w2) {padding = [1, 1, 1, 1]} : f32[N, 8, 16, 16]
  %o = transpose(%c2) {perm = [0, 2, 3, 1]} : f32[N, 16, 16, 8]
  return %o
}"""

TF_STYLE_NHWC = """
graph @tf(%x: f32[N, 16, 16, 3]) -> (f32[N, 16, 16, 8]) {
  %w1 = const {name = "w1"} : f32[8, 3, 3, 3]
  %w2 = const {name = "w2"} : f32[8, 8, 3, 3]
  %c1 = conv2d(%x, %w1) {layout = "NHWC", padding = [1, 1, 1, 1]} : f32[N, 16, 16, 8]
  %r = relu(%c1) : f32[N, 16, 16, 8]
  %c2 = conv2d(%r, %w2) {layout = "NHWC", padding = [1, 1, 1, 1]} : f32[N, 16, 16, 8]
  return %c2
}"""


def unchanged(text: str, pipeline: str) -> None:
    """Assert that ``pipeline`` leaves ``text`` as it is and reports no change."""
    assert not any(r.changed for r in run_pipeline(parse_graph(text), pipeline).records)
    assert_pass(text, pipeline, text)


# ---- Before/Expected, per prefer mode ------------------------------------------------------------
@pytest.mark.parametrize("pipeline", ["layout", "layout{prefer=auto}", "layout{prefer=nhwc}"])
def test_tf_style_chain_becomes_nhwc_convs_without_transposes(pipeline) -> None:  # noqa: ANN001
    ctx = assert_pass(TF_STYLE, pipeline, TF_STYLE_NHWC)
    assert ctx.stats["layout.chains"] == 1 and ctx.stats["layout.to-nhwc"] == 1


def test_nchw_keeps_the_tf_style_chain_and_brings_an_nhwc_one_back() -> None:
    unchanged(TF_STYLE, "layout{prefer=nchw}")
    assert_pass(TF_STYLE_NHWC, "layout{prefer=nchw}", TF_STYLE)


def test_nhwc_converts_where_values_enter_and_leave() -> None:
    assert_pass("""
graph @g(%x: f32[N, 3, 8, 8]) -> (f32[N, 4, 4, 4]) {
  %w = const {name = "w"} : f32[4, 3, 3, 3]
  %y = conv2d(%x, %w) {padding = [1, 1, 1, 1]} : f32[N, 4, 8, 8]
  %p = avg_pool2d(%y) {kernel = [2, 2]} : f32[N, 4, 4, 4]
  return %p
}""", "layout{prefer=nhwc}", """
graph @g(%x: f32[N, 3, 8, 8]) -> (f32[N, 4, 4, 4]) {
  %w = const {name = "w"} : f32[4, 3, 3, 3]
  %t = transpose(%x) {perm = [0, 2, 3, 1]} : f32[N, 8, 8, 3]
  %y = conv2d(%t, %w) {layout = "NHWC", padding = [1, 1, 1, 1]} : f32[N, 8, 8, 4]
  %p = avg_pool2d(%y) {kernel = [2, 2], layout = "NHWC"} : f32[N, 4, 4, 4]
  %o = transpose(%p) {perm = [0, 3, 1, 2]} : f32[N, 4, 4, 4]
  return %o
}""")


def test_auto_keeps_an_nchw_chain_with_nchw_inputs_and_outputs() -> None:
    unchanged("""
graph @g(%x: f32[N, 3, 8, 8]) -> (f32[N, 4, 8, 8]) {
  %w = const {name = "w"} : f32[4, 3, 3, 3]
  %y = conv2d(%x, %w) {padding = [1, 1, 1, 1]} : f32[N, 4, 8, 8]
  %r = relu(%y) : f32[N, 4, 8, 8]
  return %r
}""", "layout")


def test_auto_keeps_the_current_layout_on_a_tie() -> None:
    # NCHW costs the output's transpose, NHWC the input's: the same bytes.
    unchanged("""
graph @g(%x: f32[N, 3, 8, 8]) -> (f32[N, 8, 8, 3]) {
  %w = const {name = "w"} : f32[3, 3, 3, 3]
  %y = conv2d(%x, %w) {padding = [1, 1, 1, 1]} : f32[N, 3, 8, 8]
  %t = transpose(%y) {perm = [0, 2, 3, 1]} : f32[N, 8, 8, 3]
  return %t
}""", "layout")
    unchanged("""
graph @g(%x: f32[N, 3, 8, 8]) -> (f32[N, 8, 8, 3]) {
  %w = const {name = "w"} : f32[3, 3, 3, 3]
  %t = transpose(%x) {perm = [0, 2, 3, 1]} : f32[N, 8, 8, 3]
  %y = conv2d(%t, %w) {layout = "NHWC", padding = [1, 1, 1, 1]} : f32[N, 8, 8, 3]
  return %y
}""", "layout")


def test_auto_picks_the_layout_that_moves_fewer_bytes() -> None:
    # The input is 16x larger than the output: converting the output is the cheaper transpose.
    assert_pass("""
graph @g(%x: f32[N, 16, 16, 4]) -> (f32[N, 4, 4, 4]) {
  %w = const {name = "w"} : f32[4, 4, 4, 4]
  %t = transpose(%x) {perm = [0, 3, 1, 2]} : f32[N, 4, 16, 16]
  %y = conv2d(%t, %w) {stride = [4, 4]} : f32[N, 4, 4, 4]
  return %y
}""", "layout", """
graph @g(%x: f32[N, 16, 16, 4]) -> (f32[N, 4, 4, 4]) {
  %w = const {name = "w"} : f32[4, 4, 4, 4]
  %y = conv2d(%x, %w) {layout = "NHWC", stride = [4, 4]} : f32[N, 4, 4, 4]
  %o = transpose(%y) {perm = [0, 3, 1, 2]} : f32[N, 4, 4, 4]
  return %o
}""")


def test_auto_cancels_a_transpose_pair_inside_a_chain() -> None:
    assert_pass("""
graph @g(%x: f32[N, 4, 8, 8]) -> (f32[N, 4, 8, 8]) {
  %w = const {name = "w"} : f32[4, 4, 1, 1]
  %y = conv2d(%x, %w) : f32[N, 4, 8, 8]
  %t = transpose(%y) {perm = [0, 2, 3, 1]} : f32[N, 8, 8, 4]
  %r = relu(%t) : f32[N, 8, 8, 4]
  %u = transpose(%r) {perm = [0, 3, 1, 2]} : f32[N, 4, 8, 8]
  %z = conv2d(%u, %w) : f32[N, 4, 8, 8]
  return %z
}""", "layout", """
graph @g(%x: f32[N, 4, 8, 8]) -> (f32[N, 4, 8, 8]) {
  %w = const {name = "w"} : f32[4, 4, 1, 1]
  %y = conv2d(%x, %w) : f32[N, 4, 8, 8]
  %r = relu(%y) : f32[N, 4, 8, 8]
  %z = conv2d(%r, %w) : f32[N, 4, 8, 8]
  return %z
}""")


def test_auto_keeps_mixed_layouts_whose_own_transposes_are_cheaper() -> None:
    text = """
graph @g(%x: f32[N, 3, 64, 64]) -> (f32[N, 16, 16, 16]) {
  %w1 = const {name = "w1"} : f32[4, 3, 4, 4]
  %w2 = const {name = "w2"} : f32[16, 4, 1, 1]
  %y = conv2d(%x, %w1) {stride = [4, 4]} : f32[N, 4, 16, 16]
  %t = transpose(%y) {perm = [0, 2, 3, 1]} : f32[N, 16, 16, 4]
  %z = conv2d(%t, %w2) {layout = "NHWC"} : f32[N, 16, 16, 16]
  return %z
}"""
    ctx = PassContext()
    run_on_text(text, "layout", ctx)
    assert any("kept the mixed layouts" in r.message for r in ctx.remarks)
    unchanged(text, "layout")


# ---- the agnostic ops --------------------------------------------------------------------------
BIASED = """
graph @g(%x: f32[N, 2, 4, 4]) -> (f32[N, 2, 4, 4]) {
  %w = const {name = "w"} : f32[2, 2, 1, 1]
  %c = const {name = "bias"} dense<[[[1.0]], [[2.0]]]> : f32[2, 1, 1]
  %s = const {name = "scale"} dense<[[[[0.5]], [[4.0]]]]> : f32[1, 2, 1, 1]
  %k = const {name = "k"} dense<3.0> : f32[]
  %y = conv2d(%x, %w) : f32[N, 2, 4, 4]
  %a = add(%y, %c) : f32[N, 2, 4, 4]
  %m = mul(%s, %a) : f32[N, 2, 4, 4]
  %p = mul(%m, %k) : f32[N, 2, 4, 4]
  %z = conv2d(%p, %w) : f32[N, 2, 4, 4]
  return %z
}"""


def test_per_channel_constants_are_permuted_with_the_image() -> None:
    ctx = assert_pass(BIASED, "layout{prefer=nhwc}", """
graph @g(%x: f32[N, 2, 4, 4]) -> (f32[N, 2, 4, 4]) {
  %w = const {name = "w"} : f32[2, 2, 1, 1]
  %k = const {name = "k"} dense<3.0> : f32[]
  %t = transpose(%x) {perm = [0, 2, 3, 1]} : f32[N, 4, 4, 2]
  %y = conv2d(%t, %w) {layout = "NHWC"} : f32[N, 4, 4, 2]
  %c = const {name = "bias_nhwc"} dense<[[[1.0, 2.0]]]> : f32[1, 1, 2]
  %a = add(%y, %c) : f32[N, 4, 4, 2]
  %s = const {name = "scale_nhwc"} dense<[[[[0.5, 4.0]]]]> : f32[1, 1, 1, 2]
  %m = mul(%s, %a) : f32[N, 4, 4, 2]
  %p = mul(%m, %k) : f32[N, 4, 4, 2]
  %z = conv2d(%p, %w) {layout = "NHWC"} : f32[N, 4, 4, 2]
  %o = transpose(%z) {perm = [0, 3, 1, 2]} : f32[N, 2, 4, 4]
  return %o
}""")
    assert ctx.stats["layout.to-nhwc"] == 1
    # The table keeps the permuted data only (the bias and scale were read by the chain alone).
    assert sorted(run_on_text(BIASED, "layout{prefer=nhwc}").constants) == ["bias_nhwc", "k", "scale_nhwc"]


def test_a_non_constant_per_channel_operand_ends_the_chain() -> None:
    # %c is an input: the add cannot permute it, so the image leaves the chain there.
    assert_pass("""
graph @g(%x: f32[N, 2, 4, 4], %c: f32[2, 1, 1]) -> (f32[N, 2, 4, 4]) {
  %w = const {name = "w"} : f32[2, 2, 1, 1]
  %y = conv2d(%x, %w) : f32[N, 2, 4, 4]
  %a = add(%y, %c) : f32[N, 2, 4, 4]
  return %a
}""", "layout{prefer=nhwc}", """
graph @g(%x: f32[N, 2, 4, 4], %c: f32[2, 1, 1]) -> (f32[N, 2, 4, 4]) {
  %w = const {name = "w"} : f32[2, 2, 1, 1]
  %t = transpose(%x) {perm = [0, 2, 3, 1]} : f32[N, 4, 4, 2]
  %y = conv2d(%t, %w) {layout = "NHWC"} : f32[N, 4, 4, 2]
  %o = transpose(%y) {perm = [0, 3, 1, 2]} : f32[N, 2, 4, 4]
  %a = add(%o, %c) : f32[N, 2, 4, 4]
  return %a
}""")


def test_reduction_axes_are_remapped_and_a_reduction_to_n_c_ends_the_chain() -> None:
    assert_pass("""
graph @g(%x: f32[N, 2, 4, 4]) -> (f32[N, 2], f32[N, 2, 4, 4], i64[N, 1, 4, 4]) {
  %w = const {name = "w"} : f32[2, 2, 1, 1]
  %y = conv2d(%x, %w) : f32[N, 2, 4, 4]
  %m = mean(%y) {axes = [2, 3], keepdims = true} : f32[N, 2, 1, 1]
  %g = mul(%y, %m) : f32[N, 2, 4, 4]
  %s = sum(%g) {axes = [-1, -2]} : f32[N, 2]
  %a = argmax(%g) {axis = 1, keepdims = true} : i64[N, 1, 4, 4]
  return %s, %g, %a
}""", "layout{prefer=nhwc}", """
graph @g(%x: f32[N, 2, 4, 4]) -> (f32[N, 2], f32[N, 2, 4, 4], i64[N, 1, 4, 4]) {
  %w = const {name = "w"} : f32[2, 2, 1, 1]
  %t = transpose(%x) {perm = [0, 2, 3, 1]} : f32[N, 4, 4, 2]
  %y = conv2d(%t, %w) {layout = "NHWC"} : f32[N, 4, 4, 2]
  %m = mean(%y) {axes = [1, 2], keepdims = true} : f32[N, 1, 1, 2]
  %g = mul(%y, %m) : f32[N, 4, 4, 2]
  %o = transpose(%g) {perm = [0, 3, 1, 2]} : f32[N, 2, 4, 4]
  %s = sum(%g) {axes = [1, 2]} : f32[N, 2]
  %a = argmax(%g) {axis = 3, keepdims = true} : i64[N, 4, 4, 1]
  %r = reshape(%a) {shape = [N, 1, 4, 4]} : i64[N, 1, 4, 4]
  return %s, %o, %r
}""")


def test_a_reduction_that_would_reorder_its_result_stays_outside() -> None:
    # max over H leaves [N, C, W] from NCHW but [N, W, C] from NHWC: the image leaves first.
    assert_pass("""
graph @g(%x: f32[N, 2, 4, 4]) -> (f32[N, 2, 4]) {
  %w = const {name = "w"} : f32[2, 2, 1, 1]
  %y = conv2d(%x, %w) : f32[N, 2, 4, 4]
  %m = max(%y) {axes = [2]} : f32[N, 2, 4]
  return %m
}""", "layout{prefer=nhwc}", """
graph @g(%x: f32[N, 2, 4, 4]) -> (f32[N, 2, 4]) {
  %w = const {name = "w"} : f32[2, 2, 1, 1]
  %t = transpose(%x) {perm = [0, 2, 3, 1]} : f32[N, 4, 4, 2]
  %y = conv2d(%t, %w) {layout = "NHWC"} : f32[N, 4, 4, 2]
  %o = transpose(%y) {perm = [0, 3, 1, 2]} : f32[N, 2, 4, 4]
  %m = max(%o) {axes = [2]} : f32[N, 2, 4]
  return %m
}""")


def test_conversions_of_size_one_dims_are_reshapes() -> None:
    # One input channel and a global pool: neither conversion moves data.
    assert_pass("""
graph @g(%x: f32[N, 1, 8, 8]) -> (f32[N, 4]) {
  %w = const {name = "w"} : f32[4, 1, 3, 3]
  %y = conv2d(%x, %w) : f32[N, 4, 6, 6]
  %p = global_avg_pool2d(%y) : f32[N, 4, 1, 1]
  %f = flatten(%p) : f32[N, 4]
  return %f
}""", "layout{prefer=nhwc}", """
graph @g(%x: f32[N, 1, 8, 8]) -> (f32[N, 4]) {
  %w = const {name = "w"} : f32[4, 1, 3, 3]
  %r = reshape(%x) {shape = [N, 8, 8, 1]} : f32[N, 8, 8, 1]
  %y = conv2d(%r, %w) {layout = "NHWC"} : f32[N, 6, 6, 4]
  %p = global_avg_pool2d(%y) {layout = "NHWC"} : f32[N, 1, 1, 4]
  %q = reshape(%p) {shape = [N, 4, 1, 1]} : f32[N, 4, 1, 1]
  %f = flatten(%q) : f32[N, 4]
  return %f
}""")


def test_a_new_transpose_next_to_another_one_merges_with_it() -> None:
    assert_pass("""
graph @g(%x: f32[N, 3, 8, 6]) -> (f32[N, 4, 6, 8]) {
  %w = const {name = "w"} : f32[4, 3, 1, 1]
  %s = transpose(%x) {perm = [0, 1, 3, 2]} : f32[N, 3, 6, 8]
  %y = conv2d(%s, %w) : f32[N, 4, 6, 8]
  return %y
}""", "layout{prefer=nhwc}", """
graph @g(%x: f32[N, 3, 8, 6]) -> (f32[N, 4, 6, 8]) {
  %w = const {name = "w"} : f32[4, 3, 1, 1]
  %s = transpose(%x) {perm = [0, 3, 2, 1]} : f32[N, 6, 8, 3]
  %y = conv2d(%s, %w) {layout = "NHWC"} : f32[N, 6, 8, 4]
  %o = transpose(%y) {perm = [0, 3, 1, 2]} : f32[N, 4, 6, 8]
  return %o
}""")


def test_a_transpose_that_is_not_a_layout_change_is_left_out() -> None:
    # %t feeds an NCHW conv: it reorders the data, so that conv cannot join the first chain.
    assert_pass("""
graph @g(%x: f32[N, 4, 4, 4]) -> (f32[N, 4, 4, 4]) {
  %w = const {name = "w"} : f32[4, 4, 1, 1]
  %y = conv2d(%x, %w) : f32[N, 4, 4, 4]
  %t = transpose(%y) {perm = [0, 2, 3, 1]} : f32[N, 4, 4, 4]
  %z = conv2d(%t, %w) : f32[N, 4, 4, 4]
  return %z
}""", "layout{prefer=nhwc}", """
graph @g(%x: f32[N, 4, 4, 4]) -> (f32[N, 4, 4, 4]) {
  %w = const {name = "w"} : f32[4, 4, 1, 1]
  %t = transpose(%x) {perm = [0, 2, 3, 1]} : f32[N, 4, 4, 4]
  %y = conv2d(%t, %w) {layout = "NHWC"} : f32[N, 4, 4, 4]
  %z = conv2d(%y, %w) : f32[N, 4, 4, 4]
  return %z
}""")


def test_outputs_and_properties_read_the_value_in_its_old_layout() -> None:
    assert_pass("""
graph @g(%x: f32[N, 2, 4, 4]) -> (f32[N, 2, 4, 4], f32[N, 2, 4, 4]) {
  %w = const {name = "w"} : f32[2, 2, 1, 1]
  %y = conv2d(%x, %w) : f32[N, 2, 4, 4]
  %r = relu(%y) : f32[N, 2, 4, 4]
  ensure finite(%y)
  return %y, %r
}""", "layout{prefer=nhwc}", """
graph @g(%x: f32[N, 2, 4, 4]) -> (f32[N, 2, 4, 4], f32[N, 2, 4, 4]) {
  %w = const {name = "w"} : f32[2, 2, 1, 1]
  %t = transpose(%x) {perm = [0, 2, 3, 1]} : f32[N, 4, 4, 2]
  %y = conv2d(%t, %w) {layout = "NHWC"} : f32[N, 4, 4, 2]
  %o = transpose(%y) {perm = [0, 3, 1, 2]} : f32[N, 2, 4, 4]
  %r = relu(%y) : f32[N, 4, 4, 2]
  %p = transpose(%r) {perm = [0, 3, 1, 2]} : f32[N, 2, 4, 4]
  ensure finite(%o)
  return %o, %p
}""")


def test_batch_norm_follows_and_rank_2_batch_norm_is_no_member() -> None:
    assert_pass("""
graph @g(%x: f32[N, 2, 4, 4]) -> (f32[N, 2]) {
  %w = const {name = "w"} : f32[2, 2, 1, 1]
  %c = const {name = "c"} dense<[1.0, 2.0]> : f32[2]
  %y = conv2d(%x, %w) : f32[N, 2, 4, 4]
  %b = batch_norm(%y, %c, %c, %c, %c) : f32[N, 2, 4, 4]
  %m = mean(%b) {axes = [2, 3]} : f32[N, 2]
  %n = batch_norm(%m, %c, %c, %c, %c) : f32[N, 2]
  return %n
}""", "layout{prefer=nhwc}", """
graph @g(%x: f32[N, 2, 4, 4]) -> (f32[N, 2]) {
  %w = const {name = "w"} : f32[2, 2, 1, 1]
  %c = const {name = "c"} dense<[1.0, 2.0]> : f32[2]
  %t = transpose(%x) {perm = [0, 2, 3, 1]} : f32[N, 4, 4, 2]
  %y = conv2d(%t, %w) {layout = "NHWC"} : f32[N, 4, 4, 2]
  %b = batch_norm(%y, %c, %c, %c, %c) {layout = "NHWC"} : f32[N, 4, 4, 2]
  %m = mean(%b) {axes = [1, 2]} : f32[N, 2]
  %n = batch_norm(%m, %c, %c, %c, %c) : f32[N, 2]
  return %n
}""")


def test_fold_batchnorm_folds_nhwc_pairs_and_skips_mixed_ones() -> None:
    before = """
graph @g(%x: f32[N, 4, 4, 1]) -> (f32[N, 4, 4, 2]) {
  %w = const {name = "conv.weight"} dense<[[[[2.0]]], [[[3.0]]]]> : f32[2, 1, 1, 1]
  %y = conv2d(%x, %w) {layout = "NHWC"} : f32[N, 4, 4, 2]
  %s = const {name = "bn.weight"} dense<[2.0, 3.0]> : f32[2]
  %t = const {name = "bn.bias"} dense<[0.5, 1.0]> : f32[2]
  %m = const {name = "bn.running_mean"} dense<[1.0, 2.0]> : f32[2]
  %v = const {name = "bn.running_var"} dense<[3.0, 15.0]> : f32[2]
  %z = batch_norm(%y, %s, %t, %m, %v) {epsilon = 1.0, layout = "NHWC"} : f32[N, 4, 4, 2]
  return %z
}"""
    ctx = assert_pass(before, "fold-batchnorm", """
graph @g(%x: f32[N, 4, 4, 1]) -> (f32[N, 4, 4, 2]) {
  %w = const {name = "conv.weight_folded"} dense<[[[[2.0]]], [[[2.25]]]]> : f32[2, 1, 1, 1]
  %b = const {name = "conv.bias_folded"} dense<[-0.5, -0.5]> : f32[2]
  %y = conv2d(%x, %w, %b) {layout = "NHWC"} : f32[N, 4, 4, 2]
  return %y
}""")
    assert ctx.stats["pattern.fold-batchnorm"] == 1
    # An NCHW conv whose width happens to equal the channel count: its last axis is no channel.
    unchanged("""
graph @g(%x: f32[N, 1, 4, 2]) -> (f32[N, 2, 4, 2]) {
  %w = const {name = "conv.weight"} dense<[[[[2.0]]], [[[3.0]]]]> : f32[2, 1, 1, 1]
  %y = conv2d(%x, %w) : f32[N, 2, 4, 2]
  %s = const {name = "bn.weight"} dense<[2.0, 3.0]> : f32[2]
  %z = batch_norm(%y, %s, %s, %s, %s) {layout = "NHWC"} : f32[N, 2, 4, 2]
  return %z
}""", "fold-batchnorm")


def test_prefer_must_be_a_known_mode() -> None:
    with pytest.raises(PipelineError, match="prefer='nwhc'"):
        parse_pipeline("layout{prefer=nwhc}")
    assert str(parse_pipeline("layout{prefer=nhwc}")[0]) == "layout{prefer=nhwc}"


# ---- models ------------------------------------------------------------------------------------
def transposes(graph: Graph) -> int:
    return Counter(n.op.name for n in graph.nodes)["transpose"]


@pytest.fixture(scope="module")
def resnet() -> tuple[Graph, np.ndarray, np.ndarray]:
    graph = resnet18_small.to_graph()
    x = fake_images(2, 64)
    return graph, x, run_graph(graph, [x])[0]


def test_resnet18_under_nhwc_has_one_transpose_at_the_input(resnet) -> None:  # noqa: ANN001
    graph, x, want = resnet
    result = run_pipeline(graph, "layout{prefer=nhwc}")
    g = result.graph
    assert result.context.stats["layout.chains"] == 1
    assert transposes(g) == 1
    (t,) = [n for n in g.nodes if n.op.name == "transpose"]
    assert t.inputs[0] is g.inputs[0]
    assert {n.attrs["layout"] for n in g.nodes if "layout" in n.attrs} == {"NHWC"}
    # The chain ends at the global pool: [N, 1, 1, 512] to [N, 512, 1, 1] is a reshape.
    (r,) = [n for n in g.nodes if n.op.name == "reshape"]
    assert r.inputs[0].producer.op.name == "global_avg_pool2d" and r.results[0].users[0].op.name == "flatten"
    np.testing.assert_allclose(run_graph(g, [x])[0], want, atol=1e-4, rtol=1e-4)
    again = run_pipeline(g, "layout{prefer=nhwc}")
    assert not again.records[0].changed


def test_resnet18_under_auto_stays_nchw(resnet) -> None:  # noqa: ANN001
    graph, x, want = resnet
    result = run_pipeline(graph, "layout")
    assert not result.records[0].changed
    assert print_graph(result.graph) == print_graph(graph)  # large weights elided: fast
    np.testing.assert_allclose(run_graph(result.graph, [x])[0], want, atol=1e-4, rtol=1e-4)


def test_resnet18_nhwc_then_fold_batchnorm_folds_every_batch_norm(resnet) -> None:  # noqa: ANN001
    graph, x, want = resnet
    g = run_pipeline(graph, "layout{prefer=nhwc},fold-batchnorm,simplify,dce").graph
    assert "batch_norm" not in {n.op.name for n in g.nodes}
    np.testing.assert_allclose(run_graph(g, [x])[0], want, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("prefer", ["auto", "nchw", "nhwc"])
def test_mnist_agrees_and_the_pass_is_idempotent(prefer) -> None:  # noqa: ANN001
    graph = mnist.to_graph()
    x, _ = fake_digits(3)
    want = run_graph(graph, [x])[0]
    result = run_pipeline(graph, f"layout{{prefer={prefer}}}")
    g = result.graph
    assert transposes(g) == (1 if prefer == "nhwc" else 0)  # the [N, 64, 7, 7] before flatten
    np.testing.assert_allclose(run_graph(g, [x])[0], want, atol=1e-4, rtol=1e-4)
    assert not run_pipeline(g, f"layout{{prefer={prefer}}}").records[0].changed


# ---- hypothesis: small conv chains ------------------------------------------------------------
STEPS = ("conv", "relu", "bias", "scale", "bn", "max_pool", "avg_pool", "pair", "mean", "residual",
         "nhwc_conv")


@st.composite
def conv_chains(draw):  # noqa: ANN001, ANN201
    """A graph of a few conv-net steps on a small image (NCHW, or NHWC behind a transpose, as
    TF exports), ending in an image, an NHWC image, a global pool + flatten or a mean to [N, C]."""
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    c, size = draw(st.integers(1, 3)), draw(st.integers(4, 7))
    g = Graph("chain")
    nhwc_in = draw(st.booleans())
    x = g.add_input("x", TensorType("f32", (N, size, size, c) if nhwc_in else (N, c, size, size)))
    b = Builder(g)

    def const(*shape: int):  # noqa: ANN202
        return b.constant(rng.normal(size=shape).astype(np.float32), "p")

    v = b.transpose(x, perm=(0, 3, 1, 2)) if nhwc_in else x
    seen = [v]
    for step in draw(st.lists(st.sampled_from(STEPS), min_size=1, max_size=6)):
        c = v.shape[1]
        if step in ("conv", "nhwc_conv"):
            o, k = draw(st.integers(1, 3)), draw(st.integers(1, 3))
            pad = (k - 1) // 2
            attrs = {"padding": (pad, pad, k - 1 - pad, k - 1 - pad)}
            if step == "conv":
                v = b.conv2d(v, const(o, c, k, k), const(o), **attrs)
            else:
                t = b.transpose(v, perm=(0, 2, 3, 1))
                v = b.transpose(b.conv2d(t, const(o, c, k, k), layout="NHWC", **attrs), perm=(0, 3, 1, 2))
        elif step == "relu":
            v = b.relu(v)
        elif step == "bias":
            v = b.add(v, const(c, 1, 1))
        elif step == "scale":
            v = b.mul(const(1, c, 1, 1), v)
        elif step == "bn":
            var = b.constant(rng.uniform(0.5, 2.0, c).astype(np.float32), "var")
            v = b.batch_norm(v, const(c), const(c), const(c), var)
        elif step in ("max_pool", "avg_pool") and v.shape[2] >= 2:
            v = b.op(f"{step[:3]}_pool2d", v, kernel=(2, 2), stride=(1, 1))
        elif step == "pair":
            v = b.transpose(b.neg(b.transpose(v, perm=(0, 2, 3, 1))), perm=(0, 3, 1, 2))
        elif step == "mean":
            v = b.mul(v, b.mean(v, axes=(2, 3), keepdims=True))
        elif step == "residual":
            same = [s for s in seen if s.type == v.type and s is not v]
            v = b.add(v, same[0]) if same else b.sigmoid(v)
        seen.append(v)
    end = draw(st.sampled_from(["image", "nhwc", "pool", "mean"]))
    if end == "nhwc":
        v = b.transpose(v, perm=(0, 2, 3, 1))
    elif end == "pool":
        v = b.flatten(b.global_avg_pool2d(v))
    elif end == "mean":
        v = b.mean(v, axes=(2, 3))
    g.set_outputs([v])
    image = rng.normal(size=[2 if d is N else d for d in x.shape]).astype(np.float32)
    return g, image


def moved_bytes(graph: Graph) -> int:
    """Bytes the transposes of ``graph`` move at N = 1."""
    return sum(int(np.prod([1 if d is N else d for d in n.inputs[0].shape])) * 4
               for n in graph.nodes if n.op.name == "transpose")


@settings(max_examples=60, deadline=None)
@given(case=conv_chains(), prefer=st.sampled_from(["auto", "nchw", "nhwc"]))
def test_random_conv_chains_agree_and_settle(case, prefer) -> None:  # noqa: ANN001
    graph, image = case
    want = run_graph(graph, [image])[0]
    pipeline = f"layout{{prefer={prefer}}}"
    result = run_pipeline(graph, pipeline)  # verifies the IR after the pass
    g = result.graph
    np.testing.assert_allclose(run_graph(g, [image])[0], want, atol=1e-4, rtol=1e-4)
    assert not run_pipeline(g, pipeline).records[0].changed
    if prefer == "auto":
        assert moved_bytes(g) <= moved_bytes(graph)
        return
    assert {n.attrs["layout"] for n in g.nodes if "layout" in n.attrs} <= {prefer.upper()}
    assert all(chain.settled(prefer.upper()) for chain in find_chains(g))
