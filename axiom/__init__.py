"""Axiom: a tensor graph compiler for Python.

``axiom.compile(model, backend=...)`` turns an ``@axiom.model`` DSL function, an IR ``Graph``
or an ``.axir`` file into an ``Executable``; ``exe.ir`` / ``exe.as_text()`` show its IR.
"""

from axiom import ops
from axiom.api import compile, from_onnx, from_pytorch, to_graph, to_onnx
from axiom.frontends.dsl import (
    Model,
    ParamError,
    Tensor,
    TraceError,
    bounded,
    ensure,
    finite,
    in_box,
    load_params,
    model,
    nonnegative,
    prove,
    save_params,
    valid_probabilities,
)
from axiom.ir import (
    AxiomError,
    DType,
    Graph,
    InputError,
    ParseError,
    ShapeError,
    TensorType,
    Truth,
    UnsupportedError,
    VerifyError,
    bf16,
    boolean,
    f16,
    f32,
    f64,
    i8,
    i16,
    i32,
    i64,
    sym,
    u8,
    u16,
    u32,
    u64,
)
from axiom.ir.parser import parse_graph
from axiom.ir.printer import print_graph
from axiom.runtime import Executable

__version__ = "0.1.0"

__all__ = [
    "AxiomError", "DType", "Executable", "Graph", "InputError", "Model", "ParamError", "ParseError",
    "ShapeError", "Tensor", "TensorType", "TraceError", "Truth", "UnsupportedError", "VerifyError",
    "bf16", "boolean", "bounded", "compile", "ensure", "f16", "f32", "f64", "finite", "from_onnx",
    "from_pytorch", "i8",
    "i16", "i32", "i64", "in_box", "load_params", "model", "nonnegative", "ops", "parse_graph", "print_graph",
    "prove", "save_params", "sym", "to_graph", "to_onnx", "u8", "u16", "u32", "u64",
    "valid_probabilities",
]
