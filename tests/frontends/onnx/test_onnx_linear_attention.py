"""LinearAttention (opset 27) against onnx's reference evaluator (onnxruntime has no kernel for it): every
update rule, grouped heads, past state, per-head and per-key decay, scalar and per-head beta."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator
from onnx_cases import make

from axiom.backends.numpy.interpreter import run_graph
from axiom.frontends.onnx import from_onnx
from axiom.ir.errors import UnsupportedError

F = TensorProto.FLOAT


def _case(rule, t, hq, hkv, dk, dv, past, per_key_decay, beta_heads, seed=0):  # noqa: ANN001, ANN202
    rng = np.random.default_rng(seed)
    bsz = 2
    arrays = {"q": rng.standard_normal((bsz, t, hq * dk)), "k": rng.standard_normal((bsz, t, hkv * dk)) * 0.5,
              "v": rng.standard_normal((bsz, t, hkv * dv))}
    names = ["q", "k", "v", "s" if past else ""]
    if past:
        arrays["s"] = rng.standard_normal((bsz, hkv, dk, dv))
    if rule in ("gated", "gated_delta"):
        arrays["g"] = -rng.uniform(0.01, 1.0, (bsz, t, hkv * dk if per_key_decay else hkv))
    names.append("g" if "g" in arrays else "")
    if rule in ("delta", "gated_delta"):
        arrays["b"] = rng.uniform(0.0, 1.0, (bsz, t, hkv if beta_heads else 1))
    names.append("b" if "b" in arrays else "")
    while names[-1] == "":
        names.pop()
    node = helper.make_node("LinearAttention", names, ["y", "state"], q_num_heads=hq, kv_num_heads=hkv,
                            update_rule=rule)
    inputs = [(n, F, list(arrays[n].shape)) for n in names if n]
    model = make([node], inputs, [("y", F, None), ("state", F, None)], opset=27)
    feeds = [arrays[n].astype(np.float32) for n in names if n]
    return model, feeds


def _compare(model, feeds, rtol=1e-4, atol=1e-5):  # noqa: ANN001, ANN202
    names = [i.name for i in model.graph.input]
    want = ReferenceEvaluator(model).run(None, dict(zip(names, feeds, strict=True)))
    got = run_graph(from_onnx(model), feeds)
    for g, w in zip(got, want, strict=True):
        assert g.shape == w.shape and g.dtype == w.dtype
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)


@settings(max_examples=20, deadline=None)
@given(rule=st.sampled_from(["linear", "gated", "delta", "gated_delta"]), t=st.integers(1, 4),
       heads=st.sampled_from([(1, 1), (2, 2), (4, 2), (3, 1)]), dk=st.integers(1, 3), dv=st.integers(1, 3),
       past=st.booleans(), per_key_decay=st.booleans(), beta_heads=st.booleans(), seed=st.integers(0, 99))
def test_linear_attention_matches_the_reference(rule, t, heads, dk, dv, past, per_key_decay, beta_heads,  # noqa: ANN001
                                                seed) -> None:
    model, feeds = _case(rule, t, *heads, dk, dv, past, per_key_decay, beta_heads, seed)
    _compare(model, feeds)


def test_explicit_scale_and_half_precision() -> None:
    model, feeds = _case("gated_delta", 3, 2, 1, 2, 3, True, False, True)
    model.graph.node[0].attribute.append(helper.make_attribute("scale", 0.3))
    _compare(model, feeds)
    for v in list(model.graph.input) + list(model.graph.output):
        v.type.tensor_type.elem_type = TensorProto.FLOAT16
    _compare(model, [f.astype(np.float16) for f in feeds], rtol=5e-3, atol=5e-3)


def test_a_symbolic_sequence_length_is_refused_clearly() -> None:
    model, _ = _case("linear", 2, 2, 2, 2, 2, False, False, False)
    for v in model.graph.input:
        v.type.tensor_type.shape.dim[1].dim_param = "T"
    with pytest.raises(UnsupportedError, match="sequence length must be static"):
        from_onnx(model)
