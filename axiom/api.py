"""The wiring behind the public API: model -> frontend -> pipeline -> backend -> Executable."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from axiom.backends import get_backend
from axiom.compiler.levels import pipeline_for
from axiom.compiler.manager import Instrumentation
from axiom.compiler.passbase import Pass
from axiom.compiler.pipeline import run_pipeline
from axiom.ir.errors import UnsupportedError
from axiom.ir.graph import Graph
from axiom.runtime.executable import Executable
from axiom.runtime.specialize import SpecializedExecutable

TORCH_SUFFIXES = (".pt", ".pt2", ".pth")


def _is_torch_model(model: Any) -> bool:
    """A torch.nn.Module, a torch.export.ExportedProgram or a path to a torch file (torch not imported)."""
    if isinstance(model, (str, Path)):
        return str(model).endswith(TORCH_SUFFIXES)
    return any(c.__module__.startswith("torch") and c.__name__ in ("Module", "ExportedProgram")
               for c in type(model).__mro__)


def to_graph(model: Any, example_inputs: Any = None, dynamic_shapes: Any = None) -> Graph:
    """The IR graph of a model: a Graph, a DSL model, an onnx.ModelProto, a path to an ``.axir``,
    ``.onnx`` or torch (``.pt``/``.pt2``/``.pth``) file, a torch.nn.Module or an ExportedProgram
    (torch models need ``example_inputs``; ``dynamic_shapes`` as for torch.export)."""
    if _is_torch_model(model):
        return from_pytorch(model, example_inputs, dynamic_shapes=dynamic_shapes)
    if isinstance(model, Graph):
        return model
    if hasattr(model, "to_graph"):
        return model.to_graph()
    if isinstance(model, (str, Path)) and str(model).endswith(".axir"):
        from axiom.ir.parser import parse_graph

        return parse_graph(Path(model).read_text())
    if _is_onnx(model):
        return import_onnx(model)
    raise UnsupportedError(f"cannot compile a {type(model).__name__}: pass an axiom.ir.Graph, an "
                           "@axiom.model function, an onnx.ModelProto, a torch.nn.Module, or a path to an "
                           ".axir, .onnx or .pt file")


def compile(  # noqa: A001 - the public name
    model: Any,
    backend: str = "best",
    *,
    example_inputs: Any = None,
    dynamic_shapes: Any = None,
    opt_level: int = 2,
    passes: str | Sequence[Pass | str] | None = None,
    verify: bool = True,
    threads: int | None = None,
    print_ir_before: Sequence[str] = (),
    print_ir_after: Sequence[str] = (),
    print_ir_after_all: bool = False,
    print_ir_after_change: bool = False,
    ir_dump_dir: str | Path | None = None,
    pass_timing: bool = False,
    out: TextIO | None = None,
) -> Executable:
    """Compile ``model`` for ``backend`` ("numpy", or "best" for the fastest available).

    A torch model takes ``example_inputs`` (and ``dynamic_shapes``) as :func:`from_pytorch` does.

    ``passes`` replaces the pipeline of ``opt_level`` (a string such as ``"cse,dce"`` or a list
    of Pass objects, your own included); the level's pipeline decomposes the ops the backend
    lists in its ``DECOMPOSE`` (none for numpy). The ``print_ir_*``, ``ir_dump_dir`` and
    ``pass_timing`` switches show the IR as the passes change it (on ``out``, default stderr).
    ``threads`` caps the threads a native backend's kernels use (llvm; default: every CPU available).

    An ONNX model whose shapes or axes depend on the values of graph inputs (a Reshape's shape
    or a ReduceSum's axes given as an input) gives a :class:`SpecializedExecutable`: it compiles
    once per distinct value of those inputs, on the call that first passes it.
    """
    instrument = Instrumentation(tuple(print_ir_before), tuple(print_ir_after), print_ir_after_all,
                                 print_ir_after_change, ir_dump_dir, pass_timing, out)
    if _is_onnx(model):
        model, inputs, special = _onnx_specialization(model)
        if special:
            return SpecializedExecutable(inputs, special, lambda values: _compile_graph(
                import_onnx(model, values), backend, opt_level, passes, verify, instrument, threads))
    graph = to_graph(model, example_inputs, dynamic_shapes)
    return _compile_graph(graph, backend, opt_level, passes, verify, instrument, threads)


def _compile_graph(graph: Graph, backend: str, opt_level: int, passes: Any, verify: bool,
                   instrument: Instrumentation, threads: int | None = None) -> Executable:
    module = get_backend(backend)
    options = {} if threads is None else {"threads": threads}
    if options and "threads" not in inspect.signature(module.lower).parameters:
        raise UnsupportedError(f"backend {module.__name__.rsplit('.', 1)[-1]!r} takes no threads= option")
    if passes is None:  # the level's pipeline, with the ops this backend cannot run decomposed
        passes = pipeline_for(opt_level, getattr(module, "DECOMPOSE", ()))
    result = run_pipeline(graph, passes, opt_level, verify, instrument)
    name = module.__name__.rsplit(".", 1)[-1]
    return Executable(ir=result.graph, backend=name, run=module.lower(result.graph, **options),
                      passes=result.passes, properties=result.properties, context=result.context)


def _is_onnx(model: Any) -> bool:
    return (isinstance(model, (str, Path)) and str(model).endswith(".onnx")) \
        or type(model).__name__ == "ModelProto"


def _onnx_specialization(model: Any) -> tuple[Any, list[str], list[str]]:
    """The loaded ModelProto, its graph inputs, and those whose values decide shapes or axes."""
    from axiom.frontends.onnx.importer import load_model
    from axiom.frontends.onnx.known import specialization_inputs

    proto = load_model(model)
    initialized = {i.name for i in proto.graph.initializer}
    inputs = [v.name for v in proto.graph.input if v.name not in initialized]
    return proto, inputs, specialization_inputs(proto)


def from_onnx(model: Any, input_values: dict[str, Any] | None = None) -> Graph:
    """Import an ONNX model (a path, serialized bytes or an onnx.ModelProto) as a Graph; needs
    the ``onnx`` extra (``pip install axiom[onnx]``). Every unsupported node is listed at once.
    ``input_values`` fixes graph inputs to values (they become constants)."""
    return import_onnx(model, input_values)


def import_onnx(model: Any, input_values: dict[str, Any] | None = None) -> Graph:
    from axiom.frontends.onnx import from_onnx as onnx_import

    return onnx_import(model, input_values)


def to_onnx(model: Any, path: str | Path | None = None, opset: int = 18) -> Any:
    """Export a model (anything :func:`to_graph` takes, or an Executable's ``.ir``) as a checked
    onnx.ModelProto, saved to ``path`` when given; needs the ``onnx`` extra."""
    from axiom.frontends.onnx.export import to_onnx as export_onnx

    return export_onnx(to_graph(model), None if path is None else str(path), opset)


def from_pytorch(model: Any, example_inputs: Any = None, *, dynamic_shapes: Any = None,
                 weights_only: bool = True, state_dict: Any = None) -> Graph:
    """Import a PyTorch model through torch.export as a Graph: a torch.nn.Module (with
    ``example_inputs``, and ``state_dict`` -- a mapping or a file -- loaded into a copy first), a
    torch.export.ExportedProgram, or a path to a ``.pt2`` export or a ``torch.save`` file (read
    with ``weights_only`` as given). Needs the ``torch`` extra; see docs/pytorch.md."""
    from axiom.frontends.torch import from_pytorch as import_torch

    return import_torch(model, example_inputs, dynamic_shapes=dynamic_shapes, weights_only=weights_only,
                        state_dict=state_dict)
