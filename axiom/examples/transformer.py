"""A pre-LN transformer encoder in the Axiom DSL, over f32[N, S, D] with symbolic N and S.

Each layer is ``x + attention(layer_norm(x))`` then ``x + mlp(layer_norm(x))`` (pre-LN, as in
GPT-2 and ViT: the residual stream is never normalised, so a final LayerNorm closes the
stack). Attention is multi-head self-attention spelt out with the functional ops, so the
compiler sees every step: q, k and v projections (Dense), a reshape to [N, S, heads,
head_dim] and a transpose to [N, heads, S, head_dim], ``q @ k^T`` scaled by
1/sqrt(head_dim), a softmax over the keys, ``@ v``, the inverse transpose and reshape, and an
output projection. The MLP is Dense(D, 4D) + GELU (erf) + Dense(4D, D). No mask, no dropout,
no positional encoding (the input is taken to be embedded already).

``transformer_encoder(seq, d_model, heads, layers, seed)`` traces one; ``seq`` is a dim name
(symbolic sequence length, the default "S") or an int. LayerNorm scales and shifts are drawn
from the seed after tracing instead of being left at ones and zeros. ``transformer_small`` (d_model
64, 4 heads, 2 layers, symbolic S) is the instance tests use; ``torch_reference`` is the same
encoder written by hand.
"""

import math
from collections.abc import Callable
from typing import Any

import numpy as np

import axiom
from axiom import Tensor, f32, ops
from axiom.nn import GELU, Dense, LayerNorm

MLP_RATIO = 4
LN_EPS = 1e-5


def _split_heads(t: Any, heads: int) -> Any:
    """[N, S, D] -> [N, heads, S, D // heads]."""
    n, s, d = t.shape
    return t.reshape(n, s, heads, d // heads).transpose(0, 2, 1, 3)


def _merge_heads(t: Any) -> Any:
    """[N, heads, S, head_dim] -> [N, S, heads * head_dim]."""
    n, h, s, hd = t.shape
    return t.transpose(0, 2, 1, 3).reshape(n, s, h * hd)


def _attention(x: Any, d_model: int, heads: int, prefix: str) -> Any:
    """Multi-head self-attention: softmax(q k^T / sqrt(head_dim)) v per head, then the output projection."""
    q, k, v = (_split_heads(x | Dense(d_model, d_model, name=f"{prefix}_{w}"), heads) for w in "qkv")
    scores = (q @ k.transpose(0, 1, 3, 2)) * (1.0 / math.sqrt(d_model // heads))
    context = _merge_heads(ops.softmax(scores, axis=-1) @ v)
    return context | Dense(d_model, d_model, name=f"{prefix}_out")


def _encoder_layer(x: Any, d_model: int, heads: int, prefix: str) -> Any:
    """One pre-LN layer: two residual branches, attention then the GELU MLP, each after a LayerNorm."""
    x = x + _attention(x | LayerNorm(d_model, name=f"{prefix}_ln1"), d_model, heads, f"{prefix}_attn")
    hidden = MLP_RATIO * d_model
    mlp = (LayerNorm(d_model, name=f"{prefix}_ln2") | Dense(d_model, hidden, name=f"{prefix}_fc1") | GELU()
           | Dense(hidden, d_model, name=f"{prefix}_fc2"))
    return x + (x | mlp)


def transformer_encoder(seq: int | str = "S", d_model: int = 64, heads: int = 4, layers: int = 2,
                        seed: int = 0) -> axiom.Model:
    """Trace a ``layers``-deep pre-LN encoder over f32[N, seq, d_model] -> f32[N, seq, d_model]."""
    if d_model % heads:
        raise ValueError(f"transformer_encoder: d_model {d_model} does not split into {heads} heads")

    def transformer(x: Tensor[f32, "N", seq, d_model]) -> Tensor[f32, "N", seq, d_model]:  # noqa: F821
        for i in range(layers):
            x = _encoder_layer(x, d_model, heads, f"layer{i}")
        return x | LayerNorm(d_model, name="ln_final")

    model = axiom.model(transformer, seed=seed)
    model.load_params(initial_values(model.params, seed), strict=False)
    return model


def initial_values(params: dict[str, np.ndarray], seed: int) -> dict[str, np.ndarray]:
    """LayerNorm scales in [0.5, 1.5] and shifts N(0, 0.1), drawn from ``seed``, so that a pass that
    folds or fuses the normalisation cannot pass by treating them as ones and zeros."""
    rng = np.random.default_rng([seed, 7])
    out = {}
    for name, value in params.items():
        layer, kind = name.rsplit(".", 1)
        if "_ln" not in layer and not layer.startswith("ln_"):
            continue
        draw = rng.uniform(0.5, 1.5, value.shape) if kind == "weight" else rng.normal(0.0, 0.1, value.shape)
        out[name] = draw.astype(value.dtype)
    return out


transformer_small = transformer_encoder(seq="S", d_model=64, heads=4, layers=2)


def fake_sequences(batch: int = 2, seq: int = 16, d_model: int = 64, seed: int = 0) -> np.ndarray:
    """A deterministic f32[batch, seq, d_model] of N(0, 1) values, like embedded tokens."""
    return np.random.default_rng(seed).normal(0.0, 1.0, (batch, seq, d_model)).astype(np.float32)


def torch_reference(params: dict[str, np.ndarray], heads: int = 4) -> Callable[[Any], Any]:
    """The same encoder written by hand with torch.nn.functional, using the Axiom parameters by name
    (the layer count comes from the names; ``heads`` must be the traced model's)."""
    import torch
    import torch.nn.functional as F

    p = {k: torch.from_numpy(v) for k, v in params.items()}
    layers = sum(1 for name in params if name.endswith("_ln1.weight"))

    def linear(x: torch.Tensor, name: str) -> torch.Tensor:
        return F.linear(x, p[f"{name}.weight"], p[f"{name}.bias"])

    def norm(x: torch.Tensor, name: str) -> torch.Tensor:
        return F.layer_norm(x, x.shape[-1:], p[f"{name}.weight"], p[f"{name}.bias"], eps=LN_EPS)

    def attention(x: torch.Tensor, prefix: str) -> torch.Tensor:
        n, s, d = x.shape
        q, k, v = (linear(x, f"{prefix}_{w}").view(n, s, heads, d // heads).transpose(1, 2) for w in "qkv")
        weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(d // heads), dim=-1)
        return linear((weights @ v).transpose(1, 2).reshape(n, s, d), f"{prefix}_out")

    @torch.no_grad()
    def forward(x: torch.Tensor) -> torch.Tensor:
        for i in range(layers):
            x = x + attention(norm(x, f"layer{i}_ln1"), f"layer{i}_attn")
            x = x + linear(F.gelu(linear(norm(x, f"layer{i}_ln2"), f"layer{i}_fc1")), f"layer{i}_fc2")
        return norm(x, "ln_final")

    return forward
