"""ONNX import: load and check a model (onnx.checker, onnx.shape_inference), list every node we
cannot convert at once, then build an Axiom Graph node by node through the converter table."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from axiom.frontends.onnx import (  # noqa: F401  (register converters)
    ops_attention,
    ops_elementwise,
    ops_indexing,
    ops_math,
    ops_more,
    ops_more2,
    ops_nn,
    ops_norm_loss,
    ops_shape,
    ops_spatial,
)
from axiom.frontends.onnx.ops_common import ONNX_DTYPES, Converter, Ctx, dtype_name, lookup
from axiom.frontends.onnx.ops_elementwise import constant_array
from axiom.frontends.onnx.shape_fold import fold_node, foldable_names
from axiom.ir.builder import Builder
from axiom.ir.dims import Dim, sym
from axiom.ir.dtypes import dtype_from_numpy
from axiom.ir.errors import AxiomError, UnsupportedError
from axiom.ir.graph import Graph, Loc, Value
from axiom.ir.types import TensorType


class OnnxLoadError(AxiomError):
    """An ONNX file or model that cannot be read or does not pass onnx's checker."""


class OnnxUnsupportedError(UnsupportedError):
    """Nodes of a model that Axiom cannot convert; ``problems`` lists (op_type, domain, opset,
    node name, reason) for each."""

    def __init__(self, problems: list[tuple[str, str, int, str, str]]) -> None:
        self.problems = problems
        lines = [f"  {op} (domain '{dom or 'ai.onnx'}', opset {opset}) at node '{name}': {why}"
                 for op, dom, opset, name, why in problems]
        super().__init__(f"the ONNX model has {len(problems)} unsupported node(s):\n" + "\n".join(lines))


def load_model(model: str | os.PathLike | bytes | onnx.ModelProto) -> onnx.ModelProto:
    """A checked, shape-inferred ModelProto from a path, serialized bytes or a ModelProto."""
    if isinstance(model, (str, os.PathLike)):
        path = Path(model)
        if not path.is_file():
            raise OnnxLoadError(f"no ONNX file at {str(path)!r}")
        try:
            proto = onnx.load(str(path))
        except Exception as exc:  # protobuf raises DecodeError and more on bad bytes
            raise OnnxLoadError(f"{str(path)!r} is not a readable ONNX model ({type(exc).__name__}: "
                                f"{exc}); is the file truncated or of another format?") from None
    elif isinstance(model, bytes):
        try:
            proto = onnx.load_model_from_string(model)
        except Exception as exc:
            raise OnnxLoadError(f"these bytes are not a serialized ONNX model ({type(exc).__name__}: "
                                f"{exc})") from None
    elif isinstance(model, onnx.ModelProto):
        proto = model
    else:
        raise OnnxLoadError(f"cannot import a {type(model).__name__} as ONNX: pass a path, bytes or "
                            "an onnx.ModelProto")
    try:
        # Shapes first: they fill in graph outputs written without one, which the checker requires.
        inferred = onnx.shape_inference.infer_shapes(proto, strict_mode=False)
        onnx.checker.check_model(inferred)
        return inferred
    except Exception as exc:  # ValidationError, InferenceError, and protobuf errors from inside
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise OnnxLoadError(f"the ONNX model is not valid: {first}") from None


def opsets_of(model: onnx.ModelProto) -> dict[str, int]:
    """Opset version per domain ('' for the default domain)."""
    return {("" if o.domain == "ai.onnx" else o.domain): o.version for o in model.opset_import}


def _node_name(node: onnx.NodeProto, index: int) -> str:
    return node.name or f"{node.op_type}_{index}"


def find_unsupported(model: onnx.ModelProto) -> list[tuple[str, str, int, str, str]]:
    """Every node without a converter at its opset, or whose must-be-constant inputs are not."""
    opsets = opsets_of(model)
    g = model.graph
    constant = {i.name for i in g.initializer}
    constant |= {o for n in g.node if n.op_type == "Constant" and n.domain in ("", "ai.onnx")
                 for o in n.output}
    folded = foldable_names(model, constant)
    constant |= folded
    problems = []
    for index, node in enumerate(g.node):
        if node.output and node.output[0] in folded:
            continue  # evaluated while importing, never converted
        opset = opsets.get("" if node.domain == "ai.onnx" else node.domain, 0)
        found = lookup(node.domain, node.op_type, opset)
        why = found if isinstance(found, str) else _node_problem(found, node, opset, constant)
        if why:
            problems.append((node.op_type, node.domain, opset, _node_name(node, index), why))
    return problems


def _node_problem(conv: Converter, node: onnx.NodeProto, opset: int, constant: set[str]) -> str | None:
    for i in conv.const_inputs:
        if i < len(node.input) and node.input[i] and node.input[i] not in constant:
            return (f"input {i} ('{node.input[i]}') must be a constant (an initializer or a Constant "
                    "node), but is computed at run time")
    return conv.check(node, opset) if conv.check else None


class _Dims:
    """ONNX dims as ours: dim_value as int, dim_param as a symbol, an unnamed dynamic dim as a fresh one."""

    def __init__(self, model: onnx.ModelProto) -> None:
        self.taken = {_symbol_name(d.dim_param) for v in model.graph.input
                      for d in v.type.tensor_type.shape.dim if d.HasField("dim_param")}
        self.fresh = 0

    def dim(self, d: onnx.TensorShapeProto.Dimension) -> Dim:
        if d.HasField("dim_value"):
            return int(d.dim_value)
        if d.HasField("dim_param"):
            return sym(_symbol_name(d.dim_param))
        while f"D{self.fresh}" in self.taken:
            self.fresh += 1
        self.taken.add(f"D{self.fresh}")
        return sym(f"D{self.fresh}")


def _symbol_name(param: str) -> str:
    name = re.sub(r"\W", "_", param)
    return name if re.match(r"[A-Za-z_]", name) else f"d_{name}"


def _input_type(v: onnx.ValueInfoProto, dims: _Dims) -> TensorType:
    if not v.type.HasField("tensor_type"):
        raise UnsupportedError(f"graph input '{v.name}' is not a tensor ({v.type.WhichOneof('value')})")
    t = v.type.tensor_type
    if t.elem_type not in ONNX_DTYPES:
        raise UnsupportedError(f"graph input '{v.name}' has element type {dtype_name(t.elem_type)}, "
                               f"which Axiom does not support")
    if not t.HasField("shape"):
        raise UnsupportedError(f"graph input '{v.name}' has no shape (not even a rank); give it one")
    return TensorType(ONNX_DTYPES[t.elem_type], [dims.dim(d) for d in t.shape.dim])


class _Builder:
    """The graph under construction and the map from ONNX names to values and constant data."""

    def __init__(self, model: onnx.ModelProto) -> None:
        g = model.graph
        self.graph = Graph(g.name or "main")
        self.values: dict[str, Value] = {}
        self.data: dict[str, np.ndarray] = {}
        for init in g.initializer:
            self.data[init.name] = numpy_helper.to_array(init)
        for node in g.node:
            if node.op_type == "Constant" and node.domain in ("", "ai.onnx"):
                arr = constant_array(node)
                if arr is not None:
                    self.data[node.output[0]] = arr
        self.folded = foldable_names(model, set(self.data))
        dims = _Dims(model)
        for v in g.input:
            if v.name not in self.data:  # an input with an initializer is a constant
                self.values[v.name] = self.graph.add_input(v.name, _input_type(v, dims))

    def value(self, name: str) -> Value:
        """The value called ``name``; an initializer becomes a const node on first use."""
        v = self.values.get(name)
        if v is not None:
            return v
        arr = self.data.get(name)
        if arr is None:
            raise AxiomError(f"ONNX value '{name}' is used before it is defined")
        if arr.dtype == object:
            raise UnsupportedError(f"'{name}' holds the symbolic shape {arr.tolist()}, which only a "
                                   "shape input (Reshape, Expand, ConstantOfShape) can take")
        try:
            dtype_from_numpy(arr.dtype)
        except ValueError:
            raise UnsupportedError(f"initializer '{name}' has dtype {arr.dtype}, which Axiom does not "
                                   "support") from None
        v = self.graph.add_constant(arr, name, Loc(name=name))
        self.values[name] = v
        return v

    def shape_of(self, name: str) -> tuple[Dim, ...]:
        """The shape of the value or constant called ``name`` (what a Shape node folds to)."""
        arr = self.data.get(name)
        return tuple(arr.shape) if arr is not None and name not in self.values else self.value(name).shape

    def convert(self, model: onnx.ModelProto) -> Graph:
        opsets = opsets_of(model)
        for index, node in enumerate(model.graph.node):
            domain = "" if node.domain == "ai.onnx" else node.domain
            if node.output and node.output[0] in self.folded:
                found = fold_node(node, opsets.get(domain, 0), self.data.get, self.shape_of)
                self.data.update(zip(node.output, found, strict=False))
                continue
            conv = lookup(domain, node.op_type, opsets.get(domain, 0))
            assert isinstance(conv, Converter)  # find_unsupported ran first
            loc = Loc(name=_node_name(node, index))
            cx = Ctx(node, opsets.get(domain, 0), Builder(self.graph, loc=loc), self.value, self.data.get)
            out = conv.fn(cx)
            results = [out] if isinstance(out, Value) else list(out)
            for name, v in zip(node.output, results, strict=False):
                if name:
                    self.values[name] = v
        self.graph.set_outputs(self.value(o.name) for o in model.graph.output)
        return self.graph


def from_onnx(model: str | os.PathLike | bytes | onnx.ModelProto) -> Graph:
    """Import an ONNX model (a path, serialized bytes or a ModelProto) as an Axiom Graph.

    Raises OnnxLoadError for unreadable or invalid models, and one OnnxUnsupportedError listing
    every node Axiom cannot convert before any graph is built."""
    proto = load_model(model)
    problems = find_unsupported(proto)
    if problems:
        raise OnnxUnsupportedError(problems)
    return _Builder(proto).convert(proto)
