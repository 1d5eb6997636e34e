"""How the `axiom` command reads a model: .axir text, ONNX and torch files (with example input shapes for
a torch.save file), DSL functions; every failure becomes one CommandError line (exit code 2)."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import logging
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

FILE_SUFFIXES = (".onnx", ".pt", ".pt2", ".pth")
TORCH_DTYPES = ("float32", "float16", "bfloat16", "float64", "int64", "int32", "int8", "uint8", "bool")
MODEL_HELP = "FILE.axir, FILE.onnx, FILE.pt2, FILE.pt/.pth (with --input-shape), FILE.py:model, module:model"


def add_import_options(p: argparse.ArgumentParser) -> None:
    """How a torch.save file (.pt/.pth) is traced: its example input shapes and a dynamic batch."""
    p.add_argument("--input-shape", action="append", default=[], metavar="D0,D1,...[:DTYPE]",
                   help="shape (and torch dtype, default float32) of a forward input of a .pt/.pth model; "
                        "once per input, in order")
    p.add_argument("--dynamic-batch", action="store_true",
                   help="make dim 0 of every input the symbol 'batch' (.pt/.pth models)")
    p.add_argument("--allow-pickle", action="store_true",
                   help="load a .pt/.pth that pickles a whole module (this runs code from the file: use it "
                        "only for files you trust)")


class CommandError(Exception):
    """A model that cannot be read, imported or exported, or a bad option: one line on stderr, exit code 2."""


def load_model(spec: str) -> Any:
    """An ``.axir`` file, ``path/to/file.py:function`` or ``package.module:function``."""
    from axiom.ir.errors import AxiomError

    if spec.endswith(".axir"):
        from axiom.ir.parser import parse_graph

        path = Path(spec)
        if not path.exists():
            raise AxiomError(f"no such file: {spec}")
        return parse_graph(path.read_text())
    target, sep, attr = spec.rpartition(":")
    if not sep:
        raise AxiomError(f"cannot load {spec!r}: give FILE.axir, FILE.py:function or module:function")
    if target.endswith(".py"):
        path = Path(target)
        if not path.exists():
            raise AxiomError(f"no such file: {target}")
        mod_spec = importlib.util.spec_from_file_location(path.stem, path)
        assert mod_spec is not None and mod_spec.loader is not None
        module = importlib.util.module_from_spec(mod_spec)
        sys.modules[path.stem] = module
        mod_spec.loader.exec_module(module)
    else:
        module = importlib.import_module(target)
    if not hasattr(module, attr):
        raise AxiomError(f"{target} has no attribute {attr!r}")
    return getattr(module, attr)


def one_line(exc: BaseException) -> str:
    """An exception's message on one line (its lines joined with '; '), cut at 400 characters; a quoted
    source line with a caret under it (as parse errors show) is left out."""
    from axiom.ir.errors import AxiomError

    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    carets = {i for i, line in enumerate(lines) if set(line) <= set("^~ ")}
    lines = [line for i, line in enumerate(lines) if i not in carets and i + 1 not in carets]
    text = "; ".join(lines) or type(exc).__name__
    if not isinstance(exc, AxiomError):  # a foreign error (torch, onnx, OSError) says what it is
        text = f"{type(exc).__name__}: {text}"
    return text if len(text) <= 400 else text[:397] + "..."


def load_graph(spec: str, args: argparse.Namespace | None = None):  # noqa: ANN202 - a Graph
    """The IR of any model the CLI takes; every failure to load it becomes one CommandError."""
    try:
        return _load_graph(spec, args)
    except CommandError:
        raise
    except Exception as exc:  # noqa: BLE001 - the CLI reports any import failure on one line
        raise CommandError(f"cannot load {spec}: {one_line(exc)}") from exc


def _load_graph(spec: str, args: argparse.Namespace | None):  # noqa: ANN202 - a Graph
    from axiom.api import from_onnx, from_pytorch, to_graph
    from axiom.ir.errors import AxiomError

    shapes = getattr(args, "input_shape", [])
    dynamic = getattr(args, "dynamic_batch", False)
    if (shapes or dynamic) and not spec.endswith((".pt", ".pth")):
        raise CommandError(f"{spec}: --input-shape and --dynamic-batch are for .pt/.pth files only (other "
                           "models carry their own input shapes)")
    if not spec.endswith(FILE_SUFFIXES):
        return to_graph(load_model(spec))
    if not Path(spec).is_file():
        raise CommandError(f"no such file: {spec}")
    if spec.endswith(".onnx"):
        return from_onnx(spec)
    if spec.endswith(".pt2"):
        with quiet_torch():
            return from_pytorch(spec)
    inputs, dynamic_shapes = torch_example_inputs(shapes, dynamic)
    allow_pickle = getattr(args, "allow_pickle", False)
    try:
        with quiet_torch():
            return from_pytorch(spec, inputs, dynamic_shapes=dynamic_shapes, weights_only=not allow_pickle)
    except AxiomError as exc:
        if allow_pickle or "weights_only" not in str(exc):
            raise
        raise CommandError(f"cannot load {spec}: {one_line(exc)} (on the command line: "
                           "--allow-pickle)") from exc


@contextlib.contextmanager
def quiet_torch() -> Iterator[None]:
    """Hold back torch's own deprecation warnings and logged tracebacks while it loads and exports a
    model: its failure reaches the user as our one-line error instead."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        logging.disable(logging.ERROR)
        try:
            yield
        finally:
            logging.disable(logging.NOTSET)


def parse_input_shape(text: str) -> tuple[tuple[int, ...], str]:
    """``"1,3,224,224"`` or ``"1,16:int64"`` -> (shape, torch dtype name); float32 by default."""
    dims, _, dtype = text.partition(":")
    dtype = dtype or "float32"
    if dtype not in TORCH_DTYPES:
        raise CommandError(f"--input-shape {text!r}: unknown dtype {dtype!r} "
                           f"(one of {', '.join(TORCH_DTYPES)})")
    parts = [d.strip() for d in dims.split(",")] if dims.strip() else []
    if not all(p.isdigit() and int(p) > 0 for p in parts):
        raise CommandError(f"--input-shape expects positive ints separated by commas (e.g. 1,3,224,224 or "
                           f"1,16:int64), got {text!r}")
    return tuple(int(p) for p in parts), dtype


def torch_example_inputs(shapes: list[str], dynamic_batch: bool) -> tuple[tuple[Any, ...], Any]:
    """Seeded example inputs, one per --input-shape, and the dynamic_shapes that make dim 0 of each the one
    symbol ``batch`` (torch.export specialises a size-1 dim, so a batch of 1 is traced at 2)."""
    if not shapes:
        raise CommandError("a .pt/.pth file needs --input-shape for each forward input, e.g. "
                           "--input-shape 1,3,224,224")
    parsed = [parse_input_shape(s) for s in shapes]
    if dynamic_batch and any(not shape for shape, _ in parsed):
        raise CommandError("--dynamic-batch needs every input to have a batch dim (rank >= 1)")
    import torch

    gen = torch.Generator().manual_seed(0)
    inputs = []
    for shape, name in parsed:
        dims = (max(shape[0], 2), *shape[1:]) if dynamic_batch else shape
        dtype = getattr(torch, name)
        if dtype.is_floating_point:
            inputs.append(torch.randn(dims, generator=gen).to(dtype))
        else:
            inputs.append(torch.zeros(dims, dtype=dtype))
    if not dynamic_batch:
        return tuple(inputs), None
    batch = torch.export.Dim("batch")
    return tuple(inputs), tuple({0: batch} for _ in inputs)
