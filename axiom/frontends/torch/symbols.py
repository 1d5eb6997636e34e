"""torch's symbolic sizes as Axiom dims: each shape symbol of the exported program (``s77``) becomes
the sympy symbol named after its ``torch.export.Dim`` (``batch``), derived dims (``2*batch``)
become expressions, and torch's integer functions (FloorDiv, Mod) their sympy forms."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import sympy
import torch
from torch import fx

from axiom.ir.dims import Dim, as_dim, sym
from axiom.ir.errors import UnsupportedError


def _dim_specs(spec: Any) -> list[tuple[int, Any]]:
    """(axis, Dim) pairs of one input's dynamic_shapes entry (a dict or a sequence of Dims)."""
    if isinstance(spec, Mapping):
        return list(spec.items())
    if isinstance(spec, (list, tuple)):
        return list(enumerate(spec))
    return []


def _spec_name(d: Any) -> tuple[str, bool] | None:
    """The Dim's name and whether it is derived (``2*batch``: named by its root)."""
    root = getattr(d, "root", None)
    if root is not None and hasattr(root, "__name__"):
        return root.__name__, True
    name = getattr(d, "__name__", None)
    return (name, False) if isinstance(name, str) and name.isidentifier() else None


def _per_input(dynamic_shapes: Any, names: Sequence[str]) -> list[tuple[str, Any]]:
    """dynamic_shapes (a dict by argument name, or positional) paired with the user input names."""
    if dynamic_shapes is None:
        return []
    if isinstance(dynamic_shapes, Mapping):
        return [(n, dynamic_shapes[n]) for n in names if n in dynamic_shapes]
    return list(zip(names, dynamic_shapes, strict=False))


class SymbolTable:
    """The map from torch's shape symbols to ours."""

    def __init__(self, inputs: Sequence[fx.Node], dynamic_shapes: Any = None) -> None:
        self.names: dict[sympy.Symbol, str] = {}
        by_name = {n.name: n for n in inputs}
        for input_name, spec in _per_input(dynamic_shapes, [n.name for n in inputs]):
            shape = by_name[input_name].meta["val"].shape
            for axis, d in _dim_specs(spec):
                named = _spec_name(d)
                if named is None or not isinstance(axis, int) or axis >= len(shape):
                    continue
                expr = _expr(shape[axis])
                free = getattr(expr, "free_symbols", set())
                if len(free) == 1:
                    self.names.setdefault(next(iter(free)), named[0])
        taken = set(self.names.values())
        for node in inputs:  # symbols no Dim names: after the first input and axis they size
            for axis, d in enumerate(node.meta["val"].shape):
                for s in sorted(getattr(_expr(d), "free_symbols", set()), key=str):
                    if s not in self.names:
                        name = _fresh(f"{_ident(node.name)}_dim{axis}", taken)
                        self.names[s] = name
                        taken.add(name)

    def dim(self, d: Any) -> Dim:
        """An int, a SymInt or a torch sympy expression as an Axiom dim."""
        if isinstance(d, int):
            return d
        return as_dim(self.expr(_expr(d)))

    def dim_tuple(self, shape: Sequence[Any]) -> tuple[Dim, ...]:
        return tuple(self.dim(d) for d in shape)

    def expr(self, e: sympy.Expr) -> sympy.Expr:
        """A torch sympy expression over our symbols (FloorDiv and friends as sympy)."""
        if isinstance(e, sympy.Symbol):
            if e not in self.names:
                raise UnsupportedError(f"the size symbol {e} is not a size of any input (a data-"
                                       "dependent size?); Axiom supports sizes that follow from inputs")
            return sym(self.names[e])
        if e.is_Integer or not e.args:
            return e
        args = [self.expr(a) for a in e.args]
        kind = type(e).__name__
        if kind == "FloorDiv":
            return sympy.floor(args[0] / args[1])
        if kind == "CeilDiv":
            return sympy.ceiling(args[0] / args[1])
        if kind in ("Mod", "PythonMod"):
            return sympy.Mod(args[0], args[1])
        if kind in ("Add", "Mul", "Pow", "Max", "Min", "floor", "ceiling"):
            return e.func(*args)
        raise UnsupportedError(f"the size expression {e} uses {kind}, which Axiom cannot express as a dim")


def _expr(d: Any) -> Any:
    return d.node.expr if isinstance(d, torch.SymInt) else d


def _ident(name: str) -> str:
    out = re.sub(r"\W", "_", name)
    return out if re.match(r"[A-Za-z_]", out) else f"d_{out}"


def _fresh(base: str, taken: set[str]) -> str:
    name, i = base, 1
    while name in taken:
        name, i = f"{base}_{i}", i + 1
    return name
