"""The traced Tensor of the DSL, and the ``Tensor[f32, "N", 784]`` annotation.

Inside an ``@axiom.model`` function every tensor is a :class:`Tensor`: an IR Value plus the
trace that builds it. Python operators and methods append typed nodes to the model's graph.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from axiom.ir.dims import Dim, as_dim, dim_str
from axiom.ir.dtypes import DType, as_dtype
from axiom.ir.graph import Value
from axiom.ir.types import TensorType

if TYPE_CHECKING:
    from axiom.frontends.dsl.trace import Trace


class TensorSpec:
    """A declared tensor type, written ``Tensor[f32, "N", 784]`` (a dim: int, symbol or expression)."""

    __slots__ = ("type",)

    def __init__(self, type: TensorType) -> None:
        self.type = type

    @staticmethod
    def parse(params: Any) -> TensorSpec:
        """Read the subscript of ``Tensor[...]``: a dtype, then dims (or one sequence of dims)."""
        items = params if isinstance(params, tuple) else (params,)
        try:
            dtype = as_dtype(items[0])
        except (ValueError, TypeError):
            raise TypeError(f"Tensor[...] starts with a dtype (f32, 'i64', ...), got {items[0]!r}; "
                            'write e.g. Tensor[f32, "N", 784]') from None
        dims = items[1:]
        if len(dims) == 1 and isinstance(dims[0], (list, tuple)):
            dims = tuple(dims[0])
        try:
            return TensorSpec(TensorType(dtype, [as_dim(d) for d in dims]))
        except (ValueError, TypeError) as exc:
            raise TypeError(f"bad dimension in Tensor[{', '.join(map(str, items))}]: {exc}") from None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TensorSpec) and self.type == other.type

    def __hash__(self) -> int:
        return hash(self.type)

    def __repr__(self) -> str:
        dims = "".join(f", {dim_str(d)}" for d in self.type.shape)
        return f"Tensor[{self.type.dtype.name}{dims}]"


class Tensor:
    """A tensor being traced: an IR Value and the trace it belongs to.

    Operators map to ops (``+`` add, ``@`` matmul, ``<`` less, ``&`` logical_and, ...); Python
    scalars and numpy arrays become constants of the tensor's dtype; ``x | layer`` applies a layer.
    """

    __slots__ = ("value", "trace")
    __array_ufunc__ = None  # make numpy defer to our reflected operators

    def __init__(self, value: Value, trace: Trace) -> None:
        self.value = value
        self.trace = trace

    def __class_getitem__(cls, params: Any) -> TensorSpec:
        return TensorSpec.parse(params)

    # ---- type ---------------------------------------------------------------------------
    @property
    def type(self) -> TensorType:
        return self.value.type

    @property
    def shape(self) -> tuple[Dim, ...]:
        """The dims: ints and sympy expressions over named symbols (``N``, ``H//2``)."""
        return self.value.type.shape

    @property
    def dtype(self) -> DType:
        return self.value.type.dtype

    @property
    def ndim(self) -> int:
        return self.value.type.rank

    def __repr__(self) -> str:
        return f"Tensor({self.type})"

    def __bool__(self) -> bool:
        raise TypeError(f"the truth value of a traced {self.type} is not known while tracing; "
                        "use ops.where(cond, a, b) instead of Python if/and/or")

    def __len__(self) -> int:
        if not self.shape or not isinstance(self.shape[0], int):
            raise TypeError(f"len() of {self.type} is not a fixed int; use .shape[0]")
        return self.shape[0]

    def __iter__(self) -> Any:
        raise TypeError(f"cannot iterate over a traced {self.type}; use ops.split or indexing")

    __hash__ = object.__hash__  # == builds an op, so identity hashing is kept explicitly

    # ---- arithmetic ---------------------------------------------------------------------
    def _op(self, name: str, *inputs: Any, **attrs: Any) -> Any:
        return self.trace.emit(name, *inputs, like=self.dtype, **attrs)

    def __add__(self, o: Any) -> Tensor: return self._op("add", self, o)
    def __radd__(self, o: Any) -> Tensor: return self._op("add", o, self)
    def __sub__(self, o: Any) -> Tensor: return self._op("sub", self, o)
    def __rsub__(self, o: Any) -> Tensor: return self._op("sub", o, self)
    def __mul__(self, o: Any) -> Tensor: return self._op("mul", self, o)
    def __rmul__(self, o: Any) -> Tensor: return self._op("mul", o, self)
    def __truediv__(self, o: Any) -> Tensor: return self._true_div(self, o)
    def __rtruediv__(self, o: Any) -> Tensor: return self._true_div(o, self)

    def _true_div(self, a: Any, b: Any) -> Tensor:
        """``/`` is true division, as in Python, numpy and torch: on integer tensors, which
        would truncate, it is an error rather than a silently different answer."""
        if not self.dtype.is_float:
            raise self.trace.error(f"'/' on a {self.type} tensor: Python's '/' is true division, but an "
                                   "integer div truncates; use ops.div(x, y) for truncating division, or "
                                   ".astype(f32) first for a float result")
        return self._op("div", a, b)
    def __pow__(self, o: Any) -> Tensor: return self._op("pow", self, o)
    def __rpow__(self, o: Any) -> Tensor: return self._op("pow", o, self)
    def __matmul__(self, o: Any) -> Tensor: return self._op("matmul", self, o)
    def __rmatmul__(self, o: Any) -> Tensor: return self._op("matmul", o, self)
    def __neg__(self) -> Tensor: return self._op("neg", self)
    def __pos__(self) -> Tensor: return self
    def __abs__(self) -> Tensor: return self._op("abs", self)

    # ---- comparisons and logic ----------------------------------------------------------
    def __lt__(self, o: Any) -> Tensor: return self._op("less", self, o)
    def __le__(self, o: Any) -> Tensor: return self._op("less_equal", self, o)
    def __gt__(self, o: Any) -> Tensor: return self._op("greater", self, o)
    def __ge__(self, o: Any) -> Tensor: return self._op("greater_equal", self, o)
    def __eq__(self, o: Any) -> Tensor: return self._op("equal", self, o)  # type: ignore[override]
    def __ne__(self, o: Any) -> Tensor: return self._op("not_equal", self, o)  # type: ignore[override]
    def __and__(self, o: Any) -> Tensor: return self._op("logical_and", self, o)
    def __rand__(self, o: Any) -> Tensor: return self._op("logical_and", o, self)
    def __xor__(self, o: Any) -> Tensor: return self._op("logical_xor", self, o)
    def __rxor__(self, o: Any) -> Tensor: return self._op("logical_xor", o, self)
    def __invert__(self) -> Tensor: return self._op("logical_not", self)

    def __or__(self, o: Any) -> Tensor:
        """``x | layer`` applies the layer (any callable); ``x | y`` on bool tensors is logical_or."""
        if isinstance(o, (Tensor, bool, np.ndarray, np.bool_)):
            return self._op("logical_or", self, o)
        if callable(o):
            return o(self)
        return NotImplemented

    def __ror__(self, o: Any) -> Tensor:
        if callable(o):
            raise TypeError(f"{o!r} | tensor: a pipeline reads left to right, write tensor | {o!r}")
        return self._op("logical_or", o, self)

    # ---- methods ------------------------------------------------------------------------
    def astype(self, dtype: DType | str) -> Tensor:
        """This tensor converted to ``dtype`` (the ``cast`` op; a no-op when it already is)."""
        to = as_dtype(dtype)
        return self if to == self.dtype else self._op("cast", self, to=to)

    def reshape(self, *shape: Any) -> Tensor:
        """Reshape to ``shape`` (varargs or one sequence); one dim may be -1."""
        from axiom.frontends.dsl import functional

        return functional.reshape(self, _varargs(shape))

    def transpose(self, *perm: int) -> Tensor:
        """numpy semantics: no argument reverses the axes, else ``perm`` is the new axis order."""
        from axiom.frontends.dsl import functional

        return functional.transpose(self, _varargs(perm) if perm else None)

    def permute(self, *perm: int) -> Tensor:
        """The axes in the order ``perm`` (PyTorch's name for :meth:`transpose` with a perm)."""
        return self.transpose(*perm)

    @property
    def T(self) -> Tensor:  # noqa: N802 - numpy's name
        """The transpose of a 2-D tensor."""
        if self.ndim != 2:
            raise self.trace.error(f".T needs a 2-D tensor, got {self.type}; use .transpose(perm)")
        return self.transpose()

    def flatten(self, axis: int = 1) -> Tensor:
        from axiom.frontends.dsl import functional

        return functional.flatten(self, axis)

    def sum(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        return self._reduce("sum", axis, keepdims)

    def mean(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        return self._reduce("mean", axis, keepdims)

    def max(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        return self._reduce("max", axis, keepdims)

    def min(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        return self._reduce("min", axis, keepdims)

    def _reduce(self, op: str, axis: int | Sequence[int] | None, keepdims: bool) -> Tensor:
        return self._op(op, self, axes=axes_attr(axis), keepdims=keepdims)

    def __getitem__(self, index: Any) -> Tensor:
        """Basic indexing: ints, slices, ``...`` and ``None`` (slice, squeeze and unsqueeze ops)."""
        from axiom.frontends.dsl.indexing import getitem

        return getitem(self, index)


def axes_attr(axis: int | Sequence[int] | None) -> tuple[int, ...] | None:
    """An ``axis`` argument (None, int or sequence) as the ``axes`` attribute."""
    if axis is None:
        return None
    if isinstance(axis, (int, np.integer)):
        return (int(axis),)
    return tuple(int(a) for a in axis)


def _varargs(items: tuple[Any, ...]) -> list[Any]:
    """``f(1, 2)`` and ``f((1, 2))`` both as ``[1, 2]``."""
    if len(items) == 1 and isinstance(items[0], (list, tuple)):
        return list(items[0])
    return list(items)
