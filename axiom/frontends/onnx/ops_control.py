"""ONNX control flow unrolled at import: If with a condition known when compiling, Loop with a known trip
count (and conditions that evaluate while importing), Scan over a static sequence. Each branch or
iteration is converted inline, so the IR stays a straight-line dataflow graph."""

from __future__ import annotations

import numpy as np

from axiom.frontends.onnx.ops_common import Ctx, converter
from axiom.ir.graph import Value

MAX_ITERATIONS = 4096  # unrolling bound: beyond it the graph would be too large to be useful


def _stack(cx: Ctx, parts: list[Value], axis: int) -> Value:
    """Stack same-shaped values along a new ``axis`` (negative counts from the end of the result)."""
    rank = parts[0].rank + 1
    axis %= rank
    pieces = [cx.b.op("unsqueeze", p, axes=(axis,)) for p in parts]
    return pieces[0] if len(pieces) == 1 else cx.b.op("concat", *pieces, axis=axis)


def _truth(cx: Ctx, v: Value, what: str) -> bool:
    data = cx.evaluate(v)
    if data is None:
        raise cx.unsupported(f"the {what} is computed at run time; Axiom unrolls control flow and needs it "
                             "when compiling")
    return bool(np.asarray(data).reshape(-1)[0])


@converter("If", since=1, const_inputs=(0,))
def _if(cx: Ctx) -> list[Value]:
    """The branch the (compile-time) condition selects, converted inline."""
    cond = cx.const(0)
    assert cond is not None  # const_inputs
    branch = cx.attr("then_branch") if bool(np.asarray(cond).reshape(-1)[0]) else cx.attr("else_branch")
    return cx.inline(branch, [])


@converter("Loop", since=1, const_inputs=(0, 1))
def _loop(cx: Ctx) -> list[Value]:
    """Unrolled: each iteration's body inline; final loop-carried values, then the stacked scan outputs."""
    node = cx.node
    trip = cx.const(0) if cx.has_input(0) else None
    cond = bool(np.asarray(cx.const(1)).reshape(-1)[0]) if cx.has_input(1) else True
    limit = MAX_ITERATIONS if trip is None else int(np.asarray(trip).reshape(-1)[0])
    if limit > MAX_ITERATIONS:
        raise cx.unsupported(f"a trip count of {limit} exceeds the {MAX_ITERATIONS} iterations Axiom unrolls")
    body = cx.attr("body")
    carried = [cx.input(i) for i in range(2, len(node.input))]
    scans: list[list[Value]] = [[] for _ in range(len(body.output) - 1 - len(carried))]
    i = 0
    while cond and i < limit:
        outs = cx.inline(body, [np.array(i, np.int64), np.array(cond), *carried])
        carried = outs[1:1 + len(carried)]
        for acc, v in zip(scans, outs[1 + len(carried):], strict=True):
            acc.append(v)
        i += 1
        cond = _truth(cx, outs[0], "loop condition")
    if cond and trip is None:
        raise cx.unsupported(f"the loop did not end within {MAX_ITERATIONS} iterations")
    if scans and i == 0:
        raise cx.unsupported("a loop that runs zero times has empty scan outputs of unknown shape")
    return [*carried, *(_stack(cx, acc, 0) for acc in scans)]


@converter("Scan", since=9)
def _scan(cx: Ctx) -> list[Value]:
    """Unrolled over the scan inputs' (static) length; final states, then the scan outputs stacked."""
    b = cx.b
    n_scan = int(cx.attr("num_scan_inputs"))
    inputs = cx.inputs()
    states, xs = inputs[:len(inputs) - n_scan], inputs[len(inputs) - n_scan:]
    in_axes = [a % x.rank for a, x in zip(cx.attr("scan_input_axes", [0] * n_scan), xs, strict=True)]
    in_dirs = list(cx.attr("scan_input_directions", [0] * n_scan))
    steps = {x.shape[a] for x, a in zip(xs, in_axes, strict=True)}
    if len(steps) != 1 or not isinstance(next(iter(steps)), int):
        raise cx.unsupported(f"the scan inputs must share one static length, got {sorted(map(str, steps))}")
    length = int(next(iter(steps)))
    body = cx.attr("body")
    outs_per_step: list[list[Value]] = []
    for t in range(length):
        slices = []
        for x, axis, rev in zip(xs, in_axes, in_dirs, strict=True):
            i = length - 1 - t if rev else t
            piece = b.op("slice", x, starts=(i,), ends=(i + 1,), axes=(axis,))
            slices.append(b.op("squeeze", piece, axes=(axis,)))
        outs = cx.inline(body, [*states, *slices])
        states = outs[:len(states)]
        outs_per_step.append(outs[len(states):])
    n_out = len(body.output) - len(states)
    out_axes = list(cx.attr("scan_output_axes", [0] * n_out))
    out_dirs = list(cx.attr("scan_output_directions", [0] * n_out))
    if length == 0:
        raise cx.unsupported("a scan over zero steps has empty outputs of unknown shape")
    results = []
    for k in range(n_out):
        parts = [step[k] for step in outs_per_step]
        results.append(_stack(cx, parts[::-1] if out_dirs[k] else parts, out_axes[k]))
    return [*states, *results]
