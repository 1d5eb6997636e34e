"""ONNX normalisation and loss import (LayerNormalization's three outputs, RMSNormalization,
GroupNormalization, MeanVarianceNormalization, LpNormalization, LRN, NegativeLogLikelihoodLoss,
SoftmaxCrossEntropyLoss), compared with onnxruntime."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto as T
from onnx import helper
from onnx_cases import check, make

from axiom.backends.numpy.interpreter import run_graph
from axiom.frontends.onnx import from_onnx

F = T.FLOAT
RNG = np.random.default_rng(1)


def _rand(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def _model(op, inputs, outputs=("Y",), opset=17, out_shape=None, **attrs):  # noqa: ANN001, ANN202
    """One node; out_shape where onnx's shape inference leaves the outputs unshaped (function ops)."""
    node = helper.make_node(op, [i[0] for i in inputs], list(outputs), **attrs)
    return make([node], inputs, [(o, F, out_shape) for o in outputs], opset=opset)


def _one(op, inputs, feeds, outputs=("Y",), opset=17, out_shape=None, **attrs):  # noqa: ANN001, ANN202
    return check(_model(op, inputs, outputs, opset, out_shape, **attrs), *feeds)


# ---- LayerNormalization, RMSNormalization ---------------------------------------------------------
@pytest.mark.parametrize("axis", [0, 1, -1, -2])
@pytest.mark.parametrize("outputs", [("Y",), ("Y", "Mean", "InvStdDev")])
def test_layer_norm_outputs(axis: int, outputs: tuple[str, ...]) -> None:
    shape = (2, 3, 5)
    norm = shape[axis % 3:]
    inputs = [("X", F, shape), ("S", F, norm), ("B", F, norm)]
    _one("LayerNormalization", inputs, [_rand(*shape), _rand(*norm), _rand(*norm)], outputs, axis=axis,
         epsilon=0.1)


def test_layer_norm_statistics_without_bias() -> None:
    inputs = [("X", F, (4, 6)), ("S", F, (6,))]
    graph = _one("LayerNormalization", inputs, [_rand(4, 6), _rand(6)], ("Y", "Mean", "InvStdDev"))
    assert [tuple(v.shape) for v in graph.outputs] == [(4, 6), (4, 1), (4, 1)]


def test_layer_norm_half_statistics_in_stash_type() -> None:
    """With stash_type=1 an f16 input is normalised in f32, and Mean/InvStdDev come out as f32."""
    node = helper.make_node("LayerNormalization", ["X", "S"], ["Y", "Mean", "InvStdDev"])
    model = make([node], [("X", T.FLOAT16, (3, 8)), ("S", T.FLOAT16, (8,))],
                 [("Y", T.FLOAT16, None), ("Mean", F, None), ("InvStdDev", F, None)])
    check(model, _rand(3, 8).astype(np.float16), _rand(8).astype(np.float16), rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_rms_norm(axis: int) -> None:
    shape = (2, 3, 4)
    norm = shape[axis % 3:]
    _one("RMSNormalization", [("X", F, shape), ("S", F, norm)], [_rand(*shape), _rand(*norm)], opset=23,
         axis=axis, epsilon=1e-3)


# ---- GroupNormalization, MeanVarianceNormalization, LpNormalization, LRN --------------------------
@pytest.mark.parametrize("groups", [1, 2, 6])
def test_group_norm_scale_per_channel(groups: int) -> None:
    inputs = [("X", F, (2, 6, 3, 2)), ("S", F, (6,)), ("B", F, (6,))]
    _one("GroupNormalization", inputs, [_rand(2, 6, 3, 2), _rand(6), _rand(6)], opset=21,
         out_shape=(2, 6, 3, 2), num_groups=groups, epsilon=1e-3)


@pytest.mark.parametrize("axes", [None, [1], [0, 1, 2, 3]])
def test_mean_variance_normalization(axes: list[int] | None) -> None:
    attrs = {} if axes is None else {"axes": axes}
    _one("MeanVarianceNormalization", [("X", F, (2, 3, 4, 2))], [_rand(2, 3, 4, 2)], opset=13,
         out_shape=(2, 3, 4, 2), **attrs)


@pytest.mark.parametrize("p, axis", [(1, -1), (2, 1), (2, 0)])
def test_lp_normalization(p: int, axis: int) -> None:
    x = _rand(3, 4)
    x[1] = 0.0 if axis != 0 else x[1]  # an all-zero slice stays zero
    _one("LpNormalization", [("X", F, (3, 4))], [x], opset=22, p=p, axis=axis)


@pytest.mark.parametrize("size", [1, 3, 5])
def test_lrn_window_over_channels(size: int) -> None:
    _one("LRN", [("X", F, (2, 5, 3, 3))], [_rand(2, 5, 3, 3)], opset=13, size=size, alpha=0.3, beta=0.6,
         bias=1.5)


def test_lrn_even_size_window_leans_forward() -> None:
    """size 4 sums channels c-1..c+2 (floor before, ceil after), as the spec writes; onnxruntime takes
    only odd sizes, so the spec's formula is evaluated here."""
    x = _rand(2, 5, 3)
    got = run_graph(from_onnx(_model("LRN", [("X", F, (2, 5, 3))], opset=13, size=4, alpha=0.4)), [x])[0]
    square_sum = np.stack([(x[:, max(0, c - 1):c + 3] ** 2).sum(axis=1) for c in range(5)], axis=1)
    np.testing.assert_allclose(got, x / (1.0 + 0.1 * square_sum) ** 0.75, rtol=1e-5)


# ---- NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss -------------------------------------------
LOSS_VARIANTS = [({"reduction": "none"}, False), ({"reduction": "sum"}, True),
                 ({"reduction": "mean"}, False), ({"reduction": "mean"}, True),
                 ({"reduction": "mean", "ignore_index": 2}, False),
                 ({"reduction": "sum", "ignore_index": 0}, True),
                 ({"reduction": "none", "ignore_index": 1}, True)]


@pytest.mark.parametrize("attrs, weighted", LOSS_VARIANTS)
@pytest.mark.parametrize("op", ["NegativeLogLikelihoodLoss", "SoftmaxCrossEntropyLoss"])
@pytest.mark.parametrize("shape", [(4, 5), (3, 5, 2, 3)])
def test_losses(op: str, attrs: dict, weighted: bool, shape: tuple[int, ...]) -> None:
    target_shape = (shape[0], *shape[2:])
    inputs = [("X", F, shape), ("T", T.INT64, target_shape)] + ([("W", F, (5,))] if weighted else [])
    feeds = [_rand(*shape), RNG.integers(0, 5, target_shape)]
    feeds += [RNG.random(5).astype(np.float32) + 0.5] if weighted else []
    outputs = ("L", "LogProb") if op == "SoftmaxCrossEntropyLoss" else ("L",)
    _one(op, inputs, feeds, outputs, opset=13, **attrs)
