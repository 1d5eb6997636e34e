"""TensorType: the dtype and (possibly symbolic) shape every IR value carries."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sympy

from axiom.ir.dims import Dim, Truth, as_dim, dim_product, dim_str, dims_equal
from axiom.ir.dtypes import DType, as_dtype


@dataclass(frozen=True)
class TensorType:
    """A tensor's element type and shape; a dim is an int or a sympy expression."""

    dtype: DType
    shape: tuple[Dim, ...]

    def __init__(self, dtype: DType | str, shape: Iterable[object] = ()) -> None:
        object.__setattr__(self, "dtype", as_dtype(dtype))
        object.__setattr__(self, "shape", tuple(as_dim(d) for d in shape))

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def is_static(self) -> bool:
        return all(isinstance(d, int) for d in self.shape)

    @property
    def numel(self) -> Dim:
        return dim_product(self.shape)

    @property
    def symbols(self) -> set[sympy.Symbol]:
        out: set[sympy.Symbol] = set()
        for d in self.shape:
            if not isinstance(d, int):
                out |= d.free_symbols
        return out

    def with_shape(self, shape: Iterable[object]) -> TensorType:
        return TensorType(self.dtype, shape)

    def with_dtype(self, dtype: DType | str) -> TensorType:
        return TensorType(dtype, self.shape)

    def same_as(self, other: TensorType) -> Truth:
        """Proved equal, disproved, or unknown (symbolic dims that may or may not agree)."""
        if self.dtype != other.dtype:
            return Truth.DISPROVED
        return dims_equal(self.shape, other.shape)

    def __str__(self) -> str:
        return f"{self.dtype.name}[{', '.join(dim_str(d) for d in self.shape)}]"

    def __repr__(self) -> str:
        return f"TensorType({self})"
