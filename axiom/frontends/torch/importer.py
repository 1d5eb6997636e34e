"""ExportedProgram -> Graph: decompose to core ATen, list every ATen op we cannot convert at once,
then build the IR node by node through the converter table. Parameters, buffers and lifted
constants become constants named by their qualified names; each node carries the user's line."""

from __future__ import annotations

import operator
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import fx
from torch.export import ExportedProgram
from torch.export.graph_signature import InputKind, OutputKind

from axiom.frontends.torch import aten_nn, aten_ops, aten_shape  # noqa: F401  (register converters)
from axiom.frontends.torch.aten_common import (
    REGISTRY,
    TORCH_DTYPES,
    Ctx,
    TorchImportError,
    TorchUnsupportedError,
    axiom_dtype,
    overload_name,
)
from axiom.frontends.torch.symbols import SymbolTable
from axiom.ir.builder import Builder
from axiom.ir.errors import UnsupportedError
from axiom.ir.graph import Graph, Loc, Value
from axiom.ir.types import TensorType

_TORCH_DIR = str(Path(torch.__file__).resolve().parent) + os.sep
_FRAME = re.compile(r'File "([^"]+)", line (\d+)')
# Python-level size arithmetic torch.export records between sym_size nodes; the traced value says it all.
SYM_OPS = {operator.add, operator.sub, operator.mul, operator.floordiv, operator.mod, operator.neg,
           torch.sym_max, torch.sym_min, torch.sym_int, torch.sym_float}


def _display(path: str) -> str:
    """``path`` relative to the cwd when it lies under it, else its base name."""
    full = os.path.realpath(path)
    cwd = os.path.realpath(os.getcwd())
    return os.path.relpath(full, cwd) if full.startswith(cwd + os.sep) else os.path.basename(full)


def node_loc(node: fx.Node) -> Loc | None:
    """The user's frame of the node's stack trace: the last frame outside torch's own package."""
    frames = _FRAME.findall(node.meta.get("stack_trace") or "")
    if not frames:
        return None
    user = [f for f in frames if not os.path.realpath(f[0]).startswith(_TORCH_DIR)]
    file, line = (user or frames)[-1]
    return Loc(_display(file), int(line))


def _is_sym(node: fx.Node) -> bool:
    return isinstance(node.meta.get("val"), (torch.SymInt, int)) and not isinstance(
        node.meta.get("val"), bool)


def _node_problem(node: fx.Node) -> str | None:
    """Why ``node`` cannot be converted, or None."""
    if node.target is operator.getitem:
        src, index = node.args
        conv = REGISTRY.get(overload_name(src.target)) if isinstance(src, fx.Node) else None
        if conv is not None and conv.outputs is not None and index >= conv.outputs:
            return f"output {index} of {src.target} is not supported (only the first {conv.outputs})"
        return None
    if _is_sym(node) and (node.target in SYM_OPS or overload_name(node.target).startswith("aten.sym_")):
        return None
    conv = REGISTRY.get(overload_name(node.target))
    if conv is None:
        return "no converter for this op"
    for val in _tensors(node.meta.get("val")):
        if val.dtype not in TORCH_DTYPES:
            return f"its result has dtype {val.dtype}, which Axiom does not support"
    return conv.check(node) if conv.check else None


def _tensors(val: Any) -> list[torch.Tensor]:
    if isinstance(val, torch.Tensor):
        return [val]
    if isinstance(val, (list, tuple)):
        return [v for v in val if isinstance(v, torch.Tensor)]
    return []


def find_unsupported(ep: ExportedProgram) -> list[tuple[str, int, str, str]]:
    """(overload, count, first location, reason) of every node we cannot convert."""
    count: Counter[tuple[str, str]] = Counter()
    first: dict[tuple[str, str], str] = {}
    for node in ep.graph.nodes:
        if node.op != "call_function":
            continue
        why = _node_problem(node)
        if why is None:
            continue
        key = (overload_name(node.target), why)
        count[key] += 1
        first.setdefault(key, f"{node_loc(node) or '<unknown>'}, node '{node.name}'")
    return [(op, n, first[(op, why)], why) for (op, why), n in count.items()]


def _array(t: torch.Tensor, name: str) -> np.ndarray:
    """A tensor's data as a numpy array (bfloat16 through its bits)."""
    t = t.detach().cpu().contiguous()
    axiom_dtype(t.dtype, f"constant '{name}'")
    if t.dtype == torch.bfloat16:
        import ml_dtypes

        return t.view(torch.int16).numpy().view(ml_dtypes.bfloat16).copy()
    return t.numpy().copy()


class _Builder:
    """The graph under construction and the map from fx nodes to what they became."""

    def __init__(self, ep: ExportedProgram, name: str, dynamic_shapes: Any) -> None:
        self.ep = ep
        self.graph = Graph(name)
        self.env: dict[fx.Node, Any] = {}
        self.lazy: dict[fx.Node, tuple[str, torch.Tensor]] = {}
        sig = ep.graph_signature
        placeholders = [n for n in ep.graph.nodes if n.op == "placeholder"]
        specs = dict(zip((n.name for n in placeholders), sig.input_specs, strict=True))
        user = [n for n in placeholders if specs[n.name].kind == InputKind.USER_INPUT]
        self.symbols = SymbolTable(user, dynamic_shapes)
        for node in placeholders:
            spec = specs[node.name]
            if spec.kind == InputKind.USER_INPUT:
                self.env[node] = self._input(node)
            elif spec.kind in (InputKind.PARAMETER, InputKind.BUFFER, InputKind.CONSTANT_TENSOR):
                target = spec.target
                data = ep.state_dict.get(target)
                data = ep.constants.get(target) if data is None else data
                if not isinstance(data, torch.Tensor):
                    raise UnsupportedError(f"input '{node.name}' ({spec.kind.name} '{target}') has no tensor "
                                           "data in the exported program")
                self.lazy[node] = (target, data)
            else:
                raise UnsupportedError(f"input '{node.name}' is a {spec.kind.name}, which Axiom cannot "
                                       "import")

    def _input(self, node: fx.Node) -> Value:
        val = node.meta.get("val")
        if not isinstance(val, torch.Tensor):
            raise UnsupportedError(f"input '{node.name}' is a {type(val).__name__}, not a tensor; pass "
                                   "tensors only (non-tensor inputs are baked in by torch.export)")
        t = TensorType(axiom_dtype(val.dtype, f"input '{node.name}'"), self.symbols.dim_tuple(val.shape))
        return self.graph.add_input(node.name, t)

    def value(self, node: fx.Node) -> Any:
        """What ``node`` became; a parameter or buffer becomes a const node on first use."""
        if node in self.env:
            return self.env[node]
        target, data = self.lazy[node]
        v = self.graph.add_constant(_array(data, target), target, Loc(name=target))
        self.env[node] = v
        return v

    def convert(self) -> Graph:
        for node in self.ep.graph.nodes:
            if node.op == "call_function":
                self.env[node] = self._call(node)
            elif node.op == "output":
                self.graph.set_outputs(self._output(v) for v in node.args[0])
        return self.graph

    def _call(self, node: fx.Node) -> Any:
        if node.target is operator.getitem:
            src, index = node.args
            return self.value(src)[index]
        if _is_sym(node):
            return self.symbols.dim(node.meta["val"])
        conv = REGISTRY[overload_name(node.target)]
        cx = Ctx(node, Builder(self.graph, loc=node_loc(node)), self.value, self.symbols.dim)
        return conv.fn(cx)

    def _output(self, node: Any) -> Value:
        v = self.value(node) if isinstance(node, fx.Node) else node
        if not isinstance(v, Value):
            raise UnsupportedError(f"output '{getattr(node, 'name', node)}' is {v!r}, not a tensor; "
                                   "return tensors only (a size is a Python int, not a graph output)")
        return v


def import_program(ep: ExportedProgram, name: str = "main", dynamic_shapes: Any = None) -> Graph:
    """An exported program as an Axiom Graph, after torch's core-ATen decompositions.

    ``dynamic_shapes`` (as given to torch.export) names the size symbols after their Dims."""
    try:
        ep = ep.run_decompositions()
    except Exception as exc:  # torch raises many types from inside its decompositions
        raise TorchImportError(f"torch's core-ATen decomposition failed: {_first_line(exc)}") from exc
    mutated = [s.target for s in ep.graph_signature.output_specs if s.kind != OutputKind.USER_OUTPUT]
    if mutated:
        raise UnsupportedError(f"the program writes to {', '.join(map(str, mutated))} (in-place state "
                               "updates); hint: export the model in eval mode (model.eval())")
    problems = find_unsupported(ep)
    if problems:
        raise TorchUnsupportedError(problems)
    return _Builder(ep, name, dynamic_shapes).convert()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__
