"""The ATen converter table: one entry per ATen overload (``aten.add.Tensor``), and the context a
converter reads its fx node through (arguments by schema name, tensors as IR values, the result's
type from torch's fake-tensor metadata)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import fx

from axiom.ir.builder import Builder
from axiom.ir.dims import Dim
from axiom.ir.dtypes import DType, bf16, dtype_from_numpy
from axiom.ir.errors import AxiomError, UnsupportedError
from axiom.ir.graph import Value


def _torch_dtypes() -> dict[torch.dtype, DType]:
    """Every torch dtype that has an Axiom dtype (through numpy; bfloat16 directly)."""
    out = {torch.bfloat16: bf16}
    for dt in (torch.float32, torch.float64, torch.float16, torch.int8, torch.uint8, torch.int16,
               torch.int32, torch.int64, torch.bool):
        try:
            out[dt] = dtype_from_numpy(torch.empty((), dtype=dt).numpy().dtype)
        except ValueError:
            continue
    return out


TORCH_DTYPES = _torch_dtypes()


class TorchImportError(AxiomError):
    """A PyTorch model that cannot be exported, loaded or read (export failures, bad files, keys)."""


class TorchUnsupportedError(UnsupportedError):
    """ATen ops of a program that Axiom cannot convert; ``problems`` lists (overload, count, first
    location, reason) for each, all found before any IR is built."""

    def __init__(self, problems: list[tuple[str, int, str, str]]) -> None:
        self.problems = problems
        lines = [f"  {op} x{count} (first at {where}): {why}" for op, count, where, why in problems]
        super().__init__(f"the exported program has {len(problems)} unsupported ATen op(s):\n"
                         + "\n".join(lines) + "\nhint: rewrite these in the model with supported ops "
                         "(docs/pytorch.md lists them), or open an issue")


def axiom_dtype(dt: torch.dtype, what: str) -> DType:
    """Our dtype for a torch dtype; an UnsupportedError naming ``what`` otherwise."""
    found = TORCH_DTYPES.get(dt)
    if found is None:
        raise UnsupportedError(f"{what} has dtype {dt}, which Axiom does not support; supported: "
                               f"{', '.join(str(d).removeprefix('torch.') for d in TORCH_DTYPES)}")
    return found


def schema_args(node: fx.Node) -> dict[str, Any]:
    """The node's arguments by schema name, defaults filled in (positional and keyword alike)."""
    schema = node.target._schema  # type: ignore[union-attr]
    out: dict[str, Any] = {}
    for i, a in enumerate(schema.arguments):
        if i < len(node.args):
            out[a.name] = node.args[i]
        elif a.name in node.kwargs:
            out[a.name] = node.kwargs[a.name]
        else:
            out[a.name] = a.default_value if a.has_default_value() else None
    return out


class Ctx:
    """One fx node being converted: its arguments (fx nodes mapped to IR values or dims), the
    builder (located at the node's source line) and the types torch recorded for its results."""

    def __init__(self, node: fx.Node, b: Builder, env: Callable[[Any], Any],
                 dim: Callable[[Any], Dim]) -> None:
        self.node = node
        self.b = b
        self._env = env
        self._dim = dim
        self.raw = schema_args(node)

    def arg(self, name: str) -> Any:
        """An argument with fx nodes replaced by what they became (values, dims, tuples)."""
        return fx.node.map_arg(self.raw[name], self._env)

    def tensor(self, name: str) -> Value:
        v = self.arg(name)
        if not isinstance(v, Value):
            raise self.unsupported(f"argument '{name}' must be a tensor, got {v!r}")
        return v

    def meta(self, index: int | None = None) -> Any:
        val = self.node.meta.get("val")
        return val if index is None else val[index]

    def out_dtype(self, index: int | None = None) -> DType:
        return axiom_dtype(self.meta(index).dtype, f"the result of {self.node.target}")

    def out_shape(self, index: int | None = None) -> tuple[Dim, ...]:
        """The result's shape as torch traced it, symbolic dims as our symbols."""
        return tuple(self._dim(d) for d in self.meta(index).shape)

    def scalar(self, value: float | bool, dtype: DType) -> Value:
        """A rank-0 constant of ``dtype``."""
        if isinstance(value, (int, float, bool)):
            return self.b.constant(np.array(value).astype(dtype.np_dtype))
        raise self.unsupported(f"a symbolic scalar ({value}) used as a tensor is not supported; "
                               "hint: compute it from tensors, or make that dim static")

    def as_dtype(self, v: Value | float | bool, dtype: DType) -> Value:
        """A tensor or Python scalar as a value of ``dtype`` (torch promotes; our IR casts)."""
        if not isinstance(v, Value):
            return self.scalar(v, dtype)
        return v if v.dtype == dtype else self.b.cast(v, to=dtype)

    def unsupported(self, reason: str) -> UnsupportedError:
        return UnsupportedError(f"{self.node.target} at node '{self.node.name}': {reason}")


Convert = Callable[[Ctx], "Value | Sequence[Value | None] | None"]
Check = Callable[[fx.Node], "str | None"]


@dataclass(frozen=True)
class Converter:
    """How to convert one ATen overload; ``check`` finds argument values we cannot take, before
    anything is built; ``outputs`` is how many of a multi-result op's outputs we produce."""

    fn: Convert
    check: Check | None = None
    outputs: int | None = None


REGISTRY: dict[str, Converter] = {}


def aten(*names: str, check: Check | None = None, outputs: int | None = None) -> Callable[[Convert], Convert]:
    """Register the decorated function for the ATen overloads ``names`` (``"add.Tensor"``)."""

    def register(fn: Convert) -> Convert:
        for name in names:
            REGISTRY[f"aten.{name}"] = Converter(fn, check, outputs)
        return fn

    return register


def overload_name(target: Any) -> str:
    """``aten.add.Tensor`` for an OpOverload; the qualified name of any other callable."""
    if isinstance(target, torch._ops.OpOverload):
        return str(target)
    return f"{getattr(target, '__module__', '?')}.{getattr(target, '__name__', target)}"


def fake_of(arg: Any) -> Any:
    """The fake tensor (or number) torch traced for an argument."""
    return arg.meta.get("val") if isinstance(arg, fx.Node) else arg


def promoted(a: Any, b: Any) -> torch.dtype:
    """torch's result dtype of two operands (tensors or Python scalars), from their traced metadata
    (a rank-0 tensor promotes less than a ranked one, so stand-ins keep the rank)."""

    def stand_in(v: Any) -> Any:
        v = fake_of(v)
        return torch.empty((1,) * v.dim(), dtype=v.dtype) if isinstance(v, torch.Tensor) else v

    return torch.result_type(stand_in(a), stand_in(b))
