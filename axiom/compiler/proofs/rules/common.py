"""Helpers the interval rules share: monotone maps, the dtype of a result, constant operands."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from axiom.compiler.proofs.ibp import BoundsError
from axiom.compiler.proofs.interval import Interval, down, to_dtype, up
from axiom.ir.graph import Node

# The ulps, beyond correct rounding, that a float op's executed result may be off by, for ops computed
# through a polynomial or a libm call (exp, tanh, ...) on any backend. numpy's float32 ufuncs and the
# llvm backend's kernels are tested to a few ulps; this margin is what the proofs assume of them.
TRANSCENDENTAL_ULPS = 8


def result_dtype(node: Node, index: int = 0) -> np.dtype:
    return node.results[index].type.dtype.np_dtype


def in_dtype(fn: Callable[..., np.ndarray], dtype: np.dtype, *args: np.ndarray) -> np.ndarray:
    """``fn`` of float64 bound arrays computed in ``dtype`` (the executed precision) and returned as
    float64: for correctly rounded monotone ops, the op on the bounds bounds the op."""
    with np.errstate(all="ignore"):
        out = fn(*(np.asarray(a).astype(dtype) for a in args))
    return np.asarray(out).astype(np.float64)


def monotone(node: Node, x: Interval, fn: Callable[[np.ndarray], np.ndarray], ulps: int = 0,
             increasing: bool = True) -> Interval:
    """A monotone elementwise op. ``ulps == 0``: ``fn`` is exact or correctly rounded in the result
    dtype (relu, floor, a cast), so it runs in that dtype on the bounds; otherwise it runs in float64,
    one float64 ulp outward, then ``ulps`` ulps of the result dtype outward."""
    dtype = result_dtype(node)
    if ulps == 0:
        a, b = in_dtype(fn, dtype, x.lo), in_dtype(fn, dtype, x.hi)
    else:
        with np.errstate(all="ignore"):
            a, b = to_dtype(down(fn(x.lo)), up(fn(x.hi)), dtype, ulps) if increasing else \
                to_dtype(down(fn(x.hi)), up(fn(x.lo)), dtype, ulps)
        return Interval.of(a, b, x.nan | np.isnan(a) | np.isnan(b))
    lo, hi = (a, b) if increasing else (b, a)
    return Interval.of(np.where(np.isnan(lo), -np.inf, lo), np.where(np.isnan(hi), np.inf, hi),
                       x.nan | np.isnan(a) | np.isnan(b))


def require_exact(node: Node, ins: Sequence[Interval], positions: Sequence[int], what: str) -> None:
    """Raise unless the inputs at ``positions`` (weights, indices) are known exactly."""
    for i in positions:
        if not ins[i].exact:
            raise BoundsError(f"{node.op.name}: the {what} (input {i}) must be constant to bound the result")


def move(node: Node, ins: Sequence[Interval], data: Sequence[int], attrs) -> list[Interval]:  # noqa: ANN001
    """An op that only moves, copies or selects elements of its ``data`` inputs (every other input must
    be exact, such as gather's indices): the op on the lower bounds, the upper bounds and the NaN
    masks."""
    require_exact(node, ins, [i for i in range(len(ins)) if i not in data], "index or shape operand")
    args = range(len(ins))

    def run(pick: Callable[[Interval], np.ndarray]) -> list[np.ndarray]:
        vals = [pick(iv) if i in data else iv.lo.astype(v.type.dtype.np_dtype)
                for i, iv, v in zip(args, ins, node.inputs, strict=True)]
        return [np.asarray(o) for o in node.op.evaluate(vals, attrs)]

    los, his = run(lambda iv: iv.lo), run(lambda iv: iv.hi)
    nans = run(lambda iv: iv.nan.astype(np.float64))
    return [Interval.of(lo, hi, nan > 0.5) for lo, hi, nan in zip(los, his, nans, strict=True)]
