"""OpDef: one registered definition per op, holding its attribute schema, type rule,
numpy reference and optional decomposition; plus the facet registry that other
packages (LLVM, CUDA, proofs) fill, keyed by op name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from axiom.ir.dims import as_dim
from axiom.ir.dtypes import as_dtype
from axiom.ir.errors import AttributeError_, ShapeError
from axiom.ir.types import TensorType

if TYPE_CHECKING:
    from axiom.ir.builder import Builder
    from axiom.ir.graph import Value

ATTR_KINDS = ("int", "float", "bool", "str", "ints", "floats", "dims", "dtype")
_REQUIRED = object()


@dataclass(frozen=True)
class AttrSpec:
    """The schema of one attribute: its kind, default, and whether None is allowed."""

    kind: str
    default: Any = _REQUIRED
    optional: bool = False
    doc: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ATTR_KINDS:
            raise ValueError(f"unknown attribute kind {self.kind!r}; kinds: {ATTR_KINDS}")

    @property
    def required(self) -> bool:
        return self.default is _REQUIRED

    def coerce(self, op: str, name: str, value: Any) -> Any:
        """Check ``value`` against this spec and return its frozen canonical form."""
        if value is None:
            if self.optional:
                return None
            raise AttributeError_(f"{op}: attribute '{name}' may not be None")
        try:
            return _COERCE[self.kind](value)
        except (TypeError, ValueError) as exc:
            raise AttributeError_(
                f"{op}: attribute '{name}' expects {self.kind}, got {value!r} ({exc})"
            ) from None


def _int(v: Any) -> int:
    if isinstance(v, (bool, float)) or not hasattr(v, "__index__"):
        raise TypeError("not an integer")
    return int(v)


def _float(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)):
        raise TypeError("not a number")
    return float(v)


def _bool(v: Any) -> bool:
    if not isinstance(v, (bool, np.bool_)):
        raise TypeError("not a bool")
    return bool(v)


def _str(v: Any) -> str:
    if not isinstance(v, str):
        raise TypeError("not a string")
    return v


def _seq(item: Callable[[Any], Any]) -> Callable[[Any], tuple[Any, ...]]:
    def coerce(v: Any) -> tuple[Any, ...]:
        if isinstance(v, (str, bytes)) or not isinstance(v, (Sequence, np.ndarray)):
            raise TypeError("not a list")
        return tuple(item(x) for x in v)

    return coerce


_COERCE: dict[str, Callable[[Any], Any]] = {
    "int": _int,
    "float": _float,
    "bool": _bool,
    "str": _str,
    "ints": _seq(_int),
    "floats": _seq(_float),
    "dims": _seq(as_dim),
    "dtype": as_dtype,
}


class Attrs(Mapping[str, Any]):
    """Frozen, hashable attribute values of one node (attribute access: ``attrs.axis``)."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, Any] | None = None) -> None:
        object.__setattr__(self, "_items", dict(sorted((items or {}).items())))

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __getattr__(self, key: str) -> Any:
        try:
            return self._items[key]
        except KeyError:
            raise AttributeError(key) from None

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError("Attrs are frozen")

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(tuple(self._items.items()))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Attrs) and self._items == other._items

    def __repr__(self) -> str:
        return f"Attrs({self._items!r})"

    def replace(self, **changes: Any) -> Attrs:
        return Attrs({**self._items, **changes})


InferFn = Callable[[Sequence[TensorType], Attrs], Sequence[TensorType]]
ReferenceFn = Callable[[Sequence[np.ndarray], Attrs], Any]
DecomposeFn = Callable[["Builder", Sequence["Value"], Attrs], Sequence["Value"]]
ResolveFn = Callable[[Sequence[TensorType], Attrs], Attrs]


@dataclass(frozen=True, eq=False)
class OpDef:
    """The single definition of an op; nodes point at it, never at a bare name string."""

    name: str
    infer: InferFn
    reference: ReferenceFn
    min_inputs: int
    max_inputs: int | None  # None: variadic
    attrs: Mapping[str, AttrSpec] = field(default_factory=dict)
    num_results: int | Callable[[Attrs], int] = 1
    decompose: DecomposeFn | None = None
    # Makes defaults that depend on the operand types explicit (squeeze's axes=None becomes
    # the static-1 axes), so the reference never has to guess what the type rule decided.
    resolve: ResolveFn | None = None
    traits: frozenset[str] = frozenset()
    doc: str = ""

    def __repr__(self) -> str:
        return f"OpDef({self.name})"

    def __hash__(self) -> int:
        return hash(self.name)

    def results_for(self, attrs: Attrs) -> int:
        n = self.num_results
        return n(attrs) if callable(n) else n

    def check_arity(self, count: int) -> None:
        lo, hi = self.min_inputs, self.max_inputs
        if count < lo or (hi is not None and count > hi):
            want = f"{lo}" if lo == hi else f"{lo}..{'any' if hi is None else hi}"
            raise ShapeError(f"{self.name} takes {want} inputs, got {count}")

    def make_attrs(self, given: Mapping[str, Any]) -> Attrs:
        """Validate ``given`` against the schema, fill defaults, freeze."""
        unknown = sorted(set(given) - set(self.attrs))
        if unknown:
            known = ", ".join(self.attrs) or "none"
            raise AttributeError_(f"{self.name}: unknown attribute(s) {unknown}; known: {known}")
        out: dict[str, Any] = {}
        for name, spec in self.attrs.items():
            if name in given:
                out[name] = spec.coerce(self.name, name, given[name])
            elif spec.required:
                raise AttributeError_(f"{self.name}: missing required attribute '{name}'")
            else:
                out[name] = spec.coerce(self.name, name, spec.default) if spec.default is not None else None
        return Attrs(out)

    def infer_types(self, inputs: Sequence[TensorType], attrs: Attrs) -> list[TensorType]:
        """Result types for these input types; ShapeError says what is wrong."""
        self.check_arity(len(inputs))
        out = list(self.infer(inputs, attrs))
        want = self.results_for(attrs)
        if len(out) != want:
            raise ShapeError(f"{self.name}: type rule gave {len(out)} results, expected {want}")
        return out

    def evaluate(self, inputs: Sequence[np.ndarray], attrs: Attrs) -> list[np.ndarray]:
        """Run the numpy reference; always returns a list of arrays."""
        out = self.reference(inputs, attrs)
        if isinstance(out, (list, tuple)):
            return [np.asarray(o) for o in out]
        return [np.asarray(out)]


_REGISTRY: dict[str, OpDef] = {}
_FACETS: dict[str, dict[str, object]] = {}


def register_op(op: OpDef) -> OpDef:
    """Register ``op`` once; registering a second op of the same name is an error."""
    if op.name in _REGISTRY:
        raise ValueError(f"op {op.name!r} is already registered")
    _REGISTRY[op.name] = op
    return op


def get_op(name: str) -> OpDef:
    """The registered OpDef called ``name``."""
    _load_builtin_ops()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown op {name!r}") from None


def has_op(name: str) -> bool:
    _load_builtin_ops()
    return name in _REGISTRY


def all_ops() -> list[OpDef]:
    """Every registered op, sorted by name."""
    _load_builtin_ops()
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]


def register_facet(facet: str, op: str | OpDef, impl: object) -> None:
    """Attach one facet (``"llvm"``, ``"cuda"``, ``"interval"``, ...) of an op."""
    name = op.name if isinstance(op, OpDef) else op
    _FACETS.setdefault(facet, {})[name] = impl


def get_facet(facet: str, op: str | OpDef) -> object | None:
    name = op.name if isinstance(op, OpDef) else op
    return _FACETS.get(facet, {}).get(name)


def facet_names() -> list[str]:
    return sorted(_FACETS)


def _load_builtin_ops() -> None:
    import axiom.ir.ops  # noqa: F401  (registers the built-in ops on import)
