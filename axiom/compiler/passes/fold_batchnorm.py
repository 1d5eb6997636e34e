"""fold-batchnorm: fold per-channel affine maps into the conv2d or linear that feeds them.

An inference ``batch_norm`` is ``y * f + t`` per channel, with ``f = scale / sqrt(var + eps)``
and ``t = bias - mean * f``; so is a ``mul`` by a per-channel constant (``t = 0``) and an
``add``/``sub`` of one (``f = +-1``). After ``y = conv2d(x, w, b)`` or ``y = linear(x, w, b)``
with constant ``w`` and ``b`` (or no bias), each of them folds into new weights::

    w' = w * f   (each output channel's filter, or each row of a linear weight)
    b' = b * f + t

The patterns (``batch_norm``, ``mul``, ``add``, ``sub``) run to a fixed point, so a
scale-then-shift chain folds step by step. A fold happens only when:

- the conv/linear result has no other user (nor is a graph output or property argument);
- the other operands are constants, and "per channel": of one value per output channel (or a
  single value) and size 1 on every other axis, so the result type is the conv's own. The
  channel axis is 1 for an NCHW conv2d, the last axis for an NHWC one and for linear; a
  batch_norm folds only when its channel axis is that one: after a conv2d of its own layout,
  after linear on a 2-D ``[N, C]`` result or with ``layout = "NHWC"`` (channels last);
- the folded parameters are exact enough (below).

Rounding: ``w'`` and ``b'`` are computed in f64 from the stored parameters and rounded once to
the model's dtype, so each is the exact value to within half an ulp (in an f64 model, the f64
product is that one rounding). The folded model then differs from the unfolded
one only in where the rounding happens: by a few ulps of the magnitudes the conv sums (in f32
about 1e-6 of them, so an output where those terms cancel sees a larger relative error; the
tests allow 1e-5 relative to the largest output). A fold whose parameters would overflow,
turn NaN or fall into the subnormal range of the dtype (where the unfolded model may still
be accurate) is skipped, with a remark.

Constant-table entries that no node reads after the rewrite (the unfolded weights, and those
of dead const nodes, which the pattern driver erases as it goes) are dropped, so the model
does not carry both copies of its weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import ml_dtypes
import numpy as np

from axiom.compiler.context import PassContext
from axiom.compiler.passbase import Pass, register_pass
from axiom.compiler.rewriter import Pattern, Rewriter, apply_patterns, pattern
from axiom.ir.graph import Graph, Node, Value
from axiom.ir.ops.nn import channel_axis

FOLDABLE = ("conv2d", "linear")


@register_pass
@dataclass(frozen=True)
class FoldBatchNorm(Pass):
    """Fold batch_norm, and mul/add/sub by per-channel constants, into the conv2d/linear before."""

    name = "fold-batchnorm"

    def run(self, graph: Graph, ctx: PassContext) -> bool:
        read_before = _constants_read(graph)
        changed = apply_patterns(graph, fold_patterns(ctx), ctx)
        for name in sorted(read_before - _constants_read(graph)):
            graph.constants.pop(name, None)
        return changed


def fold_patterns(ctx: PassContext | None = None) -> list[Pattern]:
    """The fold patterns; a skipped fold leaves a remark on ``ctx`` when one is given."""

    @pattern("fold-batchnorm", "batch_norm")
    def batch_norm(node: Node, rw: Rewriter) -> Value | None:
        x = node.inputs[0]
        target = _Target.of(rw, x)
        if target is None or target.channel_axis != channel_axis(node.attrs.layout, x.rank):
            return None
        params = [rw.const(v) for v in node.inputs[1:]]
        if any(p is None for p in params):
            return None
        scale, bias, mean, var = (np.asarray(p, np.float64) for p in params)  # type: ignore[arg-type]
        with np.errstate(all="ignore"):
            factor = scale / np.sqrt(var + node.attrs.epsilon)
            shift = bias - mean * factor
        return target.fold(rw, factor, shift, node, ctx)

    @pattern("fold-scale", "mul")
    def scale(node: Node, rw: Rewriter) -> Value | None:
        for y, c in (node.inputs, reversed(node.inputs)):
            target = _Target.of(rw, y)
            factor = target.channel_vector(rw.const(c)) if target is not None else None
            if target is not None and factor is not None:
                return target.fold(rw, factor, np.zeros_like(factor), node, ctx)
        return None

    @pattern("fold-shift", "add", "sub")
    def shift(node: Node, rw: Rewriter) -> Value | None:
        subtract = node.op.name == "sub"
        for k, (y, c) in enumerate((node.inputs, reversed(node.inputs))):
            target = _Target.of(rw, y)
            offset = target.channel_vector(rw.const(c)) if target is not None else None
            if target is None or offset is None:
                continue
            # add: y + c; sub: y - c, or c - y (k == 1) = -y + c
            sign = -1.0 if subtract and k == 1 else 1.0
            return target.fold(rw, np.full_like(offset, sign), -offset if subtract and k == 0 else offset,
                               node, ctx)
        return None

    return [batch_norm, scale, shift]


@dataclass(frozen=True)
class _Target:
    """A conv2d/linear node with constant parameters whose result has exactly one user."""

    node: Node
    weight: np.ndarray
    bias: np.ndarray | None

    @staticmethod
    def of(rw: Rewriter, value: Value) -> _Target | None:
        node = value.producer
        if node is None or node.op.name not in FOLDABLE or not _sole_use(rw.graph, value):
            return None
        weight = rw.const(node.inputs[1])
        bias = rw.const(node.inputs[2]) if len(node.inputs) == 3 else None
        if weight is None or (len(node.inputs) == 3 and bias is None):
            return None
        return _Target(node, weight, bias)

    @property
    def channels(self) -> int:
        return int(self.weight.shape[0])

    @property
    def channel_axis(self) -> int:
        """The axis of the result that holds the output channels."""
        rank = self.node.results[0].rank
        if self.node.op.name == "conv2d":
            return channel_axis(self.node.attrs.layout, rank)
        return rank - 1

    def channel_vector(self, data: np.ndarray | None) -> np.ndarray | None:
        """``data`` as one f64 value per output channel, if it broadcasts only along the channel
        axis (one value per channel, or a single value), else None."""
        result = self.node.results[0].type
        if data is None or data.ndim > result.rank:
            return None
        shape = (1,) * (result.rank - data.ndim) + data.shape
        axis = self.channel_axis
        if any(d != 1 for k, d in enumerate(shape) if k != axis) or shape[axis] not in (1, self.channels):
            return None
        flat = np.asarray(data, np.float64).reshape(-1)
        return np.broadcast_to(flat, (self.channels,)).copy()

    def fold(self, rw: Rewriter, factor: np.ndarray, shift: np.ndarray, at: Node,
             ctx: PassContext | None) -> Value | None:
        """The node rebuilt with ``w * factor`` and ``b * factor + shift``, or None (with a
        remark) when those do not round to finite, normal numbers of the dtype."""
        dtype = self.node.results[0].type.dtype.np_dtype
        w, b = self.node.inputs[1], self.node.inputs[2] if self.bias is not None else None
        old_b = np.zeros(self.channels) if self.bias is None else np.asarray(self.bias, np.float64)
        with np.errstate(all="ignore"):
            new_w = np.asarray(self.weight, np.float64) * factor.reshape(-1, *[1] * (self.weight.ndim - 1))
            new_b = old_b * factor + shift
        rounded = [_round(a, dtype) for a in (new_w, new_b)]
        if rounded[0] is None or rounded[1] is None:
            if ctx is not None:
                ctx.remark(f"did not fold {at.op.name}{_where(at)} into {self.node.op.name}"
                           f"{_where(self.node)}: the folded parameters would overflow, be NaN or "
                           f"lose precision as subnormals in {self.node.results[0].type.dtype}")
            return None
        w_name = _const_name(w)
        if not np.all(factor == 1.0):
            w = rw.b.constant(rounded[0], _folded(w_name))
        if b is None or not (np.all(factor == 1.0) and np.all(shift == 0.0)):
            b = rw.b.constant(rounded[1], _folded(_const_name(b) if b is not None else _bias_name(w_name)))
        x = self.node.inputs[0]
        return rw.b.node(self.node.op, [x, w, b], self.node.attrs, self.node.loc).result


def _round(exact: np.ndarray, dtype: np.dtype) -> np.ndarray | None:
    """``exact`` rounded to ``dtype``, or None unless every value is finite and either an exact
    zero or a normal number there."""
    with np.errstate(all="ignore"):
        rounded = exact.astype(dtype)
        back = rounded.astype(np.float64)
    tiny = float(ml_dtypes.finfo(dtype).tiny)
    ok = np.isfinite(back) & ((exact == 0) | (np.abs(back) >= tiny))
    return rounded if bool(ok.all()) else None


def _sole_use(graph: Graph, value: Value) -> bool:
    """Does exactly one operand slot read ``value``, and no graph output or property?"""
    if len(value.uses) != 1 or any(value is v for v in graph.outputs):
        return False
    return not any(value is v for p in graph.properties for v in p.args)


def _constants_read(graph: Graph) -> set[str]:
    return {n.attrs["name"] for n in graph.nodes if n.op.name == "const"}


def _const_name(value: Value) -> str:
    assert value.producer is not None  # a constant operand (checked by _Target.of)
    return value.producer.attrs["name"]


def _folded(name: str) -> str:
    """``conv1.weight`` -> ``conv1.weight_folded`` (once, however many folds follow)."""
    return name if name.endswith("_folded") else f"{name}_folded"


def _bias_name(weight_name: str) -> str:
    """The name of a bias made for a node that had none: ``conv1.weight`` -> ``conv1.bias``."""
    stem = weight_name.removesuffix("_folded")
    return f"{stem[:-len('weight')]}bias" if stem.endswith("weight") else f"{stem}_bias"


def _where(node: Node) -> str:
    return f" at {node.loc}" if node.loc else ""
