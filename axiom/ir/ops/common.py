"""Shared pieces of op definitions: registration, broadcasting, dtype checks."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from axiom.ir.dims import Dim, dim_eq, dim_str
from axiom.ir.dtypes import DType, bf16, f16, f32
from axiom.ir.errors import ShapeError
from axiom.ir.opdef import Attrs, AttrSpec, OpDef, register_op
from axiom.ir.types import TensorType


def defop(name: str, infer: Callable[..., Sequence[TensorType]], reference: Callable[..., Any], *,
          inputs: tuple[int, int | None] = (1, 1), attrs: dict[str, AttrSpec] | None = None,
          results: int | Callable[[Attrs], int] = 1, decompose: Callable[..., Any] | None = None,
          resolve: Callable[..., Attrs] | None = None, traits: Sequence[str] = (), doc: str = "") -> OpDef:
    """Define and register one op."""
    return register_op(OpDef(name=name, infer=infer, reference=reference, min_inputs=inputs[0],
                             max_inputs=inputs[1], attrs=attrs or {}, num_results=results,
                             decompose=decompose, resolve=resolve, traits=frozenset(traits), doc=doc))


def broadcast_shapes(op: str, *shapes: Sequence[Dim]) -> tuple[Dim, ...]:
    """Numpy-style broadcast of symbolic shapes; a pair of dims that cannot be proved
    compatible is an error naming both shapes."""
    rank = max((len(s) for s in shapes), default=0)
    out: list[Dim] = []
    for i in range(rank):
        dim: Dim = 1
        for s in shapes:
            j = i - (rank - len(s))
            if j < 0:
                continue
            d = s[j]
            if d == 1:
                continue
            if dim == 1:
                dim = d
                continue
            t = dim_eq(dim, d)
            if not t.proved:
                shown = " and ".join("[" + ", ".join(dim_str(x) for x in sh) + "]" for sh in shapes)
                why = "differ" if t.disproved else "cannot be proved equal"
                raise ShapeError(f"{op}: shapes {shown} do not broadcast: dims {dim_str(dim)} and "
                                 f"{dim_str(d)} {why}")
        out.append(dim)
    return tuple(out)


def require_same_dtype(op: str, types: Sequence[TensorType]) -> DType:
    dt = types[0].dtype
    for t in types[1:]:
        if t.dtype != dt:
            listed = ", ".join(str(x) for x in types)
            raise ShapeError(f"{op}: operands must have one dtype, got {listed}; insert a cast")
    return dt


def require_kind(op: str, t: TensorType, *kinds: str) -> None:
    if t.dtype.kind not in kinds:
        raise ShapeError(f"{op}: expects a {'/'.join(kinds)} tensor, got {t}")


def compute_dtype(dt: np.dtype) -> np.dtype:
    """Half-precision floats are computed in f32 and rounded back, as PyTorch does."""
    if dt in (f16.np_dtype, bf16.np_dtype):
        return f32.np_dtype
    return dt


def at_compute_precision(decompose: Callable[..., Any]) -> Callable[..., Any]:
    """Run a decomposition at the precision of the op's reference: for f16/bf16 operands it is
    built on f32 casts of them and its results are cast back. The reference (apply_in) computes
    in f32 and rounds once; without the casts every intermediate of the decomposition (a count,
    a sum, exp) would round to half precision, and overflow there."""

    @functools.wraps(decompose)
    def wrapped(b, inputs, attrs):  # noqa: ANN001, ANN202
        dt = inputs[0].dtype
        if dt not in (f16, bf16):
            return decompose(b, inputs, attrs)
        wide = [b.op("cast", v, to=f32) if v.dtype == dt else v for v in inputs]
        return [b.op("cast", r, to=dt) for r in decompose(b, wide, attrs)]

    return wrapped


def apply_in(fn: Callable[..., np.ndarray], out_dtype: np.dtype, *arrays: np.ndarray) -> np.ndarray:
    """Apply ``fn`` at compute precision and cast the result to ``out_dtype``."""
    cast = [a.astype(compute_dtype(a.dtype), copy=False) for a in arrays]
    with np.errstate(all="ignore"):  # the rounding cast may overflow too (f32 -> f16 gives inf)
        return np.asarray(fn(*cast)).astype(out_dtype, copy=False)
