"""Shared helpers of the ONNX import tests: build a model with onnx.helper, import it, and
compare our interpreter with onnxruntime."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
from onnx import helper, numpy_helper

from axiom.backends.numpy.interpreter import run_graph
from axiom.frontends.onnx import from_onnx


def make(nodes, inputs, outputs, opset=17, inits=()):  # noqa: ANN001, ANN201
    """A ModelProto from nodes; inputs/outputs are (name, elem_type, shape) triples."""
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info(*i) for i in inputs],
                          [helper.make_tensor_value_info(*o) for o in outputs],
                          [numpy_helper.from_array(np.asarray(a), n) for n, a in inits])
    ir = 8 if opset < 15 else 9 if opset < 21 else 10
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], ir_version=ir)


def check(model, *feeds, rtol=1e-5, atol=1e-6):  # noqa: ANN001, ANN201
    """Import ``model``, run it on ``feeds`` with our interpreter and onnxruntime, compare."""
    graph = from_onnx(model)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    want = sess.run(None, dict(zip(names, feeds, strict=True)))
    got = run_graph(graph, list(feeds))
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)
    return graph
