"""ONNX converters for transformer ops: Attention (opsets 23-25), RotaryEmbedding, SwiGLU and
CausalConvWithState, lowered to IR matmul / softmax / where / conv2d graphs. Attention follows onnx's
reference (reference/ops/op_attention.py): causal and window masks are bottom-right aligned by the cache
offset, and a query row with every key masked gives zeros, not NaN."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from axiom.frontends.onnx.ops_common import ONNX_DTYPES, Ctx, converter
from axiom.ir.graph import Value

_NEG_INF = float("-inf")


# ---- head layout --------------------------------------------------------------------------------
def _split_heads(cx: Ctx, x: Value, heads: int | None, what: str) -> Value:
    """[B, S, heads*D] -> [B, heads, S, D]."""
    batch, seq, hidden = x.shape
    if not heads or not isinstance(hidden, int) or hidden % heads:
        raise cx.unsupported(f"{what} {x.type} does not split into {heads} heads (set q_num_heads and "
                             "kv_num_heads to divisors of the static hidden sizes)")
    y = cx.b.op("reshape", x, shape=(batch, seq, heads, hidden // heads))
    return cx.b.op("transpose", y, perm=(0, 2, 1, 3))


def _merge_heads(cx: Ctx, y: Value) -> Value:
    """[B, H, S, D] -> [B, S, H*D]."""
    batch, heads, seq, size = y.shape
    t = cx.b.op("transpose", y, perm=(0, 2, 1, 3))
    return cx.b.op("reshape", t, shape=(batch, seq, heads * size))


def _repeat_heads(cx: Ctx, x: Value, reps: int) -> Value:
    """[B, H, T, D] -> [B, H*reps, T, D], each head repeated ``reps`` times in a row (GQA)."""
    batch, heads, seq, size = x.shape
    wide = cx.b.op("expand", cx.b.op("unsqueeze", x, axes=(2,)), shape=(batch, heads, reps, seq, size))
    return cx.b.op("reshape", wide, shape=(batch, heads * reps, seq, size))


# ---- the additive bias --------------------------------------------------------------------------
@dataclass(frozen=True)
class _Rules:
    """Which keys a query may see besides attn_mask: causal, a window of left/right keys (-1: unbounded),
    and, with an external cache, the per-batch count of valid keys."""

    causal: bool
    left: int
    right: int
    past: int
    nonpad: Value | None

    @property
    def positional(self) -> bool:
        return self.causal or self.left >= 0 or self.right >= 0


def _static_dims(cx: Ctx, q: int, t: int) -> tuple[int, int]:
    if not isinstance(q, int) or not isinstance(t, int):
        raise cx.unsupported(f"causal, window and padding masks need static sequence lengths, got {q}, {t}")
    return q, t


def _allowed_static(rules: _Rules, q: int, t: int) -> np.ndarray:
    """[q, t] bool: query i may see key j, with the offset fixed (past length, or 0)."""
    diff = np.arange(q)[:, None] + rules.past - np.arange(t)[None, :]
    return _window(rules, diff)


def _window(rules: _Rules, diff: np.ndarray) -> np.ndarray:
    allowed = np.ones(diff.shape, bool)
    if rules.causal:
        allowed &= diff >= 0
    if rules.left >= 0:
        allowed &= diff <= rules.left
    if rules.right >= 0:
        allowed &= -diff <= rules.right
    return allowed


def _allowed_nonpad(cx: Ctx, rules: _Rules, q: int, t: int) -> Value:
    """[B, 1, q, t] bool for an external cache: keys j < nonpad[b], and the causal/window rules with the
    per-batch offset nonpad[b] - q, i.e. on diff = i - j - q + nonpad[b] computed at run time."""
    b = cx.b
    batch = rules.nonpad.shape[0]
    lens = b.op("reshape", rules.nonpad, shape=(batch, 1, 1, 1))
    keys = b.constant(np.arange(t, dtype=np.int64).reshape(1, 1, 1, t))
    allowed = b.op("less", keys, lens)
    if not rules.positional:
        return allowed
    base = np.arange(q)[:, None] - np.arange(t)[None, :] - q
    diff = b.op("add", b.constant(base.astype(np.int64)), lens)
    zero = b.constant(np.array(0, np.int64))
    if rules.causal:
        allowed = b.op("logical_and", allowed, b.op("greater_equal", diff, zero))
    if rules.left >= 0:
        allowed = b.op("logical_and", allowed, b.op("less_equal", diff, b.constant(np.int64(rules.left))))
    if rules.right >= 0:
        low = b.constant(np.int64(-rules.right))
        allowed = b.op("logical_and", allowed, b.op("greater_equal", diff, low))
    return allowed


def _mask(cx: Ctx, t: int, like: Value) -> tuple[Value | None, Value | None]:
    """attn_mask as (allowed bool, additive float), either None, padded on its last axis to t keys."""
    if not cx.has_input(3):
        return None, None
    m = cx.input(3)
    short = t - m.shape[-1] if isinstance(t, int) and isinstance(m.shape[-1], int) else 0
    pads = (0,) * (2 * m.rank - 1) + (short,)
    if m.dtype.kind == "bool":
        return (cx.b.op("pad", m, pads=pads, value=0.0) if short > 0 else m), None
    if m.dtype != like.dtype:
        m = cx.b.op("cast", m, to=like.dtype)
    return None, (cx.b.op("pad", m, pads=pads, value=_NEG_INF) if short > 0 else m)


def _bias(cx: Ctx, rules: _Rules, q: int, t: int, like: Value) -> tuple[Value | None, Value | bool]:
    """The additive bias (0 where allowed, -inf where not, plus a float mask) and whether a row can be fully
    masked: a run-time bool [..., q, 1], or a Python bool when that is known now."""
    b = cx.b
    allowed, additive = _mask(cx, t, like)
    static = None
    if rules.nonpad is not None:
        q, t = _static_dims(cx, q, t)
        piece = _allowed_nonpad(cx, rules, q, t)
        allowed = piece if allowed is None else b.op("logical_and", allowed, piece)
    elif rules.positional:
        q, t = _static_dims(cx, q, t)
        static = _allowed_static(rules, q, t)
    if allowed is None and additive is None:
        if static is None:
            return None, False
        bias = np.where(static, 0.0, -np.inf).astype(like.dtype.np_dtype)
        return b.constant(bias), bool((~static).all(axis=-1).any())
    if static is not None:
        piece = b.constant(static)
        allowed = piece if allowed is None else b.op("logical_and", allowed, piece)
    bias = additive
    if allowed is not None:
        gate = b.op("where", allowed, cx.scalar(0.0, like), cx.scalar(_NEG_INF, like))
        bias = gate if bias is None else b.op("add", gate, bias)
    top = b.op("max", bias, axes=(-1,), keepdims=True)
    return bias, b.op("equal", top, cx.scalar(_NEG_INF, like))


# ---- Attention ----------------------------------------------------------------------------------
def _qkv(cx: Ctx) -> tuple[Value, Value, Value]:
    """Q, K, V as [B, H, S, D]."""
    q, k, v = cx.input(0), cx.input(1), cx.input(2)
    if not q.rank == k.rank == v.rank or q.rank not in (3, 4):
        raise cx.unsupported(f"Q, K and V must all be 3-D or all 4-D, got {q.type}, {k.type}, {v.type}")
    if not q.dtype == k.dtype == v.dtype:
        raise cx.unsupported(f"Q, K and V of different dtypes ({q.type}, {k.type}, {v.type})")
    if q.rank == 4:
        return q, k, v
    heads, kv_heads = cx.attr("q_num_heads"), cx.attr("kv_num_heads")
    return (_split_heads(cx, q, heads, "Q"), _split_heads(cx, k, kv_heads, "K"),
            _split_heads(cx, v, kv_heads, "V"))


def _scores(cx: Ctx, q: Value, k: Value) -> Value:
    """(Q * sqrt(scale)) @ (K * sqrt(scale))^T, with K's heads repeated for grouped queries."""
    b = cx.b
    heads, kv_heads = q.shape[1], k.shape[1]
    if heads != kv_heads:
        if not isinstance(heads, int) or not isinstance(kv_heads, int) or heads % kv_heads:
            raise cx.unsupported(f"{heads} query heads are not a multiple of {kv_heads} key/value heads")
        k = _repeat_heads(cx, k, heads // kv_heads)
    scale = cx.attr("scale")
    if scale is None:
        scale = 1.0 / np.sqrt(float(q.shape[3]))
    root = cx.scalar(np.sqrt(np.float64(scale)), q)
    kt = b.op("transpose", b.op("mul", k, root), perm=(0, 1, 3, 2))
    return b.op("matmul", b.op("mul", q, root), kt)


def _softcap(cx: Ctx, x: Value) -> Value:
    cap = float(cx.attr("softcap", 0.0))
    if cap <= 0:
        return x
    c = cx.scalar(cap, x)
    return cx.b.op("mul", cx.b.op("tanh", cx.b.op("div", x, c)), c)


def _softmax(cx: Ctx, x: Value) -> Value:
    """Softmax over the last axis at x's own precision, as the spec asks: the softmax op computes f16 and
    bf16 in f32, so half types are spelled out (max, exp, sum, div each rounding to x's dtype)."""
    b = cx.b
    if x.dtype.name not in ("f16", "bf16"):
        return b.op("softmax", x, axis=-1)
    e = b.op("exp", b.op("sub", x, b.op("max", x, axes=(-1,), keepdims=True)))
    return b.op("div", e, b.op("sum", e, axes=(-1,), keepdims=True))


def _probabilities(cx: Ctx, logits: Value, masked_rows: Value | bool) -> Value:
    """softmax over the keys (in softmax_precision when set), fully masked rows set to 0."""
    b = cx.b
    dtype = logits.dtype
    precision = cx.attr("softmax_precision")
    wide = ONNX_DTYPES.get(precision, dtype) if precision else dtype
    x = logits if wide == dtype else b.op("cast", logits, to=wide)
    p = _softmax(cx, x)
    if masked_rows is not False:
        rows = masked_rows if isinstance(masked_rows, Value) else b.constant(np.array(True))
        p = b.op("where", rows, cx.scalar(0.0, p), p)
    return p if wide == dtype else b.op("cast", p, to=dtype)


def _past(cx: Ctx, k: Value, v: Value) -> tuple[Value, Value, int]:
    """K and V with the past cache prepended (present_key, present_value) and the past length."""
    if cx.has_input(4) != cx.has_input(5):
        raise cx.unsupported("past_key and past_value must be given together")
    if not cx.has_input(4):
        return k, v, 0
    if cx.has_input(6):
        raise cx.unsupported("nonpad_kv_seqlen cannot be combined with past_key/past_value")
    pk, pv = cx.input(4), cx.input(5)
    past = pk.shape[2]
    if not isinstance(past, int):
        raise cx.unsupported(f"past_key {pk.type} needs a static past length")
    return cx.b.op("concat", pk, k, axis=2), cx.b.op("concat", pv, v, axis=2), past


@converter("Attention", since=23)
def _attention(cx: Ctx) -> tuple[Value, ...]:
    """Y, present_key, present_value and the qk_matmul_output chosen by qk_matmul_output_mode."""
    b = cx.b
    q, k, v = _qkv(cx)
    k, v, past = _past(cx, k, v)
    rules = _Rules(bool(cx.attr("is_causal", 0)), int(cx.attr("left_window_size", -1)),
                   int(cx.attr("right_window_size", -1)), past, cx.input(6) if cx.has_input(6) else None)
    raw = _scores(cx, q, k)
    capped = _softcap(cx, raw)
    bias, masked_rows = _bias(cx, rules, q.shape[2], k.shape[2], capped)
    logits = capped if bias is None else b.op("add", capped, bias)
    p = _probabilities(cx, logits, masked_rows)
    heads, kv_heads = q.shape[1], v.shape[1]
    y = b.op("matmul", p, v if heads == kv_heads else _repeat_heads(cx, v, heads // kv_heads))
    if cx.input(0).rank == 3:
        y = _merge_heads(cx, y)
    mode = int(cx.attr("qk_matmul_output_mode", 0))
    if mode not in (0, 1, 2, 3):
        raise cx.unsupported(f"qk_matmul_output_mode={mode} (expected 0..3)")
    return y, k, v, (raw, capped, logits, p)[mode]


# ---- RotaryEmbedding ----------------------------------------------------------------------------
def _rotate(cx: Ctx, x: Value, cos: Value, sin: Value, interleaved: bool) -> Value:
    """Rotate pairs of x[..., R] (halves, or even/odd entries) by the angles of cos/sin[..., R/2]."""
    b = cx.b
    size = x.shape[-1]
    half = size // 2
    if interleaved:
        pairs = b.op("reshape", x, shape=(*x.shape[:-1], half, 2))
        x1, x2 = (b.op("squeeze", p, axes=(-1,)) for p in b.op("split", pairs, axis=-1, sizes=(1, 1)))
    else:
        x1, x2 = b.op("split", x, axis=-1, sizes=(half, half))
    real = b.op("sub", b.op("mul", cos, x1), b.op("mul", sin, x2))
    imag = b.op("add", b.op("mul", sin, x1), b.op("mul", cos, x2))
    if not interleaved:
        return b.op("concat", real, imag, axis=-1)
    both = b.op("concat", b.op("unsqueeze", real, axes=(-1,)), b.op("unsqueeze", imag, axes=(-1,)), axis=-1)
    return b.op("reshape", both, shape=x.shape)


@converter("RotaryEmbedding", since=23)
def _rotary_embedding(cx: Ctx) -> Value:
    """Rotate the first rotary_embedding_dim entries of each head; X is [B, H, S, D] or [B, S, H*D]."""
    b = cx.b
    x = cx.input(0)
    if x.rank == 4:
        heads = b.op("transpose", x, perm=(0, 2, 1, 3))
    elif x.rank == 3:
        heads = b.op("transpose", _split_heads(cx, x, cx.attr("num_heads"), "X"), perm=(0, 2, 1, 3))
    else:
        raise cx.unsupported(f"X must be 3-D or 4-D, got {x.type}")
    size = heads.shape[3]
    dim = int(cx.attr("rotary_embedding_dim", 0)) or size
    if not isinstance(size, int) or dim % 2 or dim > size:
        raise cx.unsupported(f"rotary_embedding_dim {dim} must be even and at most the head size {size}")
    cos, sin = cx.input(1), cx.input(2)
    if cx.has_input(3):
        ids = cx.input(3)
        cos, sin = b.op("gather", cos, ids, axis=0), b.op("gather", sin, ids, axis=0)
    cos, sin = b.op("unsqueeze", cos, axes=(2,)), b.op("unsqueeze", sin, axes=(2,))
    interleaved = bool(cx.attr("interleaved", 0))
    if dim == size:
        out = _rotate(cx, heads, cos, sin, interleaved)
    else:
        part, rest = b.op("split", heads, axis=3, sizes=(dim, size - dim))
        out = b.op("concat", _rotate(cx, part, cos, sin, interleaved), rest, axis=3)
    if x.rank == 3:
        return b.op("reshape", out, shape=x.shape)
    return b.op("transpose", out, perm=(0, 2, 1, 3))


# ---- SwiGLU, CausalConvWithState ----------------------------------------------------------------
def _silu(cx: Ctx, x: Value, alpha: float = 1.0) -> Value:
    """x * sigmoid(alpha * x)."""
    gate = x if alpha == 1.0 else cx.b.op("mul", x, cx.scalar(alpha, x))
    return cx.b.op("mul", x, cx.b.op("sigmoid", gate))


@converter("SwiGLU", since=28)
def _swiglu(cx: Ctx) -> Value:
    """Swish_alpha(A) * B."""
    a, v = cx.input(0), cx.input(1)
    if a.type != v.type:
        raise cx.unsupported(f"A and B must have one type (no broadcasting), got {a.type} and {v.type}")
    return cx.b.op("mul", _silu(cx, a, float(cx.attr("alpha", 1.0))), v)


@converter("CausalConvWithState", since=27)
def _causal_conv(cx: Ctx) -> tuple[Value, Value]:
    """A depthwise causal conv1d over [B, C, L] (left context: past_state or zeros) as a conv2d on
    [B, C, 1, L + k - 1], an optional SiLU, and the last k - 1 input positions as the new state."""
    b = cx.b
    x, w = cx.input(0), cx.input(1)
    if x.rank != 3 or w.rank != 3 or not isinstance(w.shape[2], int) or not isinstance(x.shape[1], int):
        raise cx.unsupported(f"needs input [B, C, L] and weight [C, 1, k] with static C and k, got {x.type}, "
                             f"{w.type}")
    activation = cx.attr("activation", "none")
    if activation not in ("none", "silu", "swish"):
        raise cx.unsupported(f"activation {activation!r} (expected none, silu or swish)")
    k = w.shape[2]
    if cx.has_input(3):
        padded = b.op("concat", cx.input(3), x, axis=2)
    else:
        padded = b.op("pad", x, pads=(0, 0, k - 1, 0, 0, 0))
    image = b.op("unsqueeze", padded, axes=(2,))
    kernel = b.op("unsqueeze", w, axes=(2,))
    operands = [image, kernel] + ([cx.input(2)] if cx.has_input(2) else [])
    y = b.op("squeeze", b.op("conv2d", *operands, groups=x.shape[1]), axes=(2,))
    if activation != "none":
        y = _silu(cx, y)
    length = padded.shape[2]
    state = b.op("slice", padded, starts=(length - (k - 1),), ends=(length,), axes=(2,))
    return y, state
