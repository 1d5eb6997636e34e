"""The ONNX converter table: one entry per (domain, op_type) and opset range, and the context a
converter reads its node through (inputs as IR values, constant inputs as arrays, attributes)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import onnx
from onnx import helper

from axiom.ir.builder import Builder
from axiom.ir.errors import UnsupportedError
from axiom.ir.graph import Value

LATEST = onnx.defs.onnx_opset_version()
DEFAULT_DOMAINS = ("", "ai.onnx")


class Ctx:
    """One ONNX node being converted: its attributes, opset, inputs (values or constant arrays)."""

    def __init__(self, node: onnx.NodeProto, opset: int, b: Builder,
                 value: Callable[[str], Value], constant: Callable[[str], np.ndarray | None],
                 inline: Callable[[onnx.GraphProto, Sequence[Any]], list[Value]] | None = None,
                 evaluate: Callable[[Value], np.ndarray | None] | None = None) -> None:
        self.node = node
        self.opset = opset
        self.b = b
        self._value = value
        self._constant = constant
        self._inline = inline
        self._evaluate = evaluate
        self.attrs: dict[str, Any] = {a.name: helper.get_attribute_value(a) for a in node.attribute}

    def attr(self, name: str, default: Any = None) -> Any:
        """An attribute's value (bytes decoded to str), or ``default`` when the node lacks it."""
        v = self.attrs.get(name, default)
        return v.decode() if isinstance(v, bytes) else v

    def has_input(self, i: int) -> bool:
        return i < len(self.node.input) and self.node.input[i] != ""

    def input(self, i: int) -> Value:
        if not self.has_input(i):
            raise self.unsupported(f"needs input {i}")
        return self._value(self.node.input[i])

    def inputs(self) -> list[Value]:
        return [self.input(i) for i in range(len(self.node.input)) if self.has_input(i)]

    def const(self, i: int) -> np.ndarray | None:
        """The data of input ``i`` when it is an initializer or a Constant node's output."""
        return self._constant(self.node.input[i]) if self.has_input(i) else None

    def inline(self, body: onnx.GraphProto, args: Sequence[Any]) -> list[Value]:
        """Convert subgraph ``body`` here, its inputs bound to ``args`` (Values or arrays); its results."""
        if self._inline is None:
            raise self.unsupported("subgraphs cannot be converted in this context")
        return self._inline(body, args)

    def evaluate(self, v: Value) -> np.ndarray | None:
        """``v``'s data when it is computed only from constants, else None."""
        return None if self._evaluate is None else self._evaluate(v)

    def scalar(self, value: float, like: Value) -> Value:
        """A rank-0 constant of ``like``'s dtype."""
        return self.b.constant(np.array(value, like.dtype.np_dtype))

    def unsupported(self, reason: str) -> UnsupportedError:
        """An error naming this node, for a case found only while converting (dims, dtypes)."""
        return UnsupportedError(f"ONNX {self.node.op_type} (opset {self.opset}) at node "
                                f"'{self.node.name}': {reason}")


Convert = Callable[[Ctx], "Value | Sequence[Value]"]
Check = Callable[[onnx.NodeProto, int], "str | None"]


@dataclass(frozen=True)
class Converter:
    """How to convert one ONNX op within an opset range (inclusive), and which inputs must be constant."""

    domain: str
    op_type: str
    since: int
    until: int
    fn: Convert
    const_inputs: tuple[int, ...] = ()
    check: Check | None = None


REGISTRY: dict[tuple[str, str], list[Converter]] = {}


def converter(*op_types: str, since: int = 1, until: int = LATEST, const_inputs: tuple[int, ...] = (),
              check: Check | None = None, domain: str = "") -> Callable[[Convert], Convert]:
    """Register the decorated function for ``op_types`` in opsets ``since..until``."""

    def register(fn: Convert) -> Convert:
        for op in op_types:
            REGISTRY.setdefault((domain, op), []).append(
                Converter(domain, op, since, until, fn, const_inputs, check))
        return fn

    return register


def lookup(domain: str, op_type: str, opset: int) -> Converter | str:
    """The converter for ``op_type`` at ``opset``, or why there is none."""
    key = ("" if domain in DEFAULT_DOMAINS else domain, op_type)
    entries = REGISTRY.get(key)
    if not entries:
        return "no converter for this op"
    for c in entries:
        if c.since <= opset <= c.until:
            return c
    ranges = ", ".join(f"{c.since}..{c.until}" for c in sorted(entries, key=lambda c: c.since))
    return f"opset {opset} is outside the supported opsets ({ranges})"


def used_outputs(node: onnx.NodeProto) -> int:
    """How many outputs a node names (trailing optional outputs may be left empty)."""
    return sum(1 for o in node.output if o)


def only_first_output(node: onnx.NodeProto, opset: int) -> str | None:
    """A check: optional extra outputs (masks, indices, saved statistics) are not supported."""
    if any(node.output[1:]):
        return "only its first output is supported (inference); the others are named"
    return None


def attr_of(node: onnx.NodeProto, name: str, default: Any = None) -> Any:
    for a in node.attribute:
        if a.name == name:
            v = helper.get_attribute_value(a)
            return v.decode() if isinstance(v, bytes) else v
    return default


def _onnx_dtypes() -> dict[int, Any]:
    from axiom.ir.dtypes import bf16, boolean, f16, f32, f64, i8, i16, i32, i64, u8, u16, u32, u64

    t = onnx.TensorProto
    return {t.FLOAT: f32, t.DOUBLE: f64, t.FLOAT16: f16, t.BFLOAT16: bf16, t.INT8: i8, t.UINT8: u8,
            t.INT16: i16, t.UINT16: u16, t.INT32: i32, t.UINT32: u32, t.INT64: i64, t.UINT64: u64,
            t.BOOL: boolean}


ONNX_DTYPES = _onnx_dtypes()


def dtype_name(elem_type: int) -> str:
    """An ONNX element type's name (``FLOAT``, ``STRING``), for messages."""
    try:
        return onnx.TensorProto.DataType.Name(elem_type)
    except ValueError:
        return f"element type {elem_type}"
