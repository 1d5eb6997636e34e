"""The trace that turns one call of a model function into an IR Graph.

It owns the graph and its builder, lifts Python scalars into constants, stamps every node
with the user's source line, re-raises shape errors at that line, and creates parameters.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from axiom.frontends.dsl.locations import Site, TraceError, user_site
from axiom.frontends.dsl.params import rng_for
from axiom.frontends.dsl.tensor import Tensor
from axiom.ir.builder import Builder
from axiom.ir.dtypes import DType, dtype_from_numpy
from axiom.ir.errors import AttributeError_, ShapeError
from axiom.ir.graph import Graph, Value
from axiom.ir.types import TensorType

_ACTIVE: list[Trace] = []

Init = Callable[[np.random.Generator, tuple[int, ...]], np.ndarray]


class Trace:
    """The graph being built for one model, with its parameters (named, seeded) and literals."""

    def __init__(self, name: str, seed: int = 0) -> None:
        self.graph = Graph(name)
        self.builder = Builder(self.graph)
        self.seed = seed
        self.param_names: list[str] = []
        self._params: dict[str, Tensor] = {}
        self._owners: dict[int, tuple[object, str]] = {}  # id(layer) -> (layer, prefix)
        self._kind_counts: dict[str, int] = {}
        self._literals: dict[tuple[str, tuple[int, ...], bytes], Tensor] = {}

    # ---- values -------------------------------------------------------------------------
    def input(self, name: str, type: TensorType) -> Tensor:
        return Tensor(self.graph.add_input(name, type), self)

    def emit(self, op: str, *inputs: Any, like: DType | None = None, **attrs: Any) -> Any:
        """Append ``op`` and return its result Tensor (a tuple for several results).

        Non-tensor operands become constants of dtype ``like`` (default: the first tensor's).
        """
        if like is None:
            like = next((x.dtype for x in inputs if isinstance(x, Tensor)), None)
        values = [self.value_of(x, like) for x in inputs]
        site = user_site()
        try:
            node = self.builder.node(op, values, attrs)
        except (ShapeError, AttributeError_) as exc:
            raise type(exc)(site.format(str(exc))) from None  # the message gets the user's line
        node.loc = site.loc
        results = tuple(Tensor(r, self) for r in node.results)
        return results[0] if len(results) == 1 else results

    def value_of(self, x: Any, like: DType | None) -> Value:
        """The Value behind ``x``: a Tensor of this trace, or a scalar/array made a constant."""
        if isinstance(x, Tensor):
            if x.trace is not self:
                raise self.error(f"{x.type} belongs to the trace of @{x.trace.graph.name}, not of "
                                 f"@{self.graph.name}; a tensor cannot cross models")
            return x.value
        return self.literal(x, like).value

    def literal(self, x: Any, dtype: DType | None) -> Tensor:
        """A constant holding ``x`` (a scalar or an array) converted to ``dtype``; shared when repeated."""
        if not isinstance(x, (bool, int, float, np.ndarray, np.generic, list)):
            raise self.error(f"cannot use {type(x).__name__} {x!r} as a tensor operand")
        raw = np.asarray(x)
        target = dtype.np_dtype if dtype is not None else _default_np_dtype(raw)
        arr = raw.astype(target)
        if target.kind in "iub" and not np.array_equal(arr, raw):
            raise self.error(f"the value {x!r} does not fit a {dtype_from_numpy(target)} tensor "
                             "exactly; cast the tensor with .astype(f32) first")
        key = (arr.dtype.str, arr.shape, arr.tobytes())
        if key not in self._literals:
            self._literals[key] = Tensor(self._add_constant(arr, "lit", user_site()), self)
        return self._literals[key]

    # ---- parameters ---------------------------------------------------------------------
    def param(self, owner: object, kind: str, label: str | None, name: str, shape: tuple[int, ...],
              dtype: DType, init: Init) -> Tensor:
        """The parameter ``<prefix>.<name>`` of ``owner`` (a layer), created on first use.

        The prefix is the layer's own name, else ``<kind>_<k>`` numbered in order of first use;
        the values come from an RNG seeded by (model seed, full name), so they do not depend on
        the order parameters are made in.
        """
        full = f"{self._prefix(owner, kind, label)}.{name}"
        if full in self._params:
            return self._params[full]
        arr = np.asarray(init(rng_for(self.seed, full), shape)).astype(dtype.np_dtype)
        site = user_site()
        t = Tensor(self._add_constant(arr, full, site, named=True), self)
        self._params[full] = t
        self.param_names.append(full)
        return t

    def _prefix(self, owner: object, kind: str, label: str | None) -> str:
        known = self._owners.get(id(owner))
        if known is not None:
            return known[1]
        taken = {p for _, p in self._owners.values()}
        if label is not None:
            if label in taken:
                raise self.error(f"two layers are named {label!r} in @{self.graph.name}; "
                                 "give each layer its own name")
            prefix = label
        else:
            k = self._kind_counts.get(kind, 0)
            while f"{kind}_{k}" in taken:  # an explicit name took it: never share its weights
                k += 1
            self._kind_counts[kind] = k + 1
            prefix = f"{kind}_{k}"
        self._owners[id(owner)] = (owner, prefix)
        return prefix

    def _add_constant(self, arr: np.ndarray, name: str, site: Site, named: bool = False) -> Value:
        loc = site.named(name) if named and site.file else site.loc
        return self.graph.add_constant(arr, name, loc)

    # ---- errors -------------------------------------------------------------------------
    @staticmethod
    def error(message: str, site: Site | None = None) -> ShapeError:
        """A ShapeError starting ``file:line:`` at the user's line (or at ``site``)."""
        return ShapeError((site or user_site()).format(message))


def _default_np_dtype(raw: np.ndarray) -> np.dtype:
    if raw.dtype == np.float64 and raw.ndim == 0:
        return np.dtype(np.float32)
    if raw.dtype == np.int64 and raw.ndim == 0:
        return np.dtype(np.int64)
    return raw.dtype


def current_trace() -> Trace:
    """The innermost active trace; a clear error outside ``@axiom.model`` functions."""
    if not _ACTIVE:
        raise TraceError("no model is being traced: call this inside an @axiom.model function")
    return _ACTIVE[-1]


def trace_of(*xs: Any) -> Trace:
    """The trace of the first Tensor among ``xs``, else the active one."""
    for x in xs:
        if isinstance(x, Tensor):
            return x.trace
    return current_trace()


@contextlib.contextmanager
def tracing(trace: Trace) -> Iterator[Trace]:
    """Make ``trace`` the active one for the duration of the block."""
    _ACTIVE.append(trace)
    try:
        yield trace
    finally:
        _ACTIVE.pop()
