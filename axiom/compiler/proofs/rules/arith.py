"""Interval rules of exact and correctly rounded arithmetic: add, sub, mul, div, min/max, clamps,
selections, casts, rounding to integers.

IEEE add, sub, mul and div round correctly, and rounding is monotone, so the op computed in the
result dtype on the right corners of the input bounds bounds the executed op: no margin is needed.
Integer results are computed exactly in float64; a result that may leave its dtype's range (and
wrap) takes the whole range.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np

from axiom.compiler.proofs.ibp import interval_rule
from axiom.compiler.proofs.interval import Interval
from axiom.compiler.proofs.rules.common import in_dtype, monotone, result_dtype
from axiom.ir.graph import Node

INF = np.inf


def finish(node: Node, lo: np.ndarray, hi: np.ndarray, nan: np.ndarray) -> Interval:
    """Bounds in the result dtype: NaN corners widen to infinity; integers that may wrap take the
    dtype's whole range."""
    dtype = result_dtype(node)
    lo = np.where(np.isnan(lo), -INF, lo)
    hi = np.where(np.isnan(hi), INF, hi)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        wraps = (lo < info.min) | (hi > info.max) | nan
        lo, hi = np.where(wraps, info.min, lo), np.where(wraps, info.max, hi)
        nan = np.zeros_like(wraps)
    elif dtype.kind == "b":
        lo, hi, nan = np.clip(lo, 0, 1), np.clip(hi, 0, 1), np.zeros_like(nan)
    return Interval.of(lo, hi, nan)


def _exec(node: Node) -> Callable[..., np.ndarray]:
    """Compute a binary op's corners in its result dtype (float) or exactly in float64 (integers)."""
    dtype = result_dtype(node)
    if dtype.kind == "f":
        return lambda fn, a, b: in_dtype(fn, dtype, a, b)

    def exact(fn, a, b):  # noqa: ANN001, ANN202
        with np.errstate(all="ignore"):
            return fn(a, b)
    return exact


@interval_rule("add")
def _add(node: Node, ins: Sequence[Interval], attrs) -> list[Interval]:  # noqa: ANN001
    a, b = ins
    run = _exec(node)
    nan = a.nan | b.nan | ((a.hi == INF) & (b.lo == -INF)) | ((a.lo == -INF) & (b.hi == INF))
    return [finish(node, run(np.add, a.lo, b.lo), run(np.add, a.hi, b.hi), nan)]


@interval_rule("sub")
def _sub(node: Node, ins: Sequence[Interval], attrs) -> list[Interval]:  # noqa: ANN001
    a, b = ins
    run = _exec(node)
    nan = a.nan | b.nan | ((a.hi == INF) & (b.hi == INF)) | ((a.lo == -INF) & (b.lo == -INF))
    return [finish(node, run(np.subtract, a.lo, b.hi), run(np.subtract, a.hi, b.lo), nan)]


def _corners(run: Callable[..., np.ndarray], fn: Callable[..., np.ndarray], a: Interval,
             b: Interval) -> tuple[np.ndarray, np.ndarray]:
    """Min and max of ``fn`` over the four corners, NaN corners (0 * inf, inf / inf) left out: the
    values next to such a corner are covered by the others."""
    c = np.stack(np.broadcast_arrays(run(fn, a.lo, b.lo), run(fn, a.lo, b.hi), run(fn, a.hi, b.lo),
                                     run(fn, a.hi, b.hi)))
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices: left NaN, finish() widens them
        return np.nanmin(c, axis=0), np.nanmax(c, axis=0)


def _may_be_zero(x: Interval) -> np.ndarray:
    return (x.lo <= 0) & (x.hi >= 0)


def _may_be_inf(x: Interval) -> np.ndarray:
    return (x.lo == -INF) | (x.hi == INF)


@interval_rule("mul")
def _mul(node: Node, ins: Sequence[Interval], attrs) -> list[Interval]:  # noqa: ANN001
    a, b = ins
    lo, hi = _corners(_exec(node), np.multiply, a, b)
    nan = a.nan | b.nan | (_may_be_zero(a) & _may_be_inf(b)) | (_may_be_inf(a) & _may_be_zero(b))
    return [finish(node, lo, hi, nan)]


@interval_rule("div")
def _div(node: Node, ins: Sequence[Interval], attrs) -> list[Interval]:  # noqa: ANN001
    """A divisor that may be 0 gives any value (integer division by 0 is left to the whole range)."""
    a, b = ins
    lo, hi = _corners(_exec(node), np.floor_divide if result_dtype(node).kind in "iu" else np.divide, a, b)
    zero = _may_be_zero(b)
    lo, hi = np.where(zero, -INF, lo), np.where(zero, INF, hi)
    nan = a.nan | b.nan | (zero & _may_be_zero(a)) | (_may_be_inf(a) & _may_be_inf(b))
    if result_dtype(node).kind in "iu":
        nan = nan | zero  # finish() turns it into the dtype's range
    return [finish(node, lo, hi, nan)]


@interval_rule("neg")
def _neg(node: Node, ins: Sequence[Interval], attrs) -> list[Interval]:  # noqa: ANN001
    x = ins[0]
    return [finish(node, -x.hi, -x.lo, x.nan)]


@interval_rule("abs")
def _abs(node: Node, ins: Sequence[Interval], attrs) -> list[Interval]:  # noqa: ANN001
    x = ins[0]
    lo = np.where(_may_be_zero(x), 0.0, np.minimum(np.abs(x.lo), np.abs(x.hi)))
    return [finish(node, lo, x.magnitude, x.nan)]


@interval_rule("maximum", "minimum")
def _max_min(node: Node, ins: Sequence[Interval], attrs) -> list[Interval]:  # noqa: ANN001
    a, b = ins
    fn = np.maximum if node.op.name == "maximum" else np.minimum
    return [finish(node, fn(a.lo, b.lo), fn(a.hi, b.hi), a.nan | b.nan)]


@interval_rule("relu", "floor", "ceil", "round", "sign", "clip")
def _monotone_exact(node: Node, ins: Sequence[Interval], attrs) -> list[Interval]:  # noqa: ANN001
    return [monotone(node, ins[0], lambda v: node.op.evaluate([v], attrs)[0])]


@interval_rule("leaky_relu")
def _leaky_relu(node: Node, ins: Sequence[Interval], attrs) -> list[Interval]:  # noqa: ANN001
    """Monotone for alpha >= 0; otherwise its least value is at 0, which the bounds then include."""
    x = ins[0]
    fn = lambda v: node.op.evaluate([v], attrs)[0]  # noqa: E731
    if attrs["alpha"] >= 0:
        return [monotone(node, x, fn)]
    ends = np.stack([in_dtype(fn, result_dtype(node), e) for e in (x.lo, x.hi)])
    lo = np.where(_may_be_zero(x), 0.0, ends.min(axis=0))
    return [Interval.of(lo, ends.max(axis=0), x.nan)]


@interval_rule("where")
def _where(node: Node, ins: Sequence[Interval], attrs) -> list[Interval]:  # noqa: ANN001
    c, a, b = ins
    surely, never = c.lo >= 1, c.hi <= 0
    lo = np.where(surely, a.lo, np.where(never, b.lo, np.minimum(a.lo, b.lo)))
    hi = np.where(surely, a.hi, np.where(never, b.hi, np.maximum(a.hi, b.hi)))
    nan = np.where(surely, a.nan, np.where(never, b.nan, a.nan | b.nan))
    return [finish(node, lo, hi, nan)]


@interval_rule("cast")
def _cast(node: Node, ins: Sequence[Interval], attrs) -> list[Interval]:  # noqa: ANN001
    """To a float or integer dtype a cast is monotone (rounding, or truncation toward 0); to bool it is
    ``x != 0``. NaN cast to an integer is undefined: the whole range."""
    x = ins[0]
    dtype = result_dtype(node)
    if dtype.kind == "b":
        nonzero = (x.lo > 0) | (x.hi < 0)
        zero = (x.lo == 0) & (x.hi == 0) & ~x.nan
        return [Interval.of(np.where(nonzero, 1.0, 0.0), np.where(zero, 0.0, 1.0))]
    if dtype.kind == "f":
        return [monotone(node, x, lambda v: v)]
    with np.errstate(invalid="ignore"):
        lo, hi = np.trunc(x.lo), np.trunc(x.hi)
    return [finish(node, lo, hi, x.nan)]
