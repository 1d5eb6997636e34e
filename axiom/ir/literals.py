"""Literals of the IR text form: names, attribute values, and dense constant data.

The printer and the parser share these so that every literal parses back to the value it
came from; float data that no decimal spelling restores bit for bit (NaN payloads, a
rounding corner) is written as the hex of its bits, e.g. ``0x7FC00001``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import sympy

from axiom.ir.dims import dim_str
from axiom.ir.dtypes import DType, bf16

IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
VALUE_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*|[0-9]+")
NUMBER_RE = re.compile(r"[+-]?(?:inf|nan|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)")
HEX_RE = re.compile(r"0x[0-9A-Fa-f]+")
KEYWORDS = {"true": True, "false": False, "none": None}


def is_ident(text: str) -> bool:
    return IDENT_RE.fullmatch(text) is not None


def format_symbol_name(name: str) -> str:
    """A graph or property name: bare when it is an identifier, else a JSON string."""
    return name if is_ident(name) else json.dumps(name)


def format_float(x: float) -> str:
    """Python's shortest round-trip repr (``1.0``, ``1e-05``, ``inf``, ``-0.0``, ``nan``)."""
    return repr(float(x))


def format_literal(v: Any, fallback: Callable[[Any], str] | None = None) -> str:
    """The text of an attribute or property parameter value.

    ``fallback`` renders a value of no known kind (the verifier shows broken graphs with it);
    without one such a value is a TypeError.
    """
    if v is None:
        return "none"
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return format_float(float(v))
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, DType):
        return v.name
    if isinstance(v, sympy.Expr):
        return dim_str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(format_literal(x, fallback) for x in v) + "]"
    if fallback is not None:
        return fallback(v)
    raise TypeError(f"cannot print attribute value {v!r} ({type(v).__name__}): use int, float, bool, "
                    "str, dtype, dim, None or a list of those")


def classify_scalar(text: str) -> Any:
    """A bare (unquoted, unbracketed) literal: keyword, int or float; ValueError otherwise."""
    if text in KEYWORDS:
        return KEYWORDS[text]
    if NUMBER_RE.fullmatch(text) is None:
        raise ValueError(text)
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    return float(text)


# ---- dense data -----------------------------------------------------------------------------
INT_RE = re.compile(r"[+-]?\d+")


class ElementError(ValueError):
    """A dense element that does not parse; ``index`` is its position in the flat data."""

    def __init__(self, index: int, message: str) -> None:
        super().__init__(message)
        self.index = index


def _bits_dtype(dtype: DType) -> np.dtype:
    return np.dtype(f"u{dtype.itemsize}")


def _decimal_texts(flat: np.ndarray, dtype: DType) -> list[str]:
    """Shortest round-trip decimals (f64: Python's repr; bf16: the text of its f32 value)."""
    if dtype.bits == 64:
        return [repr(x) for x in flat.tolist()]
    if dtype == bf16:
        flat = flat.astype(np.float32)
    return [str(x) for x in flat]


def _from_float64(values: np.ndarray, dtype: DType) -> np.ndarray:
    """Round float64 values to ``dtype`` and return their bits (the parser's one conversion)."""
    with np.errstate(all="ignore"):
        return values.astype(dtype.np_dtype).view(_bits_dtype(dtype))


def element_texts(flat: np.ndarray, dtype: DType) -> list[str]:
    """Each element of a 1-D array, spelled so that it parses back bit for bit: a decimal when
    that restores the bits, else the hex of the bits (NaN payloads, ``-nan``)."""
    if dtype.is_bool:
        return ["true" if x else "false" for x in flat.tolist()]
    if dtype.is_int:
        return [str(x) for x in flat.tolist()]
    texts = _decimal_texts(flat, dtype)
    ok = np.array([NUMBER_RE.fullmatch(t) is not None for t in texts], dtype=bool)
    values = np.array([float(t) if good else 0.0 for t, good in zip(texts, ok, strict=True)])
    bits = flat.view(_bits_dtype(dtype))
    width = dtype.bits // 4
    for i in np.flatnonzero(~ok | (_from_float64(values, dtype) != bits)).tolist():
        texts[i] = f"0x{int(bits[i]):0{width}X}"
    return texts


def format_dense(array: np.ndarray, dtype: DType) -> str:
    """Nested-list text of ``array``, nested like its shape (a bare element for rank 0)."""
    arr = np.asarray(array)
    texts = iter(element_texts(arr.reshape(-1), dtype))

    def nest(depth: int) -> str:
        if depth == arr.ndim:
            return next(texts)
        return "[" + ", ".join(nest(depth + 1) for _ in range(arr.shape[depth])) + "]"

    return nest(0)


def array_from_texts(texts: list[str], dtype: DType, shape: tuple[int, ...]) -> np.ndarray:
    """Parse dense elements (as :func:`element_texts` writes them) into an array."""
    if dtype.is_float:
        return _floats_from_texts(texts, dtype).view(dtype.np_dtype).reshape(shape)
    if dtype.is_bool:
        for i, t in enumerate(texts):
            if t not in ("true", "false"):
                raise ElementError(i, f"expected true or false for a bool element, got {t!r}")
        return np.array([t == "true" for t in texts], dtype=np.bool_).reshape(shape)
    info = np.iinfo(dtype.np_dtype)
    values = []
    for i, t in enumerate(texts):
        if INT_RE.fullmatch(t) is None:
            raise ElementError(i, f"expected an integer element for {dtype.name}, got {t!r}")
        v = int(t)
        if not info.min <= v <= info.max:
            raise ElementError(i, f"{v} is out of range for {dtype.name} [{info.min}, {info.max}]")
        values.append(v)
    return np.array(values, dtype=dtype.np_dtype).reshape(shape)


def _floats_from_texts(texts: list[str], dtype: DType) -> np.ndarray:
    values = np.zeros(len(texts))
    hexes: dict[int, int] = {}
    for i, t in enumerate(texts):
        if NUMBER_RE.fullmatch(t):
            values[i] = float(t)
        elif HEX_RE.fullmatch(t) and not int(t, 16) >> dtype.bits:
            hexes[i] = int(t, 16)
        else:
            raise ElementError(i, f"expected a decimal or the {dtype.bits}-bit hex pattern (0x...) of "
                               f"an {dtype.name} element, got {t!r}")
    bits = _from_float64(values, dtype).copy()
    for i, b in hexes.items():
        bits[i] = b
    return bits
