"""ONNX import: load and check a model (onnx.checker, onnx.shape_inference), list every node we
cannot convert at once, then build an Axiom Graph node by node through the converter table."""

from __future__ import annotations

import copy
import os
import re
from collections import ChainMap
from collections.abc import MutableMapping, Sequence
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import onnx
from onnx import numpy_helper

from axiom.frontends.onnx import (  # noqa: F401  (register converters)
    ops_attention,
    ops_control,
    ops_elementwise,
    ops_indexing,
    ops_linear_attention,
    ops_math,
    ops_more,
    ops_more2,
    ops_nn,
    ops_norm_loss,
    ops_quant,
    ops_rnn,
    ops_shape,
    ops_spatial,
)
from axiom.frontends.onnx.check import infer_and_check
from axiom.frontends.onnx.known import known_names, node_opset, opsets_of, subgraphs
from axiom.frontends.onnx.ops_common import ONNX_DTYPES, Converter, Ctx, dtype_name, lookup
from axiom.frontends.onnx.ops_elementwise import constant_array
from axiom.frontends.onnx.shape_fold import SOURCES as FOLDED_OPS
from axiom.frontends.onnx.shape_fold import fold_node, foldable_names
from axiom.ir.builder import Builder
from axiom.ir.dims import Dim, sym
from axiom.ir.dtypes import dtype_from_numpy
from axiom.ir.errors import AxiomError, InputError, UnsupportedError
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


_LAST_CHECKED: list[onnx.ModelProto] = []  # the model load_model returned last: passing it back is free


def load_model(model: str | os.PathLike | bytes | onnx.ModelProto) -> onnx.ModelProto:
    """A checked, shape-inferred ModelProto from a path, serialized bytes or a ModelProto (which is
    never changed)."""
    owned = True  # a proto read here: checking may fill it in instead of a copy
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
        if any(model is done for done in _LAST_CHECKED):  # checked a moment ago (compile loads twice)
            return model
        proto = model
        owned = False
    else:
        raise OnnxLoadError(f"cannot import a {type(model).__name__} as ONNX: pass a path, bytes or "
                            "an onnx.ModelProto")
    try:
        # Shapes first: they fill in graph outputs written without one, which the checker requires.
        inferred = infer_and_check(proto, in_place=owned)
        _LAST_CHECKED[:] = [inferred]
        return inferred
    except Exception as exc:  # ValidationError, InferenceError, and protobuf errors from inside
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise OnnxLoadError(f"the ONNX model is not valid: {first}") from None


def _node_name(node: onnx.NodeProto, index: int) -> str:
    return node.name or f"{node.op_type}_{index}"


def find_unsupported(model: onnx.ModelProto,
                     assume: frozenset[str] = frozenset()) -> list[tuple[str, str, int, str, str]]:
    """Every node without a converter at its opset, or whose must-be-constant inputs are not (graph inputs
    in ``assume`` count as constants)."""
    opsets = opsets_of(model)
    constant, folded = known_names(model, assume)
    problems = []
    for index, node in enumerate(model.graph.node):
        if node.output and node.output[0] in folded:
            continue  # evaluated while importing, never converted
        opset = node_opset(opsets, node)
        found = lookup(node.domain, node.op_type, opset)
        why = found if isinstance(found, str) else (_node_problem(found, node, opset, constant)
                                                     or _body_problem(node, opsets))
        if why:
            problems.append((node.op_type, node.domain, opset, _node_name(node, index), why))
    return problems


RUN_TIME = "is computed at run time"


def _node_problem(conv: Converter, node: onnx.NodeProto, opset: int, constant: set[str]) -> str | None:
    for i in conv.const_inputs:
        if i < len(node.input) and node.input[i] and node.input[i] not in constant:
            return (f"input {i} ('{node.input[i]}') must be a constant (an initializer or a Constant "
                    f"node), but {RUN_TIME}")
    return conv.check(node, opset) if conv.check else None


def _body_problem(node: onnx.NodeProto, opsets: dict[str, int]) -> str | None:
    """The nodes without a converter inside ``node``'s subgraphs (If branches, Loop and Scan bodies)."""
    missing: list[str] = []
    for body in subgraphs(node):
        for n in body.node:
            if n.op_type in FOLDED_OPS:
                continue  # shape data: folded while converting the body
            found = lookup(n.domain, n.op_type, node_opset(opsets, n))
            inner = found if isinstance(found, str) else _body_problem(n, opsets)
            if inner:
                missing.append(f"{n.op_type} ({inner})")
    return f"its subgraph has unsupported nodes: {', '.join(sorted(set(missing)))}" if missing else None


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

    def __init__(self, model: onnx.ModelProto, input_values: dict[str, np.ndarray]) -> None:
        g = model.graph
        self.graph = Graph(g.name or "main")
        self.opsets = opsets_of(model)
        self.values: MutableMapping[str, Value] = {}
        self.data: MutableMapping[str, np.ndarray] = dict(input_values)
        self._add_constants(g)
        dims = _Dims(model)
        for v in g.input:
            if v.name not in self.data:  # an input with an initializer is a constant
                self.values[v.name] = self.graph.add_input(v.name, _input_type(v, dims))

    def _add_constants(self, g: onnx.GraphProto) -> None:
        """Record the data of ``g``'s initializers and Constant nodes, and which names fold as shape data."""
        for init in g.initializer:
            self.data[init.name] = numpy_helper.to_array(init)
        for node in g.node:
            if node.op_type == "Constant" and node.domain in ("", "ai.onnx"):
                arr = constant_array(node)
                if arr is not None:
                    self.data[node.output[0]] = arr
        self.folded = foldable_names(SimpleNamespace(graph=g), set(self.data))

    def nested(self, body: onnx.GraphProto, args: Sequence[Value | np.ndarray]) -> list[Value]:
        """Convert a subgraph (an If branch, a Loop or Scan body) inline, its inputs bound to ``args``
        (values, or arrays known now); its nodes see every name of the enclosing scopes."""
        if len(args) != len(body.input):
            raise UnsupportedError(f"subgraph '{body.name}' takes {len(body.input)} inputs, got {len(args)}")
        child = copy.copy(self)
        child.values, child.data = ChainMap({}, self.values), ChainMap({}, self.data)
        for inp, arg in zip(body.input, args, strict=True):
            if isinstance(arg, Value):
                child.values[inp.name] = arg
            else:
                child.data[inp.name] = np.asarray(arg)
        child._add_constants(body)
        child.convert_nodes(body.node)
        return [child.value(o.name) for o in body.output]

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

    def constant(self, name: str) -> np.ndarray | None:
        """The data of ``name`` when known at import time: an initializer, a Constant, folded shape data,
        or a value computed only from those (evaluated now with the ops' numpy references)."""
        arr = self.data.get(name)
        if arr is not None or name not in self.values:
            return arr
        arr = _evaluate(self.graph, self.values[name])
        if arr is not None:
            self.data[name] = arr
        return arr

    def shape_of(self, name: str) -> tuple[Dim, ...]:
        """The shape of the value or constant called ``name`` (what a Shape node folds to)."""
        arr = self.data.get(name)
        return tuple(arr.shape) if arr is not None and name not in self.values else self.value(name).shape

    def convert(self, model: onnx.ModelProto) -> Graph:
        self.convert_nodes(model.graph.node)
        self.graph.set_outputs(self.value(o.name) for o in model.graph.output)
        _drop_unused(self.graph)
        return self.graph

    def convert_nodes(self, nodes: Sequence[onnx.NodeProto]) -> None:
        for index, node in enumerate(nodes):
            opset = node_opset(self.opsets, node)
            if node.output and node.output[0] in self.folded:
                found = fold_node(node, opset, self.data.get, self.shape_of)
                self.data.update(zip(node.output, found, strict=False))
                continue
            conv = lookup(node.domain, node.op_type, opset)
            if not isinstance(conv, Converter):  # checked up front, except inside subgraphs
                raise UnsupportedError(f"ONNX {node.op_type} (opset {opset}) at node "
                                       f"'{_node_name(node, index)}': {conv}")
            loc = Loc(name=_node_name(node, index))
            cx = Ctx(node, opset, Builder(self.graph, loc=loc), self.value, self.constant,
                     inline=self.nested, evaluate=lambda v: _evaluate(self.graph, v))
            out = conv.fn(cx)
            results = [out] if isinstance(out, Value) else list(out)
            for name, v in zip(node.output, results, strict=False):
                if name:
                    self.values[name] = v


def _drop_unused(graph: Graph) -> None:
    """Remove the nodes nothing reads: constants read only as shape data, results of evaluated chains."""
    outputs = {id(v) for v in graph.outputs}
    for node in reversed(list(graph.nodes)):
        if all(not r.uses and id(r) not in outputs for r in node.results):
            graph.erase(node)


def _evaluate(graph: Graph, value: Value, depth: int = 0) -> np.ndarray | None:
    """``value``'s data when every node it depends on is computed from constants, else None."""
    node = value.producer
    if node is None or depth > 200 or node.region is not None:
        return None
    if node.op.name == "const":
        return graph.constant_of(value)
    args = [_evaluate(graph, v, depth + 1) for v in node.inputs]
    if any(a is None for a in args) or not all(r.type.is_static for r in node.results):
        return None
    out = node.op.evaluate(args, node.attrs)[value.index]
    return np.asarray(out).astype(value.dtype.np_dtype, copy=False)


def _bound_inputs(model: onnx.ModelProto, values: dict[str, object]) -> dict[str, np.ndarray]:
    """Specialisation values checked against the graph inputs' declared element types and ranks."""
    declared = {v.name: v for v in model.graph.input}
    out = {}
    for name, given in values.items():
        v = declared.get(name)
        if v is None:
            raise InputError(f"input_values names '{name}', which is not a graph input of the model "
                                f"(inputs: {', '.join(declared)})")
        arr = np.asarray(given)
        want = ONNX_DTYPES.get(v.type.tensor_type.elem_type)
        if want is None or arr.dtype != want.np_dtype:
            raise InputError(f"input '{name}' must be {dtype_name(v.type.tensor_type.elem_type)}, got "
                                f"an array of {arr.dtype}")
        dims = v.type.tensor_type.shape.dim
        if v.type.tensor_type.HasField("shape") and arr.ndim != len(dims):
            raise InputError(f"input '{name}' must have rank {len(dims)}, got shape {list(arr.shape)}")
        if any(d.HasField("dim_value") and d.dim_value != n for d, n in zip(dims, arr.shape, strict=False)):
            raise InputError(f"input '{name}' must have shape "
                                f"{[d.dim_value if d.HasField('dim_value') else d.dim_param for d in dims]}, "
                                f"got {list(arr.shape)}")
        out[name] = arr
    return out


def from_onnx(model: str | os.PathLike | bytes | onnx.ModelProto,
              input_values: dict[str, object] | None = None) -> Graph:
    """Import an ONNX model (a path, serialized bytes or a ModelProto) as an Axiom Graph.

    ``input_values`` binds graph inputs to fixed values (they become constants and leave the
    signature): needed when a shape or axes input is fed from a graph input (see
    :func:`specialization_inputs`; ``axiom.compile`` does this per call by itself).
    Raises OnnxLoadError for unreadable or invalid models, and one OnnxUnsupportedError listing
    every node Axiom cannot convert before any graph is built."""
    proto = load_model(model)
    bound = _bound_inputs(proto, input_values or {})
    problems = find_unsupported(proto, frozenset(bound))
    if problems:
        raise OnnxUnsupportedError(problems)
    return _Builder(proto, bound).convert(proto)
