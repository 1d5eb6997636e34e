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
    ops_rnn,
    ops_shape,
    ops_spatial,
)
from axiom.frontends.onnx.ops_common import ONNX_DTYPES, Converter, Ctx, dtype_name, lookup
from axiom.frontends.onnx.ops_elementwise import constant_array
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


def _node_opset(opsets: dict[str, int], node: onnx.NodeProto) -> int:
    return opsets.get("" if node.domain == "ai.onnx" else node.domain, 0)


def _node_name(node: onnx.NodeProto, index: int) -> str:
    return node.name or f"{node.op_type}_{index}"


NONDETERMINISTIC = ("RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike", "Multinomial",
                    "Bernoulli", "Dropout")


def _constant_names(model: onnx.ModelProto,
                    assume: frozenset[str] = frozenset()) -> tuple[set[str], set[str]]:
    """(names whose data is known at import time, the subset folded as shape data). Known: initializers,
    Constant outputs, the graph inputs in ``assume`` (values given for specialisation), shape chains, and
    the outputs of deterministic nodes whose inputs are all known (evaluated while importing)."""
    g = model.graph
    constant = {i.name for i in g.initializer} | set(assume)
    constant |= {o for n in g.node if n.op_type == "Constant" and n.domain in ("", "ai.onnx")
                 for o in n.output}
    folded = foldable_names(model, constant)
    constant |= folded
    for node in g.node:
        ins = [i for i in node.input if i]
        if node.op_type not in NONDETERMINISTIC and all(i in constant for i in ins) \
                and not any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS)
                            for a in node.attribute):
            constant.update(o for o in node.output if o)
    return constant, folded


def find_unsupported(model: onnx.ModelProto,
                     assume: frozenset[str] = frozenset()) -> list[tuple[str, str, int, str, str]]:
    """Every node without a converter at its opset, or whose must-be-constant inputs are not (graph inputs
    in ``assume`` count as constants)."""
    opsets = opsets_of(model)
    constant, folded = _constant_names(model, assume)
    problems = []
    for index, node in enumerate(model.graph.node):
        if node.output and node.output[0] in folded:
            continue  # evaluated while importing, never converted
        opset = _node_opset(opsets, node)
        found = lookup(node.domain, node.op_type, opset)
        why = found if isinstance(found, str) else _node_problem(found, node, opset, constant)
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


def specialization_inputs(model: onnx.ModelProto) -> list[str]:
    """The graph inputs whose VALUES decide shapes or axes (an axes, shape or k input computed from a
    graph input): Axiom compiles such a model per distinct value of them. Empty when there are none, or
    when knowing them would not make every such input constant."""
    g = model.graph
    opsets = opsets_of(model)
    inputs = [v.name for v in g.input if v.name not in {i.name for i in g.initializer}]
    producer = {o: n for n in g.node for o in n.output if o}
    constant, _ = _constant_names(model)
    needed: set[str] = set()
    for node in g.node:
        conv = lookup(node.domain, node.op_type, _node_opset(opsets, node))
        if isinstance(conv, Converter):
            needed.update(node.input[i] for i in conv.const_inputs
                          if i < len(node.input) and node.input[i] and node.input[i] not in constant)
    roots: set[str] = set()
    stack, seen = list(needed), set()
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in inputs:
            roots.add(name)
        elif name in producer:
            stack.extend(i for i in producer[name].input if i)
    if not roots:
        return []
    known, _ = _constant_names(model, frozenset(roots))
    return [n for n in inputs if n in roots] if needed <= known else []


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
        self.values: dict[str, Value] = {}
        self.data: dict[str, np.ndarray] = dict(input_values)
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
            cx = Ctx(node, opsets.get(domain, 0), Builder(self.graph, loc=loc), self.value, self.constant)
            out = conv.fn(cx)
            results = [out] if isinstance(out, Value) else list(out)
            for name, v in zip(node.output, results, strict=False):
                if name:
                    self.values[name] = v
        self.graph.set_outputs(self.value(o.name) for o in model.graph.output)
        return self.graph


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
