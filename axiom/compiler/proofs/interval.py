"""Boxes of tensor values: elementwise float64 bounds plus a may-be-NaN mask, and the rounding
helpers that keep them sound for the dtype the model computes in.

An ``Interval`` says of every element of a value, for every input in the region: the element is NaN
only where ``nan`` is set, and otherwise lies in ``[lo, hi]`` (which may be infinite). Bounds are
float64 but always describe values of the tensor's own dtype as executed (float32 rounding included),
so a rule widens what it computes in exact arithmetic by the execution's worst rounding error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

INF = np.inf


@dataclass(frozen=True)
class Interval:
    """Elementwise bounds of one tensor value; ``nan`` marks elements that may be NaN."""

    lo: np.ndarray
    hi: np.ndarray
    nan: np.ndarray

    @staticmethod
    def of(lo: np.ndarray, hi: np.ndarray, nan: np.ndarray | bool = False) -> Interval:
        """Bounds from arrays (broadcast to one shape, as float64)."""
        lo, hi = np.broadcast_arrays(np.asarray(lo, np.float64), np.asarray(hi, np.float64))
        nan = np.broadcast_to(np.asarray(nan, bool), lo.shape)
        return Interval(np.array(lo), np.array(hi), np.array(nan))

    @staticmethod
    def point(value: np.ndarray) -> Interval:
        """Exactly ``value`` (a constant); its NaNs stay NaN."""
        v = np.asarray(value)
        if v.dtype.kind not in "fiub":
            raise TypeError(f"no interval for values of dtype {v.dtype}")
        f = v.astype(np.float64)
        isnan = np.isnan(f)
        return Interval.of(np.where(isnan, INF, f), np.where(isnan, -INF, f), isnan)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.lo.shape

    @property
    def exact(self) -> bool:
        """Every element is one known, non-NaN number (a constant)."""
        return not self.nan.any() and bool(np.array_equal(self.lo, self.hi))

    @property
    def magnitude(self) -> np.ndarray:
        """The largest absolute value each element can take (NaN elements excluded)."""
        return np.maximum(np.abs(self.lo), np.abs(self.hi))

    def contains(self, value: np.ndarray) -> np.ndarray:
        """Elementwise: does ``value`` lie within these bounds (a NaN only where ``nan`` allows)?"""
        v = np.asarray(value, np.float64)
        isnan = np.isnan(v)
        return np.where(isnan, self.nan, (self.lo <= v) & (v <= self.hi))

    def map(self, fn) -> Interval:  # noqa: ANN001 - a shape function applied to all three arrays
        """Apply a data-movement function (reshape, transpose, ...) to the three arrays alike."""
        return Interval(np.asarray(fn(self.lo)), np.asarray(fn(self.hi)), np.asarray(fn(self.nan)))


def join(a: Interval, b: Interval) -> Interval:
    """The smallest interval holding both."""
    return Interval.of(np.minimum(a.lo, b.lo), np.maximum(a.hi, b.hi), a.nan | b.nan)


def unit_roundoff(dtype: np.dtype) -> float:
    """Half an ulp of 1 in ``dtype`` (2**-24 for float32); 0 for integer dtypes (exact)."""
    dtype = np.dtype(dtype)
    return float(np.finfo(dtype).eps) / 2 if dtype.kind == "f" else 0.0


def gamma(n: np.ndarray | int, dtype: np.dtype) -> np.ndarray:
    """Higham's gamma_n = n u / (1 - n u): the relative error bound of a sum or dot product of n terms
    in ``dtype`` in any order, with or without FMA; inf when n u >= 1."""
    u = unit_roundoff(dtype)
    nu = np.asarray(n, np.float64) * u
    with np.errstate(divide="ignore"):
        return np.where(nu < 1, nu / np.maximum(1 - nu, 0), INF)


def down(x: np.ndarray, steps: int = 1) -> np.ndarray:
    """``x`` moved ``steps`` float64 ulps toward -inf (for bounds computed in float64)."""
    for _ in range(steps):
        x = np.nextafter(x, -INF)
    return x


def up(x: np.ndarray, steps: int = 1) -> np.ndarray:
    """``x`` moved ``steps`` float64 ulps toward +inf."""
    for _ in range(steps):
        x = np.nextafter(x, INF)
    return x


def to_dtype(lo: np.ndarray, hi: np.ndarray, dtype: np.dtype, ulps: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Float64 bounds of an exact result, as bounds of that result computed in ``dtype`` with at most
    ``ulps`` ulps of error beyond correct rounding: round outward to ``dtype``, then step ``ulps``
    further out. Past the dtype's range the bound becomes infinite (the value may overflow)."""
    dtype = np.dtype(dtype)
    if dtype.kind != "f":  # integer results of float bounds: floor / ceil are safe
        return np.floor(lo), np.ceil(hi)
    with np.errstate(over="ignore", invalid="ignore"):
        lo_t, hi_t = lo.astype(dtype), hi.astype(dtype)
    lo_t = np.where(lo_t.astype(np.float64) > lo, np.nextafter(lo_t, dtype.type(-INF)), lo_t)
    hi_t = np.where(hi_t.astype(np.float64) < hi, np.nextafter(hi_t, dtype.type(INF)), hi_t)
    for _ in range(ulps):
        lo_t, hi_t = np.nextafter(lo_t, dtype.type(-INF)), np.nextafter(hi_t, dtype.type(INF))
    return lo_t.astype(np.float64), hi_t.astype(np.float64)
