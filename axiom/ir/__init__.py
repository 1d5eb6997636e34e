"""The typed tensor IR: dtypes, symbolic dims, types, ops, graphs, text form, verifier."""

from axiom.ir.builder import Builder
from axiom.ir.dims import Dim, Truth, dim_eq, dim_le, dim_lt, dim_str, dims_equal, parse_dim, sym, symbols
from axiom.ir.dtypes import (
    ALL_DTYPES,
    DType,
    as_dtype,
    bf16,
    boolean,
    f16,
    f32,
    f64,
    i8,
    i16,
    i32,
    i64,
    u8,
    u16,
    u32,
    u64,
)
from axiom.ir.errors import AxiomError, InputError, ParseError, ShapeError, UnsupportedError, VerifyError
from axiom.ir.graph import Graph, Loc, Node, PropertyDecl, Value
from axiom.ir.opdef import Attrs, AttrSpec, OpDef, all_ops, get_facet, get_op, register_facet, register_op
from axiom.ir.parser import parse_graph
from axiom.ir.printer import print_graph
from axiom.ir.types import TensorType
from axiom.ir.verifier import verify

__all__ = [
    "ALL_DTYPES", "AttrSpec", "Attrs", "AxiomError", "Builder", "DType", "Dim", "Graph", "InputError",
    "Loc", "Node", "OpDef", "ParseError", "PropertyDecl", "ShapeError", "TensorType", "Truth",
    "UnsupportedError", "Value", "VerifyError", "all_ops", "as_dtype", "bf16", "boolean", "dim_eq",
    "dim_le", "dim_lt", "dim_str", "dims_equal", "f16", "f32", "f64", "get_facet", "get_op", "i8",
    "i16", "i32", "i64", "parse_dim", "parse_graph", "print_graph", "register_facet", "register_op", "sym",
    "symbols", "u8", "u16", "u32", "u64", "verify",
]
