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
def _bits_dtype(dtype: DType) -> np.dtype:
    return np.dtype(f"u{dtype.itemsize}")


def _float_bits(x: Any, dtype: DType) -> int:
    return int(np.asarray(x, dtype=dtype.np_dtype).view(_bits_dtype(dtype)))


def _shortest(x: Any, dtype: DType) -> str:
    if dtype.bits == 64:
        return repr(float(x))
    if dtype == bf16:  # every bf16 is an f32; f32's shortest text is short enough
        return str(np.float32(x))
    return str(x)


def float_bits_from_text(text: str, dtype: DType) -> int:
    """The bits of the ``dtype`` float spelled ``text`` (a decimal or ``0x`` bits)."""
    if HEX_RE.fullmatch(text):
        bits = int(text, 16)
        if bits >> dtype.bits:
            raise ValueError(f"{text} has more than {dtype.bits} bits")
        return bits
    value = classify_scalar(text)
    if value is None or isinstance(value, bool):
        raise ValueError(text)
    with np.errstate(all="ignore"):
        return _float_bits(np.asarray(float(value)).astype(dtype.np_dtype), dtype)


def format_element(x: Any, dtype: DType) -> str:
    """One element of dense data, spelled so that it parses back bit for bit."""
    if dtype.is_bool:
        return "true" if x else "false"
    if dtype.is_int:
        return str(int(x))
    text = _shortest(x, dtype)
    bits = _float_bits(x, dtype)
    if NUMBER_RE.fullmatch(text) and float_bits_from_text(text, dtype) == bits:
        return text
    return f"0x{bits:0{dtype.bits // 4}X}"


def format_dense(array: np.ndarray, dtype: DType) -> str:
    """Nested-list text of ``array`` (a bare scalar for rank 0)."""
    if array.ndim == 0:
        return format_element(array[()], dtype)
    return "[" + ", ".join(format_dense(sub, dtype) for sub in array) + "]"


def element_from_text(text: str, dtype: DType) -> Any:
    """Parse one dense element for ``dtype``: bits (floats), a Python int or a bool."""
    if dtype.is_bool:
        if text not in ("true", "false"):
            raise ValueError(f"expected true or false for a bool element, got {text!r}")
        return text == "true"
    if dtype.is_float:
        return float_bits_from_text(text, dtype)
    if re.fullmatch(r"[+-]?\d+", text) is None:
        raise ValueError(f"expected an integer element for {dtype.name}, got {text!r}")
    value = int(text)
    info = np.iinfo(dtype.np_dtype)
    if not info.min <= value <= info.max:
        raise ValueError(f"{value} is out of range for {dtype.name} [{info.min}, {info.max}]")
    return value


def array_from_elements(elements: list[Any], dtype: DType, shape: tuple[int, ...]) -> np.ndarray:
    """Build the array from parsed elements (:func:`element_from_text` results)."""
    if dtype.is_float:
        bits = np.array(elements, dtype=_bits_dtype(dtype))
        return bits.view(dtype.np_dtype).reshape(shape)
    return np.array(elements, dtype=dtype.np_dtype).reshape(shape)
