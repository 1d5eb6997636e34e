"""RNN, GRU and LSTM import, unrolled, against onnxruntime: directions, layouts, biases, initial states,
peepholes, clip, linear_before_reset, input_forget and other activations, at hypothesis-drawn sizes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator
from onnx_cases import check, make

from axiom.backends.numpy.interpreter import run_graph
from axiom.frontends.onnx import OnnxUnsupportedError, from_onnx
from axiom.ir.errors import UnsupportedError

F = TensorProto.FLOAT
GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}


def _model(op, seq, batch, inp, hid, dirs, *, layout=0, bias=True, init=True, peep=False, **attrs):  # noqa: ANN001, ANN003, ANN202
    """A one-node model; weights are initializers, X (and the initial states) graph inputs."""
    rng = np.random.default_rng(seq * 100 + batch * 10 + hid)
    g = GATES[op]
    inits = [("W", rng.uniform(-0.5, 0.5, (dirs, g * hid, inp)).astype(np.float32)),
             ("R", rng.uniform(-0.5, 0.5, (dirs, g * hid, hid)).astype(np.float32))]
    names = ["X", "W", "R"]
    if bias:
        inits.append(("B", rng.uniform(-0.5, 0.5, (dirs, 2 * g * hid)).astype(np.float32)))
    names.append("B" if bias else "")
    names.append("")  # sequence_lens
    x_shape = [batch, seq, inp] if layout else [seq, batch, inp]
    state = [batch, dirs, hid] if layout else [dirs, batch, hid]
    inputs = [("X", F, x_shape)]
    if init:
        names.append("h0")
        inputs.append(("h0", F, state))
        if op == "LSTM":
            names.append("c0")
            inputs.append(("c0", F, state))
    if peep:
        names += [""] * (7 - len(names)) + ["P"]
        inits.append(("P", rng.uniform(-0.5, 0.5, (dirs, 3 * hid)).astype(np.float32)))
    direction = {1: "forward", 2: "bidirectional"}[dirs] if dirs == 2 else attrs.pop("direction", "forward")
    outs = ["Y", "Y_h"] + (["Y_c"] if op == "LSTM" else [])
    node = helper.make_node(op, names, outs, hidden_size=hid, direction=direction, layout=layout, **attrs)
    model = make([node], inputs, [(o, F, None) for o in outs], opset=14, inits=inits)
    feeds = [rng.standard_normal(x_shape).astype(np.float32)]
    if init:
        feeds += [rng.standard_normal(state).astype(np.float32) for _ in range(2 if op == "LSTM" else 1)]
    return model, feeds


@settings(max_examples=12, deadline=None)
@given(op=st.sampled_from(sorted(GATES)), seq=st.integers(1, 4), batch=st.integers(1, 3),
       inp=st.integers(1, 5), hid=st.integers(1, 4), dirs=st.integers(1, 2), layout=st.integers(0, 1),
       bias=st.booleans(), init=st.booleans())
def test_recurrent_layers_match_onnxruntime(op, seq, batch, inp, hid, dirs, layout, bias, init) -> None:  # noqa: ANN001
    model, feeds = _model(op, seq, batch, inp, hid, dirs, layout=layout, bias=bias, init=init)
    if not layout:
        check(model, *feeds, rtol=1e-4, atol=1e-5)
        return
    # onnxruntime refuses layout=1 (batch first): onnx's reference evaluator is the oracle there
    feed = {i.name: f for i, f in zip(model.graph.input, feeds, strict=True)}
    want = ReferenceEvaluator(model).run(None, feed)
    for got, w in zip(run_graph(from_onnx(model), feeds), want, strict=True):
        np.testing.assert_allclose(got, w, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("op,attrs", [
    ("RNN", {"direction": "reverse", "activations": ["Relu"]}),
    ("RNN", {"clip": 0.3, "activations": ["Sigmoid"]}),
    ("GRU", {"linear_before_reset": 1}),
    ("GRU", {"direction": "reverse", "activations": ["HardSigmoid", "Softsign"]}),
    ("LSTM", {"input_forget": 1}),
    ("LSTM", {"clip": 0.5, "direction": "reverse"}),
    ("LSTM", {"activations": ["Sigmoid", "Relu", "Tanh"]}),
])
def test_recurrent_attributes_match_onnxruntime(op, attrs) -> None:  # noqa: ANN001
    model, feeds = _model(op, 3, 2, 3, 4, 1, **attrs)
    check(model, *feeds, rtol=1e-4, atol=1e-5)


def test_lstm_peepholes_match_onnxruntime() -> None:
    model, feeds = _model("LSTM", 3, 2, 3, 4, 2, peep=True)
    check(model, *feeds, rtol=1e-4, atol=1e-5)


def test_unrolled_graph_has_one_input_projection_per_direction() -> None:
    model, _ = _model("LSTM", 5, 2, 3, 4, 2)
    graph = from_onnx(model)
    big = [n for n in graph.nodes if n.op.name == "matmul" and n.inputs[0].rank == 3]
    assert len(big) == 2  # X @ W^T over the whole sequence, once per direction
    assert sum(n.op.name == "matmul" for n in graph.nodes) == 2 + 2 * 5  # plus one H @ R^T per step


def test_padded_sequences_and_unknown_activations_are_refused_clearly() -> None:
    model, _ = _model("GRU", 3, 2, 3, 4, 1)
    node = model.graph.node[0]
    node.input[4] = "lens"
    model.graph.initializer.append(helper.make_tensor("lens", TensorProto.INT32, [2], [3, 2]))
    with pytest.raises(UnsupportedError, match="sequence_lens shorter than the sequence"):
        from_onnx(model)
    model, _ = _model("RNN", 3, 2, 3, 4, 1, activations=["Gelu"])
    with pytest.raises(OnnxUnsupportedError, match="activation\\(s\\) \\['Gelu'\\] are not supported"):
        from_onnx(model)
