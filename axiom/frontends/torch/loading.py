"""The ways a PyTorch model arrives: a module (exported here with torch.export), an ExportedProgram,
a ``.pt2`` export, a ``torch.save``'d module, and a state dict for a given architecture."""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch.export import ExportedProgram

from axiom.frontends.torch.aten_common import TorchImportError
from axiom.frontends.torch.importer import import_program
from axiom.ir.graph import Graph

TRUST = ("loading a pickled module runs arbitrary code from the file; pass weights_only=False only for "
         "files you trust, or save a state dict (torch.save(model.state_dict())) and load it with "
         "from_pytorch(MyNet(), example_inputs, state_dict=path)")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def example_args(example_inputs: Any) -> tuple[Any, ...]:
    """``example_inputs`` as the positional argument tuple torch.export wants."""
    if isinstance(example_inputs, torch.Tensor):
        return (example_inputs,)
    if isinstance(example_inputs, (tuple, list)):
        return tuple(example_inputs)
    if example_inputs is None:
        raise TorchImportError("a torch.nn.Module needs example_inputs (a tensor or a tuple of tensors, "
                               "one per forward argument) for torch.export to trace it")
    raise TorchImportError(f"example_inputs must be a tensor or a tuple of tensors, got a "
                           f"{type(example_inputs).__name__}")


def export_module(module: torch.nn.Module, example_inputs: Any, dynamic_shapes: Any) -> ExportedProgram:
    """torch.export.export in eval mode (as torch.onnx.export does); the module's mode is restored."""
    args = example_args(example_inputs)
    training = module.training
    module.eval()
    try:
        return torch.export.export(module, args, dynamic_shapes=dynamic_shapes)
    except Exception as exc:  # torch raises UserError, GuardOnDataDependentSymNode, TypeError, ...
        raise TorchImportError(
            f"torch.export failed on {type(module).__name__}: {_first_line(exc)}\nhint: check that "
            "example_inputs match forward's arguments, and that every dim named in dynamic_shapes may "
            "vary (torch reports a dim it had to specialise); see docs/pytorch.md") from exc
    finally:
        module.train(training)


def read_state_dict(state_dict: Any) -> Mapping[str, Any]:
    """A state dict from a mapping or a file (read with weights_only=True, always)."""
    if isinstance(state_dict, Mapping):
        return state_dict
    if not isinstance(state_dict, (str, os.PathLike)):
        raise TorchImportError(f"state_dict must be a mapping or a path, got a {type(state_dict).__name__}")
    loaded = _torch_load(Path(state_dict), weights_only=True)
    if not isinstance(loaded, Mapping):
        raise TorchImportError(f"{str(state_dict)!r} holds a {type(loaded).__name__}, not a state dict")
    return loaded


def with_weights(module: torch.nn.Module, state_dict: Any) -> torch.nn.Module:
    """A copy of ``module`` holding the weights of ``state_dict``; keys must match exactly."""
    weights = read_state_dict(state_dict)
    want = set(module.state_dict())
    missing, unexpected = sorted(want - set(weights)), sorted(set(weights) - want)
    if missing or unexpected:
        parts = [f"missing keys: {', '.join(missing)}" if missing else "",
                 f"unexpected keys: {', '.join(unexpected)}" if unexpected else ""]
        raise TorchImportError(f"the state dict does not fit {type(module).__name__}: "
                               + "; ".join(p for p in parts if p)
                               + "\nhint: is it the state dict of this architecture (and not of a wrapper "
                               "that prefixes its keys, such as DataParallel's 'module.')?")
    module = copy.deepcopy(module)
    try:
        module.load_state_dict(weights, strict=True)
    except RuntimeError as exc:  # shape mismatches
        raise TorchImportError(f"the state dict does not fit {type(module).__name__}: "
                               f"{' '.join(str(exc).split())}") from None
    return module


def _torch_load(path: Path, weights_only: bool) -> Any:
    if not path.is_file():
        raise TorchImportError(f"no file at {str(path)!r}")
    try:
        return torch.load(path, map_location="cpu", weights_only=weights_only)
    except Exception as exc:  # UnpicklingError, RuntimeError on bad archives, ...
        if weights_only and "Unsupported global" in str(exc):  # a pickled class: the trust choice
            raise TorchImportError(f"{str(path)!r} holds more than tensors (a pickled module or other "
                                   f"Python objects), which weights_only=True refuses: {TRUST}") from None
        raise TorchImportError(f"{str(path)!r} is not a readable torch file: {_first_line(exc)}") from None


def _load_file(path: Path, weights_only: bool) -> Any:
    """What a torch file holds: an ExportedProgram (.pt2) or torch.load's object."""
    if path.suffix == ".pt2":
        if not path.is_file():
            raise TorchImportError(f"no file at {str(path)!r}")
        try:
            return torch.export.load(path)
        except Exception as exc:
            raise TorchImportError(f"{str(path)!r} is not a readable torch.export program: "
                                   f"{_first_line(exc)}") from None
    return _torch_load(path, weights_only)


def from_pytorch(model: Any, example_inputs: Any = None, *, dynamic_shapes: Any = None,
                 weights_only: bool = True, state_dict: Any = None) -> Graph:
    """Import a PyTorch model as an Axiom Graph: a torch.nn.Module (traced with ``example_inputs``
    and ``dynamic_shapes`` by torch.export, ``state_dict`` loaded into a copy first), an
    ExportedProgram, or a path to a ``.pt2`` export or a ``torch.save``'d module (``.pt``/``.pth``,
    read with ``weights_only``)."""
    name = type(model).__name__
    if isinstance(model, (str, os.PathLike)):
        path = Path(model)
        name = path.stem
        model = _load_file(path, weights_only)
        if isinstance(model, Mapping):
            raise TorchImportError(f"{str(path)!r} holds a state dict, not a model; pass the architecture "
                                   "too: from_pytorch(MyNet(), example_inputs, state_dict=path)")
    if isinstance(model, ExportedProgram):
        if state_dict is not None:
            raise TorchImportError("state_dict applies to a torch.nn.Module, not to an exported program")
        return import_program(model, _graph_name(name), dynamic_shapes)
    if not isinstance(model, torch.nn.Module):
        raise TorchImportError(f"cannot import a {type(model).__name__} from PyTorch: pass a "
                               "torch.nn.Module, a torch.export.ExportedProgram, or a path to a .pt2, .pt "
                               "or .pth file")
    if state_dict is not None:
        model = with_weights(model, state_dict)
    ep = export_module(model, example_inputs, dynamic_shapes)
    return import_program(ep, _graph_name(name), dynamic_shapes)


def _graph_name(name: str) -> str:
    return name if name.isidentifier() else "main"
