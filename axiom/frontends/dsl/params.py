"""Parameter initialisers (PyTorch's defaults), per-parameter seeding, and .npz save/load.

Each parameter draws from its own RNG seeded by (model seed, parameter name), so adding a
layer never changes the initial values of the others.
"""

from __future__ import annotations

import math
import os
import zlib
from collections.abc import Callable, Mapping

import ml_dtypes
import numpy as np

from axiom.frontends.dsl.locations import ParamError

_BF16 = np.dtype(ml_dtypes.bfloat16)
_BF16_KEY = "__axiom_bf16__"  # names of arrays stored as their uint16 bits (npz has no bfloat16)


def rng_for(seed: int, name: str) -> np.random.Generator:
    """The RNG of parameter ``name`` in a model seeded with ``seed``."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def uniform(bound: float) -> Callable[[np.random.Generator, tuple[int, ...]], np.ndarray]:
    """U(-bound, bound): with bound 1/sqrt(fan_in) this is PyTorch's default for Linear/Conv
    weights (kaiming_uniform with a=sqrt(5)) and biases."""
    return lambda rng, shape: rng.uniform(-bound, bound, size=shape)


def kaiming_uniform(fan_in: int) -> Callable[[np.random.Generator, tuple[int, ...]], np.ndarray]:
    return uniform(1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0)


def normal(std: float = 1.0) -> Callable[[np.random.Generator, tuple[int, ...]], np.ndarray]:
    """N(0, std^2): PyTorch's default for Embedding."""
    return lambda rng, shape: rng.normal(0.0, std, size=shape)


def ones(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return np.ones(shape)


def zeros(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return np.zeros(shape)


def save_params(params: Mapping[str, np.ndarray], path: str | os.PathLike[str]) -> None:
    """Write ``params`` to an .npz file (bf16 arrays keep their dtype through a bit view)."""
    arrays: dict[str, np.ndarray] = {}
    bf16: list[str] = []
    for name, arr in params.items():
        if name == _BF16_KEY:
            raise ParamError(f"{_BF16_KEY!r} is reserved in parameter files")
        a = np.asarray(arr)
        if a.dtype == _BF16:
            bf16.append(name)
            a = a.view(np.uint16)
        arrays[name] = a
    if bf16:
        arrays[_BF16_KEY] = np.array(bf16)
    np.savez(path, **arrays)


def load_params(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Read a parameter dict written by :func:`save_params` (or any .npz of arrays)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            out = {k: data[k] for k in data.files}
    except (OSError, ValueError) as exc:
        raise ParamError(f"cannot read parameters from {os.fspath(path)!r}: {exc}") from None
    for name in out.pop(_BF16_KEY, np.array([], dtype=str)).tolist():
        out[name] = out[name].view(_BF16)
    return out
