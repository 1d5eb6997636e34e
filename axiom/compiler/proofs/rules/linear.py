"""Interval rules of linear ops: products with constant or bounded operands, convolutions, sums,
means, average pooling, cumulative sums, inference batch norm.

Bounds come in centre-radius form, computed in float64: for y = L(x) with constant coefficients,
y lies in L(mid) +- L|.|(rad), where L|.| is L with its coefficients' absolute values. The executed
result is a sum of n rounded products in the result dtype, off from the exact one by at most
gamma_n * L|.|(|x|) in any summation order, with or without FMA (Higham, Accuracy and Stability of
Numerical Algorithms, 3.1); the float64 evaluation's own error is added the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from axiom.compiler.proofs.ibp import interval_rule
from axiom.compiler.proofs.interval import Interval, down, gamma, to_dtype, up
from axiom.compiler.proofs.rules.common import require_exact, result_dtype
from axiom.ir.graph import Node

INF = np.inf


def affine_bounds(node: Node, mid: np.ndarray, rad: np.ndarray, mag: np.ndarray, terms: int,
                  nan: np.ndarray) -> Interval:
    """Bounds of a result whose exact value lies in ``mid +- rad`` and whose executed value sums
    ``terms`` rounded products of total magnitude at most ``mag`` (all float64 arrays)."""
    dtype = result_dtype(node)
    err = (gamma(terms + 1, dtype) + 2 * gamma(terms + 2, np.float64)) * mag
    with np.errstate(invalid="ignore", over="ignore"):
        lo, hi = down(mid - rad - err, 2), up(mid + rad + err, 2)
    unknown = ~np.isfinite(lo) | ~np.isfinite(hi) | np.isnan(mag)
    lo, hi = to_dtype(np.where(unknown, -INF, lo), np.where(unknown, INF, hi), dtype)
    overflow = np.where(np.isnan(mag), True, mag * (1 + 4 * gamma(terms + 2, dtype)) >= np.finfo(dtype).max) \
        if dtype.kind == "f" else np.zeros(mag.shape, bool)
    return Interval.of(lo, hi, nan | unknown | overflow)


def _split(x: Interval) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centre, radius and magnitude of finite bounds (infinite ones give NaN/inf, caught later)."""
    with np.errstate(invalid="ignore", over="ignore"):
        mid = x.lo / 2 + x.hi / 2
        rad = up(x.hi / 2 - x.lo / 2)
    return mid, rad, x.magnitude


def _rows_nan(fn: Callable[[np.ndarray], np.ndarray], nan: np.ndarray) -> np.ndarray:
    """Where a NaN among the summed elements reaches the result (NaN * 0 is NaN)."""
    return fn(nan.astype(np.float64)) > 0


@interval_rule("matmul")
def _matmul(node: Node, ins: Sequence[Interval], attrs) -> list[Interval]:  # noqa: ANN001
    a, b = ins
    return [_product(node, a, b, np.matmul)]


@interval_rule("linear")
def _linear(node: Node, ins: Sequence[Interval], attrs) -> list[Interval]:  # noqa: ANN001
    x, w = ins[0], ins[1]
    wt = w.map(lambda t: np.swapaxes(t, -1, -2))
    bias = ins[2] if len(ins) == 3 else None
    return [_product(node, x, wt, np.matmul, bias)]


def _product(node: Node, a: Interval, b: Interval, prod: Callable[..., np.ndarray],
             bias: Interval | None = None) -> Interval:
    """Rump's centre-radius product: |ma| rb + ra |mb| + ra rb bounds the radius."""
    ma, ra, na = _split(a)
    mb, rb, nb = _split(b)
    with np.errstate(invalid="ignore", over="ignore"):
        mid = prod(ma, mb)
        rad = prod(np.abs(ma), rb) + prod(ra, np.abs(mb)) + prod(ra, rb)
        mag = prod(na, nb)
    terms = a.shape[-1] if a.lo.ndim else 1
    nan = _rows_nan(lambda t: prod(t, np.ones_like(b.lo)), a.nan) \
        | _rows_nan(lambda t: prod(np.ones_like(a.lo), t), b.nan)
    if bias is not None:
        bm, br, bn = _split(bias)
        mid, rad, mag, nan = mid + bm, rad + br, mag + bn, nan | bias.nan
        terms += 1
    return affine_bounds(node, mid, rad, mag, terms, nan)


@interval_rule("conv2d", "conv_transpose")
def _conv(node: Node, ins: Sequence[Interval], attrs) -> list[Interval]:  # noqa: ANN001
    """Linear in x for constant weights: the reference conv on the centre, and with |w| on the radius
    and the magnitude; each output sums at most C_in / groups * kernel products, plus the bias."""
    require_exact(node, ins, range(1, len(ins)), "weight or bias")
    x, w = ins[0], ins[1].lo
    bias = ins[2].lo if len(ins) == 3 else None
    mid, rad, mag = _split(x)

    def conv(t: np.ndarray, ww: np.ndarray, bb: np.ndarray | None = None) -> np.ndarray:
        return np.asarray(node.op.evaluate([t, ww] + ([] if bb is None else [bb]), attrs)[0], np.float64)

    aw = np.abs(w)
    with np.errstate(invalid="ignore", over="ignore"):
        out_mid = conv(mid, w, bias)
        out_rad = conv(rad, aw)
        out_mag = conv(mag, aw, None if bias is None else np.abs(bias))
    nan = conv(x.nan.astype(np.float64), np.ones_like(w)) > 0
    terms = int(np.prod(w.shape[1:])) * (node.attrs["groups"] if node.op.name == "conv_transpose" else 1) + 1
    return [affine_bounds(node, out_mid, out_rad, out_mag, terms, nan)]


@interval_rule("sum", "mean", "avg_pool2d", "global_avg_pool2d", "cumsum")
def _nonnegative_linear(node: Node, ins: Sequence[Interval], attrs) -> list[Interval]:  # noqa: ANN001
    """Ops whose coefficients are all >= 0 (a sum, an average): the op on the centre, the radius and
    the magnitude; the terms per output are the input elements per output element (at most)."""
    x = ins[0]
    mid, rad, mag = _split(x)
    run = lambda t: np.asarray(node.op.evaluate([t], attrs)[0], np.float64)  # noqa: E731
    with np.errstate(invalid="ignore", over="ignore"):
        out_mid, out_rad, out_mag = run(mid), run(rad), run(mag)
    nan = run(x.nan.astype(np.float64)) > 0
    terms = max(1, x.lo.size // max(1, out_mid.size)) if node.op.name != "cumsum" else x.shape[attrs["axis"]]
    if node.op.name == "avg_pool2d":
        terms = int(np.prod(attrs["kernel"]))
    return [affine_bounds(node, out_mid, out_rad, out_mag, terms + 1, nan)]


@interval_rule("batch_norm")
def _batch_norm(node: Node, ins: Sequence[Interval], attrs) -> list[Interval]:  # noqa: ANN001
    """(x - mean) / sqrt(var + eps) * scale + bias with constant statistics: an affine map per channel.
    The executed form (folded into a product and a sum, or step by step) rounds at most six times per
    element, which the margin covers."""
    require_exact(node, ins, range(1, 5), "scale, bias, mean or variance")
    x = ins[0]
    scale, bias, mean, var = (iv.lo for iv in ins[1:])
    axis = 1 if attrs["layout"] == "NCHW" else x.lo.ndim - 1
    shape = [1] * x.lo.ndim
    shape[axis] = -1
    s = (scale / np.sqrt(var + attrs["epsilon"])).reshape(shape)
    m, b = mean.reshape(shape), bias.reshape(shape)
    mid, rad, mag = _split(x)
    with np.errstate(invalid="ignore", over="ignore"):
        out_mid = (mid - m) * s + b
        out_rad = rad * np.abs(s)
        out_mag = (mag + np.abs(m)) * np.abs(s) + np.abs(b)
    return [affine_bounds(node, out_mid, out_rad, out_mag * (1 + 8 * gamma(1, result_dtype(node))), 6, x.nan)]
