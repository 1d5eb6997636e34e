"""Element types of the IR and their numpy mapping.

bf16 maps to ``ml_dtypes.bfloat16`` (numpy has no native bfloat16).
"""

from __future__ import annotations

from dataclasses import dataclass

import ml_dtypes
import numpy as np


@dataclass(frozen=True)
class DType:
    """One element type: its IR name, numpy dtype and kind."""

    name: str
    np_dtype: np.dtype
    kind: str  # "float", "int", "uint", "bool"
    bits: int

    @property
    def is_float(self) -> bool:
        return self.kind == "float"

    @property
    def is_int(self) -> bool:
        return self.kind in ("int", "uint")

    @property
    def is_bool(self) -> bool:
        return self.kind == "bool"

    @property
    def itemsize(self) -> int:
        return max(1, self.bits // 8)

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"axiom.{self.name}"


f16 = DType("f16", np.dtype(np.float16), "float", 16)
bf16 = DType("bf16", np.dtype(ml_dtypes.bfloat16), "float", 16)
f32 = DType("f32", np.dtype(np.float32), "float", 32)
f64 = DType("f64", np.dtype(np.float64), "float", 64)
i8 = DType("i8", np.dtype(np.int8), "int", 8)
u8 = DType("u8", np.dtype(np.uint8), "uint", 8)
i16 = DType("i16", np.dtype(np.int16), "int", 16)
u16 = DType("u16", np.dtype(np.uint16), "uint", 16)
i32 = DType("i32", np.dtype(np.int32), "int", 32)
u32 = DType("u32", np.dtype(np.uint32), "uint", 32)
i64 = DType("i64", np.dtype(np.int64), "int", 64)
u64 = DType("u64", np.dtype(np.uint64), "uint", 64)
boolean = DType("bool", np.dtype(np.bool_), "bool", 8)

ALL_DTYPES: tuple[DType, ...] = (f16, bf16, f32, f64, i8, u8, i16, u16, i32, u32, i64, u64, boolean)
_BY_NAME = {d.name: d for d in ALL_DTYPES}
_BY_NP = {d.np_dtype: d for d in ALL_DTYPES}


def dtype_from_name(name: str) -> DType:
    """The DType called ``name`` (``"f32"``, ``"bool"``, ...)."""
    try:
        return _BY_NAME[name]
    except KeyError:
        known = ", ".join(_BY_NAME)
        raise ValueError(f"unknown dtype {name!r}; known dtypes: {known}") from None


def dtype_from_numpy(dt: object) -> DType:
    """The DType of a numpy dtype (or anything ``np.dtype`` accepts)."""
    npdt = np.dtype(dt)  # type: ignore[call-overload]
    try:
        return _BY_NP[npdt]
    except KeyError:
        raise ValueError(f"numpy dtype {npdt} has no Axiom dtype") from None


def as_dtype(d: DType | str | object) -> DType:
    """Coerce a DType, its name, or a numpy dtype into a DType."""
    if isinstance(d, DType):
        return d
    if isinstance(d, str) and d in _BY_NAME:
        return _BY_NAME[d]
    if isinstance(d, str) and np.dtype(d).name != d:
        # numpy reads one-letter codes too ("N" is uint64): a string must name the dtype in full.
        raise ValueError(f"unknown dtype {d!r}; known dtypes: {', '.join(_BY_NAME)}")
    return dtype_from_numpy(d)
