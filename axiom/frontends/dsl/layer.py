"""The Layer base class and Sequential: composable objects that map a Tensor to a Tensor.

``layer | layer`` makes a Sequential and ``tensor | layer`` applies one. A layer's parameters
are created in the model being traced, on the layer's first use there, named
``<name or kind_k>.<param>`` (see Trace.param).
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator
from typing import Any

from axiom.frontends.dsl.locations import TraceError, user_site
from axiom.frontends.dsl.tensor import Tensor
from axiom.frontends.dsl.trace import Init
from axiom.ir.dims import Dim, dim_eq, dim_str
from axiom.ir.dtypes import DType, as_dtype, f32
from axiom.ir.errors import ShapeError


class Layer(abc.ABC):
    """A Tensor -> Tensor building block; subclasses implement :meth:`forward`."""

    kind = "layer"  # stem of the automatic parameter prefix: dense_0, conv2d_1, ...

    def __init__(self, name: str | None = None, dtype: DType | str | None = None) -> None:
        if name is not None and (not name or "." in name):
            raise ValueError(f"layer name {name!r} must be non-empty and free of '.'")
        self.name = name
        self.dtype = None if dtype is None else as_dtype(dtype)
        self.defined_at = user_site()

    @abc.abstractmethod
    def forward(self, x: Tensor) -> Tensor:
        """The layer's computation on a traced tensor."""

    def __call__(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor):
            raise TraceError(f"{self!r} takes a traced axiom Tensor (inside an @axiom.model function), "
                             f"got {type(x).__name__}")
        return self.forward(x)

    def __or__(self, other: Callable[[Tensor], Tensor]) -> Sequential:
        if not callable(other):
            return NotImplemented
        more = other.layers if isinstance(other, Sequential) and other.name is None else (other,)
        return Sequential(self, *more)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    # ---- helpers for subclasses ---------------------------------------------------------
    def param(self, x: Tensor, name: str, shape: tuple[int, ...], init: Init) -> Tensor:
        """Parameter ``name`` of this layer in ``x``'s model: the layer's dtype, else x's float dtype."""
        dtype = self.dtype or (x.dtype if x.dtype.is_float else f32)
        return x.trace.param(self, self.kind, self.name, name, shape, dtype, init)

    def error(self, x: Tensor, message: str) -> ShapeError:
        """A ShapeError at the user's line naming this layer (and where it was made, when elsewhere)."""
        made, here = self.defined_at, user_site()
        note = ""
        if made.file is not None and (made.file, made.line) != (here.file, here.line):
            note = f" (layer made at {made.file}:{made.line})"
        return x.trace.error(f"{self!r}{note}: {message}", here)

    def require_rank(self, x: Tensor, rank: int, layout: str) -> None:
        if x.ndim != rank:
            raise self.error(x, f"expects a rank-{rank} {layout} input, got {x.type}")

    def require_dim(self, x: Tensor, axis: int, want: Dim, what: str) -> None:
        """Dim ``axis`` of ``x`` must be proved equal to ``want`` (the layer's own config)."""
        got = x.shape[axis]
        t = dim_eq(got, want)
        if t.proved:
            return
        why = f"got {dim_str(got)}" if t.disproved else f"{dim_str(got)} cannot be proved equal to it"
        raise self.error(x, f"expects {what} {dim_str(want)} (dim {axis} of its input), {why}: "
                            f"input is {x.type}")

    def require_float(self, x: Tensor) -> None:
        if not x.dtype.is_float:
            raise self.error(x, f"expects a float input, got {x.type}; cast it with .astype(f32)")


class Sequential(Layer):
    """Layers (or any Tensor -> Tensor callables) applied in order."""

    def __init__(self, *layers: Callable[[Tensor], Tensor], name: str | None = None) -> None:
        super().__init__(name)
        for i, layer in enumerate(layers):
            if not callable(layer):
                raise TypeError(f"Sequential item {i} is a {type(layer).__name__}, not a layer")
        self.layers: tuple[Callable[[Tensor], Tensor], ...] = tuple(layers)

    def forward(self, x: Tensor) -> Tensor:
        for layer in self.layers:
            x = layer(x)
        return x

    def __or__(self, other: Callable[[Tensor], Tensor]) -> Sequential:
        if not callable(other):
            return NotImplemented
        more = other.layers if isinstance(other, Sequential) and other.name is None else (other,)
        return Sequential(*self.layers, *more)

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Callable[[Tensor], Tensor]]:
        return iter(self.layers)

    def __getitem__(self, i: int) -> Any:
        return self.layers[i]

    def __repr__(self) -> str:
        return f"Sequential({', '.join(repr(la) for la in self.layers)})"


def describe(cls_name: str, *args: Any, **options: Any) -> str:
    """``Name(a, b, key=value)`` listing only the options given (non-default)."""
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in options.items()]
    return f"{cls_name}({', '.join(parts)})"
