"""ONNX Attention, RotaryEmbedding, SwiGLU and CausalConvWithState import: compared with onnxruntime where
it runs the op, else with onnx's reference evaluator (the spec's oracle)."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto as T
from onnx import helper
from onnx.reference import ReferenceEvaluator
from onnx_cases import check, make

from axiom.backends.numpy.interpreter import run_graph
from axiom.frontends.onnx import from_onnx
from axiom.ir.errors import UnsupportedError

F = T.FLOAT
RNG = np.random.default_rng(0)


def _rand(*shape: int, dtype=np.float32) -> np.ndarray:  # noqa: ANN001
    return RNG.standard_normal(shape).astype(dtype)


def _attention(inputs, feeds, opset=23, outputs=("Y",), **attrs):  # noqa: ANN001, ANN202
    """An Attention model over the named (name, elem_type, shape) inputs; "" skips an optional input."""
    names = [i[0] if i else "" for i in inputs]
    node = helper.make_node("Attention", names, list(outputs), **attrs)
    outs = [(o, F, None) for o in outputs if o]
    return make([node], [i for i in inputs if i], outs, opset=opset), feeds


def _against_reference(model, *feeds, rtol=1e-5, atol=1e-6):  # noqa: ANN001, ANN202
    """Import and run ``model``; compare with onnx's ReferenceEvaluator."""
    names = [i.name for i in model.graph.input]
    want = ReferenceEvaluator(model).run(None, dict(zip(names, feeds, strict=True)))
    got = run_graph(from_onnx(model), list(feeds))
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)
    return got


QKV4 = [("Q", F, [2, 3, 4, 8]), ("K", F, [2, 3, 6, 8]), ("V", F, [2, 3, 6, 5])]


def _qkv4():  # noqa: ANN202
    return [_rand(2, 3, 4, 8), _rand(2, 3, 6, 8), _rand(2, 3, 6, 5)]


@pytest.mark.parametrize("attrs", [{}, {"scale": 0.3}, {"softcap": 1.5}, {"is_causal": 1},
                                   {"is_causal": 1, "softcap": 2.0, "scale": 0.1}])
def test_attention_4d(attrs: dict) -> None:
    check(*_attention(QKV4, _qkv4(), **attrs)[:1], *_qkv4())


def test_attention_3d_heads_and_gqa() -> None:
    inputs = [("Q", F, [2, 4, 24]), ("K", F, [2, 5, 8]), ("V", F, [2, 5, 12])]
    feeds = [_rand(2, 4, 24), _rand(2, 5, 8), _rand(2, 5, 12)]
    model, _ = _attention(inputs, feeds, q_num_heads=6, kv_num_heads=2, is_causal=1)
    check(model, *feeds)


@pytest.mark.parametrize("mask_type, mask_shape", [(F, [4, 6]), (F, [2, 1, 4, 6]), (T.BOOL, [4, 6]),
                                                   (T.BOOL, [2, 3, 4, 6])])
@pytest.mark.parametrize("causal", [0, 1])
def test_attention_masks(mask_type: int, mask_shape: list[int], causal: int) -> None:
    mask = _rand(*mask_shape) if mask_type == F else RNG.random(mask_shape) > 0.3
    mask[..., 0] = True if mask_type == T.BOOL else mask[..., 0]  # every row sees a key
    model, _ = _attention([*QKV4, ("M", mask_type, mask_shape)], [], is_causal=causal)
    check(model, *_qkv4(), mask)


@pytest.mark.parametrize("mode", [0, 1, 2, 3])
def test_attention_past_present_and_qk_output(mode: int) -> None:
    """present = past ++ new keys; causal is aligned bottom-right by the past length; mode picks the 4th
    output (raw scores, after softcap, with the bias, probabilities). onnxruntime writes masked scores of
    mode 2 as -FLT_MAX, so that mode is compared with the reference (-inf); the reference's mode 0 is wrongly
    after softcap, so the others are compared with onnxruntime."""
    inputs = [("Q", F, [1, 2, 3, 4]), ("K", F, [1, 2, 3, 4]), ("V", F, [1, 2, 3, 4]), ("M", F, [3, 8]),
              ("PK", F, [1, 2, 5, 4]), ("PV", F, [1, 2, 5, 4])]
    feeds = [_rand(1, 2, 3, 4), _rand(1, 2, 3, 4), _rand(1, 2, 3, 4), _rand(3, 8), _rand(1, 2, 5, 4),
             _rand(1, 2, 5, 4)]
    model, _ = _attention(inputs, feeds, outputs=("Y", "PK_out", "PV_out", "QK"), is_causal=1, softcap=1.0,
                          qk_matmul_output_mode=mode)
    (_against_reference if mode == 2 else check)(model, *feeds)


def test_attention_short_mask_is_padded_and_nonpad_kv_seqlen() -> None:
    """Opset 24: a mask shorter than the keys is padded with -inf; nonpad_kv_seqlen hides the padding keys
    and moves the causal frontier to nonpad - q per batch (onnxruntime takes no short mask)."""
    inputs = [*QKV4, ("M", F, [2, 3, 4, 5]), "", "", ("N", T.INT64, [2])]
    feeds = [*_qkv4(), _rand(2, 3, 4, 5), np.array([6, 4], np.int64)]
    model, _ = _attention(inputs, feeds, opset=24, is_causal=1)
    _against_reference(model, *feeds)
    model, _ = _attention(inputs[:3] + ["", "", "", inputs[-1]], [], opset=24, is_causal=1)
    check(model, *feeds[:3], feeds[-1])


def test_attention_fully_masked_rows_are_zero() -> None:
    """A query row with no allowed key gives a zero row in Y and in the mode-3 probabilities, not NaN."""
    inputs = [("Q", F, [1, 1, 2, 4]), ("K", F, [1, 1, 2, 4]), ("V", F, [1, 1, 2, 4]), ("M", T.BOOL, [2, 2])]
    mask = np.array([[True, False], [False, False]])
    feeds = [_rand(1, 1, 2, 4), _rand(1, 1, 2, 4), _rand(1, 1, 2, 4), mask]
    model, _ = _attention(inputs, feeds, outputs=("Y", "", "", "QK"), qk_matmul_output_mode=3)
    y, p = _against_reference(model, *feeds)
    assert not y[0, 0, 1].any() and not p[0, 0, 1].any() and p[0, 0, 0, 0] == 1.0


@pytest.mark.parametrize("attrs", [{"left_window_size": 1, "right_window_size": 2},
                                   {"is_causal": 1, "left_window_size": 2}])
def test_attention_sliding_window(attrs: dict) -> None:
    model, _ = _attention(QKV4, [], opset=25, **attrs)
    _against_reference(model, *_qkv4())


def test_attention_half_precision_softmax() -> None:
    """f16 scores are normalised in f16 as the spec asks, or in f32 with softmax_precision=FLOAT."""
    feeds = [a.astype(np.float16) for a in _qkv4()]
    inputs = [(n, T.FLOAT16, s) for n, _, s in QKV4]
    for attrs in ({}, {"softmax_precision": 1}):
        node = helper.make_node("Attention", ["Q", "K", "V"], ["Y"], is_causal=1, **attrs)
        model = make([node], inputs, [("Y", T.FLOAT16, None)], opset=23)
        _against_reference(model, *feeds, rtol=1e-3, atol=1e-3)


def test_attention_symbolic_batch() -> None:
    inputs = [("Q", F, ["N", 3, 4, 8]), ("K", F, ["N", 3, 6, 8]), ("V", F, ["N", 3, 6, 5])]
    model, _ = _attention(inputs, [], is_causal=1)
    graph = from_onnx(model)
    assert str(graph.outputs[0].shape[0]) == "N"
    for n in (1, 3):
        feeds = [_rand(n, 3, 4, 8), _rand(n, 3, 6, 8), _rand(n, 3, 6, 5)]
        check(model, *feeds)


def test_attention_heads_must_divide() -> None:
    inputs = [("Q", F, [2, 4, 24]), ("K", F, [2, 5, 8]), ("V", F, [2, 5, 8])]
    model, _ = _attention(inputs, [], q_num_heads=5, kv_num_heads=2)
    with pytest.raises(UnsupportedError, match="heads"):
        from_onnx(model)


# ---- RotaryEmbedding, SwiGLU, CausalConvWithState ------------------------------------------------
@pytest.mark.parametrize("interleaved", [0, 1])
@pytest.mark.parametrize("rotary_dim", [0, 4])
def test_rotary_embedding_position_ids(interleaved: int, rotary_dim: int) -> None:
    half = (rotary_dim or 8) // 2
    inputs = [("X", F, [2, 3, 5, 8]), ("C", F, [10, half]), ("S", F, [10, half]), ("P", T.INT64, [2, 5])]
    node = helper.make_node("RotaryEmbedding", ["X", "C", "S", "P"], ["Y"], interleaved=interleaved,
                            rotary_embedding_dim=rotary_dim)
    model = make([node], inputs, [("Y", F, None)], opset=23)
    angles = RNG.random((10, half)).astype(np.float32) * 3
    check(model, _rand(2, 3, 5, 8), np.cos(angles), np.sin(angles), RNG.integers(0, 10, (2, 5)))


def test_rotary_embedding_3d_without_position_ids() -> None:
    inputs = [("X", F, [2, 5, 12]), ("C", F, [2, 5, 3]), ("S", F, [2, 5, 3])]
    node = helper.make_node("RotaryEmbedding", ["X", "C", "S"], ["Y"], num_heads=2)
    model = make([node], inputs, [("Y", F, None)], opset=23)
    check(model, _rand(2, 5, 12), _rand(2, 5, 3), _rand(2, 5, 3))


@pytest.mark.parametrize("alpha", [1.0, 0.5])
def test_swiglu(alpha: float) -> None:
    node = helper.make_node("SwiGLU", ["A", "B"], ["Y"], alpha=alpha)
    model = make([node], [("A", F, [3, 4]), ("B", F, [3, 4])], [("Y", F, None)], opset=28)
    _against_reference(model, _rand(3, 4), _rand(3, 4))


@pytest.mark.parametrize("past, bias, activation", [(False, False, "none"), (True, True, "silu"),
                                                    (False, True, "swish")])
def test_causal_conv_with_state(past: bool, bias: bool, activation: str) -> None:
    names = ["X", "W", "B" if bias else "", "P" if past else ""]
    node = helper.make_node("CausalConvWithState", names, ["Y", "State"], activation=activation)
    inputs = [("X", F, [2, 4, 7]), ("W", F, [4, 1, 3])] + ([("B", F, [4])] if bias else [])
    inputs += [("P", F, [2, 4, 2])] if past else []
    model = make([node], inputs, [("Y", F, None), ("State", F, None)], opset=27)
    feeds = [_rand(*s) for _, _, s in inputs]
    _against_reference(model, *feeds)
