"""The models and engines of benchmarks/cpu_compare.py: each zoo model (tests/zoo/zoo_models.py) exported
to ONNX once, and each engine (Axiom llvm, PyTorch eager, torch.compile, onnxruntime) turned into a
zero-argument call on one input, so the comparison can time them round-robin."""

from __future__ import annotations

import inspect
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ZOO_DIR = Path(__file__).resolve().parents[1] / "tests" / "zoo"
MODELS = {"mlp": "mlp", "cnn": "mnist_cnn", "resnet18": "resnet18", "transformer": "transformer",
          "gpt2": "gpt2_block"}  # our name -> zoo name
LARGE_BATCH = {"mlp": 32, "cnn": 32, "resnet18": 8, "transformer": 8, "gpt2": 8}
SEQ = 128  # the sequence length of the transformer rows
ENGINES = ("axiom", "eager", "torch.compile", "onnxruntime")


def zoo() -> Any:
    """The zoo_models module of tests/zoo (not a package), imported from its folder."""
    if str(ZOO_DIR) not in sys.path:
        sys.path.insert(0, str(ZOO_DIR))
    import zoo_models

    return zoo_models


def example_input(name: str, batch: int) -> Any:
    """The seeded torch input of model ``name`` at ``batch`` (sequence length SEQ where there is one)."""
    return zoo().example_input(MODELS[name], batch, SEQ)


def reason(exc: BaseException) -> str:
    """One short line saying why an engine is n/a."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:160]


def as_numpy(out: Any) -> np.ndarray:
    """An engine's output as a numpy array (a torch tensor, a list of outputs, or an array)."""
    if isinstance(out, (list, tuple)):
        out = out[0]
    if hasattr(out, "detach"):
        out = out.detach().numpy()
    return np.asarray(out)


def max_rel_error(got: np.ndarray, expected: np.ndarray) -> float:
    """max |got - expected| / max |expected| (inf when the shapes differ)."""
    if got.shape != expected.shape:
        return float("inf")
    scale = float(np.abs(expected).max()) or 1.0
    return float(np.abs(got.astype(np.float64) - expected).max()) / scale


@dataclass
class Model:
    """One benchmarked model: the seeded torch module in eval mode, its .onnx file (a dynamic batch),
    what each engine built for it once (or the error it raised), and the seconds each build took."""

    name: str
    module: Any
    onnx_file: Path | Exception  # the export's error when it failed
    threads: int
    ort_spinning: bool = False
    built: dict[str, Any] = field(default_factory=dict)
    setup_s: dict[str, list[float]] = field(default_factory=dict)

    @property
    def onnx_path(self) -> Path:
        """The .onnx file (raises the export's error when there is none)."""
        if isinstance(self.onnx_file, Exception):
            raise self.onnx_file
        return self.onnx_file

    def build_once(self, engine: str, make: Callable[[], Any]) -> Any:
        """``make()``'s result for ``engine``, made on first use; a failure is kept and raised again, so a
        slow compile that fails is not retried for the next batch."""
        if engine not in self.built:
            start = time.perf_counter()
            try:
                self.built[engine] = make()
            except Exception as exc:  # noqa: BLE001 - any engine failure becomes an n/a cell
                self.built[engine] = exc
            self.setup_s.setdefault(engine, []).append(time.perf_counter() - start)
        result = self.built[engine]
        if isinstance(result, Exception):
            raise result
        return result


def load_model(name: str, folder: Path, threads: int, ort_spinning: bool = False) -> Model:
    """Zoo model ``name`` (seed 0), exported to ``folder/<name>.onnx``; call it outside inference mode (the
    exporter traces with autograd)."""
    module = zoo().build(MODELS[name])
    path = folder / f"{name}.onnx"
    try:
        export_onnx(module, example_input(name, 2), path)
    except Exception as exc:  # noqa: BLE001 - the ONNX engines become n/a
        return Model(name, module, exc, threads, ort_spinning)
    return Model(name, module, path, threads, ort_spinning)


def export_onnx(module: Any, x: Any, path: Path) -> None:
    """TorchScript's exporter (onnxscript is not needed), opset 17, the batch dim dynamic."""
    import torch

    axes = {0: "batch"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (x,), str(path), dynamo=False, input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": axes, "y": axes}, opset_version=17)


def axiom_compile(path: Path, threads: int) -> Any:
    """``axiom.compile(path, backend="llvm")``, passing ``threads`` when the API takes it."""
    import axiom

    options = {"threads": threads} if "threads" in inspect.signature(axiom.compile).parameters else {}
    return axiom.compile(path, backend="llvm", **options)


def _axiom(model: Model, x: Any) -> Callable[[], Any]:
    exe = model.build_once("axiom", lambda: axiom_compile(model.onnx_path, model.threads))
    xn = x.numpy()
    return lambda: exe(xn)


def _eager(model: Model, x: Any) -> Callable[[], Any]:
    return lambda: model.module(x)


def _torch_compile(model: Model, x: Any) -> Callable[[], Any]:
    """A fresh inductor compile for this input's shape; the compile and two warm-up calls are timed as
    setup, not as calls."""
    import torch

    start = time.perf_counter()
    torch._dynamo.reset()
    compiled = torch.compile(model.module)
    compiled(x)
    compiled(x)
    model.setup_s.setdefault("torch.compile", []).append(time.perf_counter() - start)
    return lambda: compiled(x)


def _onnxruntime(model: Model, x: Any) -> Callable[[], Any]:
    make = lambda: ort_session(model.onnx_path, model.threads, model.ort_spinning)  # noqa: E731
    session = model.build_once("onnxruntime", make)
    feed = {session.get_inputs()[0].name: x.numpy()}
    return lambda: session.run(None, feed)


def ort_session(path: Path, threads: int, spinning: bool = False) -> Any:
    """An onnxruntime CPU session: ``threads`` intra-op threads, one inter-op, all graph optimisations;
    its idle workers spin only when ``spinning``."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if not spinning:  # a spinning worker would hold a core while the next engine of the round runs
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


BINDERS: dict[str, Callable[[Model, Any], Callable[[], Any]]] = {
    "axiom": _axiom, "eager": _eager, "torch.compile": _torch_compile, "onnxruntime": _onnxruntime}


def bind(engine: str, model: Model, x: Any) -> Callable[[], Any]:
    """A zero-argument call running ``model`` on ``x`` in ``engine`` (raises when the engine cannot)."""
    return BINDERS[engine](model, x)
