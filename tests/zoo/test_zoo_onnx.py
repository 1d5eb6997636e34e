"""The zoo through ONNX: each hand-written PyTorch model is exported with torch's TorchScript exporter
(dynamo=False, a dynamic batch, and a dynamic sequence for the transformers), imported with
axiom.from_onnx, compiled once on the numpy backend and run at two sizes against torch eager; then
exported back with axiom.to_onnx and run in ONNX Runtime. Agreement: max|a - b| <= 1e-4 * max|b| + 1e-6."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

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
    """One zoo model: its .onnx file, the imported graph, its numpy executable, and (input, torch eager
    output) pairs at the model's two sizes."""

    path: Path
    graph: axiom.Graph
    exe: axiom.Executable
    cases: list[tuple[np.ndarray, np.ndarray]]


def export_torch(name: str, model: torch.nn.Module, path: Path) -> None:
    """The legacy (TorchScript) exporter with a dynamic batch, and a dynamic sequence where there is one."""
    axes = {0: "batch", 1: "seq"} if zoo_models.ZOO[name].seq else {0: "batch"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (zoo_models.example_input(name, 2, 16),), str(path), dynamo=False,
                          input_names=["x"], output_names=["y"], dynamic_axes={"x": axes, "y": axes},
                          opset_version=17)


@pytest.fixture(scope="module", params=list(zoo_models.ZOO))
def imported(request, tmp_path_factory) -> Imported:
    name = request.param
    model = zoo_models.build(name)
    path = tmp_path_factory.mktemp("zoo") / f"{name}.onnx"
    export_torch(name, model, path)
    graph = axiom.from_onnx(path)
    return Imported(path, graph, axiom.compile(graph, backend="numpy"), eager_cases(name, model))


def eager_cases(name: str, model: torch.nn.Module) -> list[tuple[np.ndarray, np.ndarray]]:
    """(input, torch eager output) at the model's two sizes."""
    out = []
    for batch, seq in zoo_models.sizes(name):
        x = zoo_models.example_input(name, batch, seq, seed=batch)
        with torch.no_grad():
            out.append((x.numpy(), model(x).numpy()))
    return out


def _name(item: Imported) -> str:
    return item.path.stem


def test_batch_and_sequence_are_symbols(imported):
    dims = [str(d) for d in imported.graph.inputs[0].type.shape]
    expected = ["batch", "seq"] if zoo_models.ZOO[_name(imported)].seq else ["batch"]
    assert dims[:len(expected)] == expected
    assert str(imported.graph.outputs[0].type.shape[0]) == "batch"


def test_numpy_backend_matches_eager_at_two_sizes(imported):
    for x, expected in imported.cases:
        assert_close(imported.exe(x), expected, f"{_name(imported)} at {list(x.shape)}")


def test_export_back_to_onnx_runs_in_onnxruntime(imported, tmp_path):
    check_exported_back(imported.graph, imported.cases, tmp_path / "back.onnx", _name(imported))
