"""The zoo through torch.export: each hand-written PyTorch model is imported with axiom.from_pytorch
(a symbolic batch Dim, and a symbolic sequence Dim for the transformers), compiled once on the numpy
backend and run at two sizes against torch eager; then exported with axiom.to_onnx and run in ONNX
Runtime. Agreement: max|a - b| <= 1e-4 * max|b| + 1e-6."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

import axiom

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
onnxruntime = pytest.importorskip("onnxruntime")

import zoo_models  # noqa: E402 - needs torch, skipped above without it
from zoo_check import assert_close, check_exported_back  # noqa: E402


@dataclass
class Imported:
    """One zoo model: its name, the imported graph, its numpy executable and (input, eager output) pairs."""

    name: str
    graph: axiom.Graph
    exe: axiom.Executable
    cases: list[tuple[np.ndarray, np.ndarray]]


def dynamic_shapes(name: str) -> dict:
    batch, seq = torch.export.Dim("batch"), torch.export.Dim("seq")
    return {"x": {0: batch, 1: seq} if zoo_models.ZOO[name].seq else {0: batch}}


@pytest.fixture(scope="module", params=list(zoo_models.ZOO))
def imported(request) -> Imported:
    name = request.param
    model = zoo_models.build(name)
    graph = axiom.from_pytorch(model, (zoo_models.example_input(name, 2, 16),),
                               dynamic_shapes=dynamic_shapes(name))
    cases = []
    for batch, seq in zoo_models.sizes(name):
        x = zoo_models.example_input(name, batch, seq, seed=batch)
        with torch.no_grad():
            cases.append((x.numpy(), model(x).numpy()))
    return Imported(name, graph, axiom.compile(graph, backend="numpy"), cases)


def test_batch_and_sequence_are_symbols(imported):
    dims = [str(d) for d in imported.graph.inputs[0].type.shape]
    expected = ["batch", "seq"] if zoo_models.ZOO[imported.name].seq else ["batch"]
    assert imported.graph.inputs[0].name == "x"
    assert dims[:len(expected)] == expected
    assert str(imported.graph.outputs[0].type.shape[0]) == "batch"


def test_weights_are_constants_named_by_module_path(imported):
    model = zoo_models.build(imported.name)
    params = {name for name, _ in model.named_parameters()}
    assert params <= set(imported.graph.constants), sorted(params - set(imported.graph.constants))[:5]


def test_numpy_backend_matches_eager_at_two_sizes(imported):
    for x, expected in imported.cases:
        assert_close(imported.exe(x), expected, f"{imported.name} at {list(x.shape)}")


def test_export_back_to_onnx_runs_in_onnxruntime(imported, tmp_path):
    check_exported_back(imported.graph, imported.cases, tmp_path / "back.onnx", imported.name)
