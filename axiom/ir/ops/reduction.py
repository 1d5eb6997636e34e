"""Reductions: sum, mean, max, min, prod over a set of axes, and argmax/argmin along one.

``axes=None`` reduces every axis and ``axes=()`` reduces none (numpy's convention); negative
axes count from the end. Results keep the input dtype (integer sums wrap, as in numpy), except
argmax/argmin, which give i64 indices. Half-precision floats reduce in f32 and round back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from axiom.ir.dims import Dim, dim_product
from axiom.ir.dtypes import i64
from axiom.ir.errors import ShapeError
from axiom.ir.opdef import AttrSpec
from axiom.ir.ops.common import apply_in, at_compute_precision, compute_dtype, defop, require_kind
from axiom.ir.types import TensorType

NUMERIC = ("float", "int", "uint")
ORDERED = ("float", "int", "uint", "bool")


def normalize_axes(op: str, t: TensorType, axes: Sequence[int] | None) -> tuple[int, ...]:
    """The sorted non-negative axes of ``t`` named by ``axes`` (None: all); a ShapeError names
    an axis out of range or given twice."""
    if axes is None:
        return tuple(range(t.rank))
    out: list[int] = []
    for a in axes:
        if not -t.rank <= a < t.rank:
            raise ShapeError(f"{op}: axis {a} is out of range for {t} (rank {t.rank}); "
                             f"hint: axes lie in [{-t.rank}, {t.rank})")
        a %= t.rank
        if a in out:
            raise ShapeError(f"{op}: axis {a} is given twice in axes={tuple(axes)} for {t}; "
                             "hint: list each axis once")
        out.append(a)
    return tuple(sorted(out))


def reduced_shape(shape: Sequence[Dim], axes: Sequence[int], keepdims: bool) -> tuple[Dim, ...]:
    """``shape`` with ``axes`` removed, or set to 1 when ``keepdims``."""
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


REDUCE_ATTRS = {
    "axes": AttrSpec("ints", None, optional=True, doc="axes to reduce; None: all of them"),
    "keepdims": AttrSpec("bool", False, doc="keep reduced axes as size-1 dims"),
}


def _reduce(name: str, fn: Callable[..., np.ndarray], kinds: tuple[str, ...], decompose=None,  # noqa: ANN001
            doc: str = "") -> None:
    def infer(inputs, a):  # noqa: ANN001, ANN202
        x = inputs[0]
        require_kind(name, x, *kinds)
        axes = normalize_axes(name, x, a.axes)
        return [x.with_shape(reduced_shape(x.shape, axes, a.keepdims))]

    def reference(inputs, a):  # noqa: ANN001, ANN202
        x = inputs[0]
        axes = tuple(range(x.ndim)) if a.axes is None else tuple(ax % max(x.ndim, 1) for ax in a.axes)
        return apply_in(lambda v: fn(v, axis=axes, keepdims=a.keepdims), x.dtype, x)

    defop(name, infer, reference, attrs=dict(REDUCE_ATTRS), decompose=decompose,
          traits=("reduction",), doc=doc)


def _extreme(fn: Callable[..., np.ndarray], lowest: bool) -> Callable[..., np.ndarray]:
    """max (or min) whose value over an empty axis is its identity: the dtype's lowest (highest) value,
    -inf (+inf) for floats, False (True) for bool, as ONNX's ReduceMax/ReduceMin define it."""

    def reduce(v: np.ndarray, axis: tuple[int, ...], keepdims: bool) -> np.ndarray:
        if v.dtype == np.bool_:
            initial = not lowest
        elif v.dtype.kind == "f":
            initial = -np.inf if lowest else np.inf
        else:
            initial = np.iinfo(v.dtype).min if lowest else np.iinfo(v.dtype).max
        return fn(v, axis=axis, keepdims=keepdims, initial=initial)

    return reduce


def _mean(v: np.ndarray, axis: tuple[int, ...], keepdims: bool) -> np.ndarray:
    return np.mean(v, axis=axis, keepdims=keepdims, dtype=v.dtype)


def reduced_count(b, x, axes: Sequence[int], keepdims: bool):  # noqa: ANN001, ANN201 - Builder, Value
    """How many elements of x the ``axes`` reduce over, in x's dtype: a scalar constant when
    those dims are static, else the sum of ``x ** 0`` (ones, even for NaN and inf) over them."""
    count = dim_product(x.shape[i] for i in axes)
    if isinstance(count, int):
        return b.constant(np.array(count, x.dtype.np_dtype))
    ones = b.op("pow", x, b.constant(np.zeros((), x.dtype.np_dtype)))
    return b.op("sum", ones, axes=axes, keepdims=keepdims)


@at_compute_precision
def _decompose_mean(b, inputs, attrs):  # noqa: ANN001, ANN202
    x = inputs[0]
    axes = normalize_axes("mean", x.type, attrs.axes)
    total = b.op("sum", x, axes=axes, keepdims=attrs.keepdims)
    return [b.op("div", total, reduced_count(b, x, axes, attrs.keepdims))]


_reduce("sum", np.sum, NUMERIC, doc="Sum over axes (integers wrap in their own dtype).")
_reduce("mean", _mean, ("float",), decompose=_decompose_mean, doc="Arithmetic mean over axes.")
_reduce("max", _extreme(np.max, True), ORDERED,
        doc="Largest element over axes; NaN propagates; over an empty axis, the dtype's lowest value.")
_reduce("min", _extreme(np.min, False), ORDERED,
        doc="Smallest element over axes; NaN propagates; over an empty axis, the dtype's highest value.")
_reduce("prod", np.prod, NUMERIC, doc="Product over axes.")


# ---- argmax / argmin ----------------------------------------------------------------------
def _arg(name: str, fn: Callable[..., np.ndarray]) -> None:
    def infer(inputs, a):  # noqa: ANN001, ANN202
        x = inputs[0]
        require_kind(name, x, *ORDERED)
        if x.rank == 0:
            raise ShapeError(f"{name}: needs a tensor of rank >= 1, got {x}; hint: reshape it to [1]")
        (axis,) = normalize_axes(name, x, [a.axis])
        return [TensorType(i64, reduced_shape(x.shape, [axis], a.keepdims))]

    def reference(inputs, a):  # noqa: ANN001, ANN202
        x = inputs[0]
        x = x.astype(compute_dtype(x.dtype), copy=False)
        axis = a.axis % x.ndim
        if not a.select_last_index:
            return fn(x, axis=axis, keepdims=a.keepdims).astype(np.int64)
        # The last extreme is the first one of the reversed axis, counted back from the end.
        idx = fn(np.flip(x, axis), axis=axis, keepdims=a.keepdims)
        return (x.shape[axis] - 1 - idx).astype(np.int64)

    defop(name, infer, reference, traits=("reduction",),
          attrs={"axis": AttrSpec("int", 0), "keepdims": AttrSpec("bool", False),
                 "select_last_index": AttrSpec("bool", False, doc="on ties, the last index")},
          doc=f"Index (i64) of the {name[3:]}imum along axis; the first one on ties unless "
              "select_last_index.")


_arg("argmax", np.argmax)
_arg("argmin", np.argmin)

