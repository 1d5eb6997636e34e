"""Call-time argument checks: dtype, rank, static dims, and consistent symbolic dims.

Every error names the input, what was expected and what was given, so a wrong call never
reaches a kernel (and a kernel never reads past a buffer it was not given).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import sympy

from axiom.ir.dims import dim_str, evaluate_dim
from axiom.ir.errors import InputError
from axiom.ir.graph import Value
from axiom.ir.types import TensorType
from axiom.runtime.torch_interop import from_torch, is_torch_tensor

_TORCH_NAMES = {"f16": "float16", "bf16": "bfloat16", "f32": "float32", "f64": "float64", "i8": "int8",
                "u8": "uint8", "i16": "int16", "u16": "uint16", "i32": "int32", "u32": "uint32",
                "i64": "int64", "u64": "uint64", "bool": "bool"}


def positional(names: Sequence[str], args: Sequence[Any], kwargs: dict[str, Any]) -> list[Any]:
    """The call's arguments in input order, keyword arguments placed by name."""
    if not kwargs:
        return list(args)
    unknown = sorted(set(kwargs) - set(names))
    if unknown:
        raise InputError(f"unknown input(s) {unknown}; the inputs are {list(names)}")
    twice = sorted(set(names[:len(args)]) & set(kwargs))
    if twice:
        raise InputError(f"input(s) {twice} given both by position and by name")
    if len(args) > len(names):
        raise InputError(f"expected {len(names)} inputs ({', '.join(names)}), got {len(args)} by position")
    out = list(args)
    for name in names[len(args):]:
        if name not in kwargs:
            raise InputError(f"missing input '{name}'")
        out.append(kwargs[name])
    return out


class InputSpec:
    """The checks of one graph input in a form quick to apply: dtype, rank, the static dims and the dims
    that are bare symbols. Inputs with other dims (expressions) take the general path."""

    __slots__ = ("dtype", "rank", "static", "symbols", "simple")

    def __init__(self, v: Value) -> None:
        self.dtype = v.type.dtype.np_dtype
        self.rank = v.type.rank
        self.static = tuple((i, d) for i, d in enumerate(v.type.shape) if isinstance(d, int))
        self.symbols = tuple((i, d.name) for i, d in enumerate(v.type.shape) if isinstance(d, sympy.Symbol))
        self.simple = len(self.static) + len(self.symbols) == self.rank


def quick_bind(specs: Sequence[InputSpec], args: Sequence[Any]) -> dict[str, int] | None:
    """The symbol bindings when every arg is a numpy array that passes its spec's checks, else None (the
    caller then runs :func:`bind_inputs`, which accepts more and words the errors)."""
    if len(args) != len(specs):
        return None
    bindings: dict[str, int] = {}
    for spec, a in zip(specs, args, strict=True):
        if type(a) is not np.ndarray or not spec.simple or a.dtype != spec.dtype or a.ndim != spec.rank:
            return None
        shape = a.shape
        for i, d in spec.static:
            if shape[i] != d:
                return None
        for i, name in spec.symbols:
            got = shape[i]
            if got < 1 or bindings.setdefault(name, got) != got:
                return None
    return bindings


def bind_inputs(params: Sequence[Value], args: Sequence[Any]) -> tuple[list[np.ndarray], dict[str, int]]:
    """Check ``args`` against the graph inputs; return them as numpy arrays and the symbol bindings."""
    if len(args) != len(params):
        names = ", ".join(f"{v.name}: {v.type}" for v in params)
        raise InputError(f"expected {len(params)} inputs ({names}), got {len(args)}")
    arrays = [_as_array(v, a) for v, a in zip(params, args, strict=True)]
    bindings: dict[str, int] = {}
    for v, a in zip(params, arrays, strict=True):
        _check_static(v, a)
        _bind_symbols(v, a, bindings)
    for v, a in zip(params, arrays, strict=True):
        _check_expressions(v, a, bindings)
    return arrays, bindings


def _as_array(v: Value, a: Any) -> np.ndarray:
    t = v.type
    if is_torch_tensor(a):
        return _check_array(v, from_torch(a), f".to(torch.{_TORCH_NAMES.get(t.dtype.name, t.dtype.name)})")
    if isinstance(a, np.generic):
        a = np.asarray(a)  # a numpy scalar is a 0-d array: its dtype must match like any array's
    elif isinstance(a, (bool, int, float)) and t.rank == 0:
        return _python_scalar(v, a)
    if not isinstance(a, np.ndarray):
        raise InputError(f"input '{v.name}' must be a numpy array (or torch tensor) of type {t}, "
                         f"got {type(a).__name__}")
    return _check_array(v, a, f".astype(np.{t.dtype.np_dtype.name})")


def _python_scalar(v: Value, a: bool | int | float) -> np.ndarray:
    """A Python number for a rank-0 input, accepted only when it converts exactly:
    bool for bool, int for int or float inputs (in range), float for float inputs."""
    dt = v.type.dtype
    fits = (dt.is_bool if isinstance(a, bool) else
            (dt.is_int or dt.is_float) if isinstance(a, int) else dt.is_float)
    if fits and dt.is_int:
        info = np.iinfo(dt.np_dtype)
        fits = info.min <= a <= info.max
    if not fits:
        raise InputError(f"input '{v.name}' has type {v.type}: the Python {type(a).__name__} {a!r} does not "
                         f"convert to it exactly; pass np.array({a!r}, np.{dt.np_dtype.name}) if you mean it")
    return np.asarray(a, dtype=dt.np_dtype)


def _check_array(v: Value, a: np.ndarray, convert: str) -> np.ndarray:
    t = v.type
    if a.dtype != t.dtype.np_dtype:
        raise InputError(f"input '{v.name}' must have dtype {t.dtype} ({t.dtype.np_dtype}), got {a.dtype}; "
                         f"convert it with {convert}")
    if a.ndim != t.rank:
        raise InputError(f"input '{v.name}' must have rank {t.rank} ({t}), got shape {a.shape}")
    return a


def _check_static(v: Value, a: np.ndarray) -> None:
    for axis, (want, got) in enumerate(zip(v.type.shape, a.shape, strict=True)):
        if isinstance(want, int) and want != got:
            raise InputError(f"input '{v.name}' must have shape {_shape(v.type)}, got {a.shape}: "
                             f"dim {axis} is {got}, expected {want}")


def _bind_symbols(v: Value, a: np.ndarray, bindings: dict[str, int]) -> None:
    for axis, (want, got) in enumerate(zip(v.type.shape, a.shape, strict=True)):
        if not isinstance(want, sympy.Symbol):
            continue
        name = want.name
        if got < 1:
            raise InputError(f"input '{v.name}': dim {axis} ({name}) must be >= 1, got {got}")
        if name in bindings and bindings[name] != got:
            raise InputError(f"input '{v.name}': dim {axis} is {name} = {got}, but an earlier input "
                             f"bound {name} = {bindings[name]}")
        bindings[name] = got


def _check_expressions(v: Value, a: np.ndarray, bindings: dict[str, int]) -> None:
    for axis, (want, got) in enumerate(zip(v.type.shape, a.shape, strict=True)):
        if isinstance(want, int) or isinstance(want, sympy.Symbol):
            continue
        value = _solve_or_eval(want, got, bindings)
        if value != got:
            raise InputError(f"input '{v.name}': dim {axis} must be {dim_str(want)} = {value} "
                             f"(with {_fmt(bindings)}), got {got}")


def _solve_or_eval(expr: sympy.Expr, got: int, bindings: dict[str, int]) -> int:
    """Evaluate ``expr``; if one symbol in it is still unbound, solve ``expr == got`` for it."""
    subs = {s: bindings[s.name] for s in expr.free_symbols if s.name in bindings}
    e = expr.subs(subs)
    free = list(e.free_symbols)
    if not free:
        return int(e)
    if len(free) == 1:
        try:
            sols = [s for s in sympy.solve(sympy.Eq(e, got), free[0]) if s.is_Integer and s > 0]
        except (NotImplementedError, ValueError, TypeError):  # floor() and friends: no solver
            sols = []
        if len(sols) == 1:
            bindings[free[0].name] = int(sols[0])
            return got
    raise InputError(f"cannot determine {', '.join(sorted(s.name for s in free))} from a dim of size {got} "
                     f"({dim_str(expr)}); give it by another input whose dim is the bare symbol")


def output_shape(t: TensorType, bindings: dict[str, int]) -> tuple[int, ...]:
    """The concrete shape of a type once its symbols are bound."""
    return tuple(evaluate_dim(d, bindings) for d in t.shape)


def _shape(t: TensorType) -> str:
    return "[" + ", ".join(dim_str(d) for d in t.shape) + "]"


def _fmt(bindings: dict[str, int]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(bindings.items())) or "no symbols bound"
