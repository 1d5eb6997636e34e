"""axiom.from_onnx / axiom.to_onnx / axiom.compile("x.onnx"): a DSL model goes out to ONNX and back."""

import subprocess
import sys

import numpy as np
import pytest

import axiom
from axiom.examples import mlp

onnxruntime = pytest.importorskip("onnxruntime")


def test_import_axiom_does_not_import_onnx():
    code = "import sys, axiom; assert 'onnx' not in sys.modules, 'import axiom pulled in onnx'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_dsl_model_to_onnx_and_back_keeps_a_symbolic_batch(tmp_path):
    path = tmp_path / "mlp.onnx"
    proto = axiom.to_onnx(mlp.mlp, path)
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "N"
    graph = axiom.from_onnx(path)
    assert str(graph.inputs[0].type) == "f32[N, 784]"
    exe = axiom.compile(str(path), backend="numpy")
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for batch in (1, 5):
        x = mlp.fake_inputs(batch)
        np.testing.assert_allclose(exe(x), mlp.mlp(x), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(session.run(None, {"x": x})[0], mlp.mlp(x), rtol=1e-5, atol=1e-6)
