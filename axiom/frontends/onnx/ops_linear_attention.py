"""ONNX LinearAttention (opset 27): the linear, gated, delta and gated-delta recurrences over a
[B, H_kv, d_k, d_v] state, unrolled over the (static) sequence length in f32 as the spec computes it."""

from __future__ import annotations

import numpy as np

from axiom.frontends.onnx.ops_common import Ctx, converter
from axiom.ir.builder import Builder
from axiom.ir.graph import Value

RULES = ("linear", "gated", "delta", "gated_delta")


def _heads(b: Builder, x: Value, heads: int) -> Value:
    """[B, T, H*D] -> [B, H, T, D] in f32."""
    bsz, t, hd = x.shape
    x = b.op("reshape", x, shape=(bsz, t, heads, hd // heads))
    return b.op("cast", b.op("transpose", x, perm=(0, 2, 1, 3)), to="f32")


def _step(b: Builder, x: Value, t: int) -> Value:
    """Step ``t`` of a [B, H, T, D] tensor: [B, H, D]."""
    return b.op("squeeze", b.op("slice", x, starts=(t,), ends=(t + 1,), axes=(2,)), axes=(2,))


def _outer(b: Builder, k: Value, v: Value) -> Value:
    """k ⊗ v per (batch, head): [B, H, dk] x [B, H, dv] -> [B, H, dk, dv]."""
    return b.op("mul", b.op("unsqueeze", k, axes=(3,)), b.op("unsqueeze", v, axes=(2,)))


def _row_times(b: Builder, row: Value, state: Value) -> Value:
    """row^T S per (batch, head): [B, H, dk] x [B, H, dk, dv] -> [B, H, dv]."""
    return b.op("squeeze", b.op("matmul", b.op("unsqueeze", row, axes=(2,)), state), axes=(2,))


def _checked(cx: Ctx, rule: str) -> tuple[int, int]:
    hq, hkv = int(cx.attr("q_num_heads", 0)), int(cx.attr("kv_num_heads", 0))
    if hq <= 0 or hkv <= 0 or hq % hkv:
        raise cx.unsupported(f"q_num_heads ({hq}) must be a positive multiple of kv_num_heads ({hkv})")
    if rule not in RULES:
        raise cx.unsupported(f"unknown update_rule {rule!r} (one of {', '.join(RULES)})")
    gating, delta = rule in ("gated", "gated_delta"), rule in ("delta", "gated_delta")
    if gating != cx.has_input(4) or delta != cx.has_input(5):
        raise cx.unsupported(f"update_rule {rule!r} needs decay: {gating}, beta: {delta}; the inputs given "
                             "do not match")
    if not isinstance(cx.input(0).shape[1], int):
        raise cx.unsupported("the sequence length must be static to unroll the recurrence")
    return hq, hkv


@converter("LinearAttention", since=27)
def _linear_attention(cx: Ctx) -> list[Value]:
    b = cx.b
    rule = cx.attr("update_rule", "gated_delta")
    hq, hkv = _checked(cx, rule)
    query, value = cx.input(0), cx.input(2)
    bsz, steps = query.shape[0], query.shape[1]
    dk, dv = query.shape[2] // hq, value.shape[2] // hkv
    q, k, v = _heads(b, query, hq), _heads(b, cx.input(1), hkv), _heads(b, value, hkv)
    decay = beta = None
    if cx.has_input(4):
        g = cx.input(4)
        decay = _heads(b, g, hkv)  # [B, H, T, 1] or [B, H, T, dk]
    if cx.has_input(5):
        beta = _heads(b, cx.input(5), cx.input(5).shape[2])  # [B, H or 1, T, 1]
    if cx.has_input(3):
        state_dtype = cx.input(3).dtype
        state = b.op("cast", cx.input(3), to="f32")
    else:
        state_dtype = query.dtype
        state = b.op("expand", b.constant(np.zeros((), np.float32)), shape=(bsz, hkv, dk, dv))
    scale = float(cx.attr("scale", 0.0)) or 1.0 / float(np.sqrt(dk))
    group = hq // hkv
    outs = []
    for t in range(steps):
        kt, vt = _step(b, k, t), _step(b, v, t)
        if decay is not None:
            state = b.op("mul", state, b.op("unsqueeze", b.op("exp", _step(b, decay, t)), axes=(3,)))
        if beta is not None:
            vt = b.op("mul", _step(b, beta, t), b.op("sub", vt, _row_times(b, kt, state)))
        state = b.op("add", state, _outer(b, kt, vt))
        read = state
        if group > 1:  # each KV head's state serves `group` query heads
            read = b.op("expand", b.op("unsqueeze", state, axes=(2,)), shape=(bsz, hkv, group, dk, dv))
            read = b.op("reshape", read, shape=(bsz, hq, dk, dv))
        o = b.op("mul", _row_times(b, _step(b, q, t), read), b.constant(np.array(scale, np.float32)))
        outs.append(b.op("unsqueeze", o, axes=(2,)))
    y = b.op("concat", *outs, axis=2) if len(outs) > 1 else outs[0]  # [B, Hq, T, dv]
    y = b.op("reshape", b.op("transpose", y, perm=(0, 2, 1, 3)), shape=(bsz, steps, hq * dv))
    return [b.op("cast", y, to=query.dtype.name), b.op("cast", state, to=state_dtype.name)]
