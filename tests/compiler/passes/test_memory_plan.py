"""The memory-plan pass: it leaves the IR as it was, stores the plan in ctx.memory_plan, and
records its peaks (evaluated at ``bind``) as stats and a remark. The plan itself is tested
against a planned interpreter in tests/compiler/test_memory_analysis.py."""

from __future__ import annotations

import numpy as np
import pytest

import axiom
from axiom.compiler import PassContext, PassFailure, PassManager, PipelineError, parse_pipeline
from axiom.compiler.testing import assert_pass, run_on_text
from axiom.examples import mlp

CHAIN = """
graph @chain(%x: f32[1024]) -> (f32[1024]) {
  %0 = relu(%x) : f32[1024]
  %1 = relu(%0) : f32[1024]
  %2 = relu(%1) : f32[1024]
  return %2
}"""

SYMBOLIC = """
graph @mlp(%x: f32[N, 256], %w: f32[256, 256]) -> (f32[N, 256]) {
  %0 = matmul(%x, %w) : f32[N, 256]
  %1 = relu(%0) : f32[N, 256]
  %2 = matmul(%1, %w) : f32[N, 256]
  %3 = tanh(%2) : f32[N, 256]
  return %3
}"""


def test_the_ir_is_unchanged_and_the_pass_says_so():
    ctx = assert_pass(CHAIN, "memory-plan", CHAIN)
    assert ctx.memory_plan is not None
    records = PassManager("memory-plan").run(axiom.parse_graph(SYMBOLIC), PassContext())
    assert [r.changed for r in records] == [False]


def test_a_relu_chain_needs_one_buffer_in_place_and_two_without():
    ctx = assert_pass(CHAIN, "memory-plan", CHAIN)
    assert str(ctx.memory_plan) == """\
memory plan of @chain: 3 values in 1 buffer, 2 in place; alignment 64
  peak before 12288 bytes, after 4096, lower bound 4096
  value  type       bytes  buffer  offset  live    in-place
  %0     f32[1024]  4096   0       0       0..1
  %1     f32[1024]  4096   0       0       1..2    %0
  %2     f32[1024]  4096   0       0       2..end  %1"""
    assert [n.op.name for n in ctx.memory_plan.in_place_nodes] == ["relu", "relu"]
    assert {k: v for k, v in ctx.stats.items() if k.startswith("memory-plan.")} == {
        "memory-plan.peak-before": 12288, "memory-plan.peak-after": 4096, "memory-plan.lower-bound": 4096,
        "memory-plan.buffers": 1, "memory-plan.in-place": 2}

    ctx = assert_pass(CHAIN, "memory-plan{in-place=false}", CHAIN)
    assert [s.buffer for s in ctx.memory_plan.slots] == [0, 1, 0]  # %2 takes %0's buffer back
    assert ctx.stats["memory-plan.peak-after"] == 8192 and ctx.stats["memory-plan.buffers"] == 2
    assert ctx.stats["memory-plan.in-place"] == 0


def test_symbolic_sizes_are_reported_at_bind_and_every_other_symbol_is_one():
    ctx = PassContext()
    run_on_text(SYMBOLIC, "memory-plan", ctx)
    plan = ctx.memory_plan
    assert [str(x) for x in (plan.peak_before, plan.peak_after, plan.lower_bound)] == \
        ["4096*N", "2048*N", "2048*N"]
    assert ctx.stats["memory-plan.peak-after"] == 2048
    assert ctx.remarks[-1].message == ("peak 2048 bytes in 2 buffer(s) (each value its own: 4096; live lower "
                                       "bound 2048), 2 in place, with every symbol = 1")

    ctx = PassContext()
    run_on_text(SYMBOLIC, "memory-plan{bind=N=8}", ctx)
    assert ctx.stats["memory-plan.peak-before"] == 4096 * 8
    assert ctx.stats["memory-plan.peak-after"] == 2048 * 8
    assert ctx.remarks[-1].pass_name == "memory-plan{bind=N=8}" and ctx.remarks[-1].message.endswith("at N=8")
    assert plan.evaluate({"N": 3}) == {"peak_before": 12288, "peak_after": 6144, "lower_bound": 6144}


def test_alignment_is_an_option():
    text = """
graph @g(%x: f32[3]) -> (f32[3], f32[3]) {
  %a = exp(%x) : f32[3]
  %b = exp(%x) : f32[3]
  return %a, %b
}"""
    for pipeline, offsets, peak in (("memory-plan", [0, 64], 128), ("memory-plan{alignment=4}", [0, 12], 24)):
        ctx = PassContext()
        run_on_text(text, pipeline, ctx)
        assert [s.offset for s in ctx.memory_plan.slots] == offsets
        assert ctx.stats["memory-plan.peak-after"] == peak


def test_options_print_back_and_bad_ones_are_named():
    (p,) = parse_pipeline("memory-plan{bind=S=128 N=8,alignment=16,in-place=false}")
    assert str(p) == "memory-plan{alignment=16,in-place=false,bind=S=128;N=8}"
    assert str(parse_pipeline(str(p))[0]) == str(p)
    with pytest.raises(PipelineError, match="bind item 'N8' must be NAME=INT"):
        parse_pipeline("memory-plan{bind=N8}")
    with pytest.raises(PipelineError, match="alignment must be >= 1"):
        parse_pipeline("memory-plan{alignment=0}")
    with pytest.raises(PassFailure, match=r"bind names M, which no planned size uses \(its symbols: N\)"):
        run_on_text(SYMBOLIC, "memory-plan{bind=M=8}")


def test_a_second_run_reports_its_own_plan():
    ctx = PassContext()
    run_on_text(CHAIN, "memory-plan,memory-plan{in-place=false}", ctx)
    assert ctx.stats["memory-plan.peak-after"] == 8192 and ctx.stats["memory-plan.in-place"] == 0
    assert not ctx.memory_plan.in_place


def test_compile_keeps_the_plan_for_the_executable():
    passes = "canonicalize,simplify,fold-batchnorm,fold-constants,cse,dce,fuse,memory-plan{bind=N=32}"
    exe = axiom.compile(mlp.mlp, backend="numpy", passes=passes)
    plan = exe.context.memory_plan
    assert plan is not None and any(s.value.producer.op.name == "fused" for s in plan.slots)
    assert all(any(s.value.producer is n for n in exe.ir.nodes) for s in plan.slots)  # no body value
    numbers = plan.evaluate({"N": 32})
    assert exe.stats["memory-plan.peak-after"] == numbers["peak_after"]
    assert numbers["lower_bound"] <= numbers["peak_after"] < numbers["peak_before"]
    x = mlp.fake_inputs(2)
    np.testing.assert_array_equal(exe(x), axiom.compile(mlp.mlp, backend="numpy", opt_level=0)(x))
