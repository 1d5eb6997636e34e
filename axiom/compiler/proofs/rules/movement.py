"""Interval rules of ops that move, copy or select elements: the op applied to each bound.

Selection by value (max pooling, a max or min reduction, top-k values) is monotone in every element,
so the op on the lower bounds bounds it below and on the upper bounds above; it is exact in any dtype.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from axiom.compiler.proofs.ibp import BoundsError, interval_rule
from axiom.compiler.proofs.interval import Interval
from axiom.compiler.proofs.rules.common import move
from axiom.ir.graph import Node


@interval_rule("reshape", "flatten", "transpose", "squeeze", "unsqueeze", "expand", "slice", "split", "pad",
               "trilu", "dropout", "max_pool2d", "max")
def _elements(node: Node, ins: Sequence[Interval], attrs) -> list[Interval]:  # noqa: ANN001
    return move(node, ins, (0,), attrs)


@interval_rule("min")
def _min(node: Node, ins: Sequence[Interval], attrs) -> list[Interval]:  # noqa: ANN001
    """As the others, but a NaN anywhere in a reduced run makes its minimum NaN: the mask is reduced
    with max (through min of its negation), not min."""
    x = ins[0]
    lo, hi = (np.asarray(node.op.evaluate([a], attrs)[0]) for a in (x.lo, x.hi))
    nan = -np.asarray(node.op.evaluate([-x.nan.astype(np.float64)], attrs)[0]) > 0.5
    return [Interval.of(lo, hi, nan)]


@interval_rule("concat")
def _concat(node: Node, ins: Sequence[Interval], attrs) -> list[Interval]:  # noqa: ANN001
    return move(node, ins, range(len(ins)), attrs)


@interval_rule("gather", "gather_elements", "gather_nd")
def _gather(node: Node, ins: Sequence[Interval], attrs) -> list[Interval]:  # noqa: ANN001
    return move(node, ins, (0,), attrs)


@interval_rule("scatter_elements", "scatter_nd")
def _scatter(node: Node, ins: Sequence[Interval], attrs) -> list[Interval]:  # noqa: ANN001
    if attrs["reduction"] not in ("none", "max", "min"):  # add / mul combine values: not a selection
        raise BoundsError(f"{node.op.name} with reduction {attrs['reduction']!r} has no interval rule "
                         "unless its inputs are constant")
    return move(node, ins, (0, 2), attrs)


@interval_rule("topk")
def _topk(node: Node, ins: Sequence[Interval], attrs) -> list[Interval]:  # noqa: ANN001
    """The k-th largest value is monotone in every element; which index holds it is not known, so the
    indices range over the whole axis."""
    x = ins[0]
    lo = node.op.evaluate([x.lo], attrs)[0]
    hi = node.op.evaluate([x.hi], attrs)[0]
    axis_len = x.shape[attrs["axis"]]
    values = Interval.of(lo, hi, np.broadcast_to(x.nan.any(axis=attrs["axis"], keepdims=True), lo.shape))
    shape = np.shape(lo)
    return [values, Interval.of(np.zeros(shape), np.full(shape, axis_len - 1.0))]
