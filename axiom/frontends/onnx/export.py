"""Export an Axiom IR graph to an ONNX model (``to_onnx``).

Graph inputs and outputs keep their symbolic dims as ONNX ``dim_param``s, constants become
initializers, and each node goes through the exporter table of :mod:`export_ops` (fused regions
are written inline). Every op that cannot be exported is reported at once, with its location.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import onnx
import sympy
from onnx import TensorProto, helper

from axiom.ir.dims import Dim, dim_str
from axiom.ir.dtypes import DType
from axiom.ir.errors import UnsupportedError
from axiom.ir.graph import Graph, Node, Value

MIN_OPSET = 18

ELEM_TYPES: dict[str, int] = {
    "f16": TensorProto.FLOAT16, "bf16": TensorProto.BFLOAT16, "f32": TensorProto.FLOAT,
    "f64": TensorProto.DOUBLE, "i8": TensorProto.INT8, "u8": TensorProto.UINT8,
    "i16": TensorProto.INT16, "u16": TensorProto.UINT16, "i32": TensorProto.INT32,
    "u32": TensorProto.UINT32, "i64": TensorProto.INT64, "u64": TensorProto.UINT64, "bool": TensorProto.BOOL,
}


def elem_type(dtype: DType) -> int:
    """The ONNX element type of an Axiom dtype."""
    return ELEM_TYPES[dtype.name]


def tensor_proto(array: np.ndarray, name: str) -> TensorProto:
    """An ONNX tensor holding ``array`` (bf16 goes as its raw bit pattern)."""
    if array.dtype.name == "bfloat16":
        bits = np.ascontiguousarray(array).view(np.uint16)
        return helper.make_tensor(name, TensorProto.BFLOAT16, array.shape, bits.tobytes(), raw=True)
    return onnx.numpy_helper.from_array(np.ascontiguousarray(array), name)


class ExportContext:
    """The ONNX graph being built: nodes, initializers, and the ONNX name of every IR value."""

    def __init__(self, graph: Graph, opset: int) -> None:
        self.root = graph
        self.opset = opset
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[TensorProto] = []
        self.names: dict[int, str] = {}
        self.used: set[str] = set()
        self._const_names: dict[str, str] = {}
        self._symbol_cache: dict[sympy.Symbol, str] = {}

    # ---- names ------------------------------------------------------------------------
    def fresh(self, base: str) -> str:
        """A tensor name not used yet, derived from ``base``."""
        base = base or "t"
        name, i = base, 0
        while name in self.used:
            i += 1
            name = f"{base}_{i}"
        self.used.add(name)
        return name

    def name(self, value: Value) -> str:
        """The ONNX name of ``value``, made up on first use."""
        key = id(value)
        if key not in self.names:
            self.names[key] = self.fresh(f"v_{value.name}" if value.name else "v")
        return self.names[key]

    # ---- building ---------------------------------------------------------------------
    def add(self, op_type: str, inputs: Sequence[str], outputs: int = 1, **attrs: Any) -> list[str]:
        """Append an ONNX node and return the names of its ``outputs`` fresh results."""
        outs = [self.fresh(op_type.lower()) for _ in range(outputs)]
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self.nodes.append(helper.make_node(op_type, list(inputs), outs, name=self.fresh(f"n_{op_type}"),
                                           **attrs))
        return outs

    def add1(self, op_type: str, inputs: Sequence[str], **attrs: Any) -> str:
        return self.add(op_type, inputs, 1, **attrs)[0]

    def const(self, array: np.ndarray | Sequence[Any], dtype: Any = None, base: str = "c") -> str:
        """An initializer holding ``array`` (a literal the exporters need, e.g. axes)."""
        arr = np.asarray(array, dtype=dtype)
        name = self.fresh(base)
        self.initializers.append(tensor_proto(arr, name))
        return name

    def ints(self, values: Sequence[int]) -> str:
        """A 1-D i64 initializer (axes, pads, starts, a static shape)."""
        return self.const(np.asarray(list(values), np.int64).reshape(len(values)), base="ints")

    def scalar(self, value: float | int, dtype: DType) -> str:
        return self.const(np.asarray(value).astype(dtype.np_dtype), base="scalar")

    def graph_constant(self, key: str) -> str:
        """The initializer of ``Graph.constants[key]``, written once however many consts read it."""
        if key in self._const_names:
            return self._const_names[key]
        if key not in self.root.constants:
            raise UnsupportedError(f"constant '{key}' has no data; load its weights before exporting")
        name = self.fresh(key)
        self.initializers.append(tensor_proto(self.root.constants[key], name))
        self._const_names[key] = name
        return name

    # ---- symbolic dims at run time ----------------------------------------------------
    def shape_tensor(self, dims: Sequence[Dim]) -> str:
        """A 1-D i64 tensor holding ``dims``, computing symbolic ones from the graph inputs'
        shapes at run time (Shape, Add, Mul, Div); UnsupportedError for other expressions."""
        if all(isinstance(d, int) for d in dims):
            return self.ints([int(d) for d in dims])  # type: ignore[arg-type]
        parts = [self.ints([d]) if isinstance(d, int) else self.dim_value(d) for d in dims]
        return self.add1("Concat", parts, axis=0)

    def dim_value(self, expr: sympy.Expr) -> str:
        """A 1-element i64 tensor holding the value of the dim expression ``expr``."""
        if expr.is_Integer:
            return self.ints([int(expr)])
        if expr.is_Symbol:
            return self._symbol(expr)
        if isinstance(expr, (sympy.Add, sympy.Mul)) and all(a.is_integer for a in expr.args):
            op = "Add" if isinstance(expr, sympy.Add) else "Mul"
            parts = [self.dim_value(a) for a in expr.args]
            out = parts[0]
            for p in parts[1:]:
                out = self.add1(op, [out, p])
            return out
        if isinstance(expr, sympy.floor):
            num, den = sympy.fraction(sympy.together(expr.args[0]))
            if den.is_Integer and num.is_integer:
                # Dims are positive, so truncating integer division is the floor.
                return self.add1("Div", [self.dim_value(sympy.expand(num)), self.ints([int(den)])])
        raise UnsupportedError(f"cannot compute the dim {dim_str(expr)} at run time in ONNX; "
                               "hint: make it static or a plain expression of the input dims")

    def _symbol(self, s: sympy.Symbol) -> str:
        if s in self._symbol_cache:
            return self._symbol_cache[s]
        for v in self.root.inputs:
            for i, d in enumerate(v.shape):
                if d == s:
                    out = self.add1("Shape", [self.name(v)], start=i, end=i + 1)
                    self._symbol_cache[s] = out
                    return out
        raise UnsupportedError(f"dim symbol {s} is no dim of a graph input, so ONNX cannot read it at "
                               "run time; hint: make it static")


def value_info(name: str, value: Value) -> onnx.ValueInfoProto:
    """A graph input/output's ValueInfo; symbolic dims become dim_params of their text."""
    shape = [d if isinstance(d, int) else dim_str(d) for d in value.shape]
    return helper.make_tensor_value_info(name, elem_type(value.dtype), shape)


def where(node: Node) -> str:
    return f"at {node.loc}" if node.loc else "(no location)"


def export_nodes(ctx: ExportContext, graph: Graph, problems: list[str]) -> None:
    """Export the nodes of ``graph`` (the root or a fused body) in order; unsupported ones are
    added to ``problems`` and skipped, so that every one of them is reported."""
    from axiom.frontends.onnx import export_indexing, export_math, export_spatial  # noqa: F401 (register)
    from axiom.frontends.onnx.export_ops import EXPORTERS

    for node in graph.nodes:
        fn = EXPORTERS.get(node.op.name)
        if fn is None:
            problems.append(f"{node.op.name} {where(node)}: no ONNX exporter")
            continue
        try:
            outs = fn(ctx, node, [ctx.name(v) for v in node.inputs], problems)
        except UnsupportedError as exc:
            problems.append(f"{node.op.name} {where(node)}: {exc}")
            continue
        for r, o in zip(node.results, outs, strict=True):
            ctx.names[id(r)] = o


def to_onnx(graph: Graph, path: str | None = None, opset: int = 18) -> onnx.ModelProto:
    """An ONNX model computing ``graph``, checked with ``onnx.checker`` (full check) and saved to
    ``path`` when given; raises UnsupportedError listing every op it cannot export."""
    if opset < MIN_OPSET:
        raise UnsupportedError(f"ONNX export needs opset >= {MIN_OPSET} (reductions take axes as "
                               f"inputs), got {opset}")
    ctx = ExportContext(graph, opset)
    inputs = []
    for v in graph.inputs:
        ctx.used.add(v.name)
        ctx.names[id(v)] = v.name
        inputs.append(value_info(v.name, v))
    problems: list[str] = []
    export_nodes(ctx, graph, problems)
    if problems:
        listed = "\n  ".join(problems)
        raise UnsupportedError(f"cannot export graph @{graph.name} to ONNX opset {opset}; "
                               f"{len(problems)} unsupported:\n  {listed}")
    outputs = []
    taken: set[str] = {v.name for v in graph.inputs}
    for v in graph.outputs:
        name = ctx.name(v)
        if name in taken or name in {init.name for init in ctx.initializers}:
            name = ctx.add1("Identity", [name])  # an output must be a distinct, computed tensor
        taken.add(name)
        outputs.append(value_info(name, v))
    body = helper.make_graph(ctx.nodes, graph.name, inputs, outputs, ctx.initializers)
    opsets = [helper.make_opsetid("", opset)]
    model = helper.make_model(body, opset_imports=opsets, producer_name="axiom",
                              ir_version=helper.find_min_ir_version_for(opsets))
    onnx.checker.check_model(model, full_check=True)
    if path is not None:
        onnx.save(model, path)
    return model
