"""Declared properties: ``ensure(valid_probabilities(p))``, ``prove(bounded(y, 0, 1), given=...)``.

Both only record an ir.PropertyDecl (kind, name, tensor args, params, the user's line) in the
graph; the proof passes decide them later. ``ensure`` states what must hold, ``prove`` asks for
a proof, optionally for inputs restricted to a box. Nothing is checked at run time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from axiom.frontends.dsl.locations import TraceError, user_site
from axiom.frontends.dsl.tensor import Tensor
from axiom.ir.graph import PropertyDecl
from axiom.ir.opdef import Attrs


@dataclass(frozen=True)
class Property:
    """A property of traced tensors, made by a constructor such as :func:`finite`."""

    name: str
    args: tuple[Tensor, ...]
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class InBox:
    """The input region lo <= x <= hi (every element) that a proof may assume."""

    input: Tensor
    lo: float
    hi: float


def _tensor(what: str, t: Any) -> Tensor:
    if not isinstance(t, Tensor):
        raise TraceError(f"{what} takes a traced Tensor, got {type(t).__name__}")
    return t


def _number(what: str, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or math.isnan(v):
        raise TraceError(f"{what} takes a number, got {v!r}")
    return float(v)


def finite(t: Tensor) -> Property:
    """Every element is finite (no inf, no NaN)."""
    return Property("finite", (_tensor("finite", t),))


def valid_probabilities(t: Tensor, axis: int = -1) -> Property:
    """Every element in [0, 1] and each slice along ``axis`` sums to 1."""
    t = _tensor("valid_probabilities", t)
    if not -t.ndim <= axis < t.ndim:
        raise t.trace.error(f"valid_probabilities: axis {axis} is out of range for {t.type}")
    return Property("valid_probabilities", (t,), {"axis": int(axis)})


def bounded(t: Tensor, lo: float, hi: float) -> Property:
    """Every element in [lo, hi]."""
    t = _tensor("bounded", t)
    lo, hi = _number("bounded", lo), _number("bounded", hi)
    if lo > hi:
        raise t.trace.error(f"bounded: lo ({lo}) is above hi ({hi})")
    return Property("bounded", (t,), {"lo": lo, "hi": hi})


def nonnegative(t: Tensor) -> Property:
    """Every element >= 0."""
    return Property("nonnegative", (_tensor("nonnegative", t),))


def in_box(x: Tensor, lo: float, hi: float) -> InBox:
    """The model input ``x`` restricted to [lo, hi] elementwise (for ``prove(..., given=)``)."""
    x = _tensor("in_box", x)
    lo, hi = _number("in_box", lo), _number("in_box", hi)
    if lo > hi:
        raise x.trace.error(f"in_box: lo ({lo}) is above hi ({hi})")
    if not any(x.value is v for v in x.trace.graph.inputs):
        raise x.trace.error(f"in_box: {x.type} is not a model input; a region can only bound an input")
    return InBox(x, lo, hi)


def ensure(prop: Property) -> None:
    """Declare that ``prop`` must hold; the proof passes decide it (until then it is "unchecked")."""
    _record("ensure", prop, {})


def prove(prop: Property, given: InBox | None = None) -> None:
    """Declare that ``prop`` must be proved, for every input (or every input in ``given``)."""
    extra: dict[str, Any] = {}
    if given is not None:
        if not isinstance(given, InBox):
            raise TraceError(f"prove(given=...) takes in_box(x, lo, hi), got {type(given).__name__}")
        if isinstance(prop, Property) and given.input.trace is not prop.args[0].trace:
            raise TraceError("prove: the in_box region bounds an input of another model")
        extra = {"given_input": given.input.value.name, "given_lo": given.lo, "given_hi": given.hi}
    _record("prove", prop, extra)


def _record(kind: str, prop: Property, extra: dict[str, Any]) -> None:
    if not isinstance(prop, Property):
        raise TraceError(f"{kind}() takes a property such as finite(t) or valid_probabilities(t), "
                         f"got {type(prop).__name__}")
    trace = prop.args[0].trace
    for t in prop.args:
        trace.value_of(t, None)  # every argument must belong to the same model
    site = user_site()
    decl = PropertyDecl(kind, prop.name, [t.value for t in prop.args], Attrs({**prop.params, **extra}),
                        site.loc)
    trace.graph.properties.append(decl)
