"""ONNX export of the indexing ops (axiom/ir/ops/indexing.py).

Each maps to its ONNX op, except cumprod below opset 26 (which has no CumProd): there it is a
ReduceProd over a masked [.., n, n, ..] copy of the input, which needs a static axis.
"""

from __future__ import annotations

import numpy as np

from axiom.frontends.onnx.export_ops import exporter
from axiom.ir.errors import UnsupportedError


@exporter("gather_elements")
def _gather_elements(ctx, node, ins, problems):  # noqa: ANN001, ANN202
    return ctx.add("GatherElements", ins, axis=node.attrs.axis)


@exporter("scatter_elements")
def _scatter_elements(ctx, node, ins, problems):  # noqa: ANN001, ANN202
    return ctx.add("ScatterElements", ins, axis=node.attrs.axis, reduction=node.attrs.reduction)


@exporter("gather_nd")
def _gather_nd(ctx, node, ins, problems):  # noqa: ANN001, ANN202
    return ctx.add("GatherND", ins, batch_dims=node.attrs.batch_dims)


@exporter("scatter_nd")
def _scatter_nd(ctx, node, ins, problems):  # noqa: ANN001, ANN202
    return ctx.add("ScatterND", ins, reduction=node.attrs.reduction)


@exporter("cumsum")
def _cumsum(ctx, node, ins, problems):  # noqa: ANN001, ANN202
    a = node.attrs
    axis = ctx.const(np.asarray(a.axis, np.int64), base="axis")
    return ctx.add("CumSum", [ins[0], axis], exclusive=int(a.exclusive), reverse=int(a.reverse))


@exporter("cumprod")
def _cumprod(ctx, node, ins, problems):  # noqa: ANN001, ANN202
    a, x = node.attrs, node.inputs[0]
    if ctx.opset >= 26:
        axis = ctx.const(np.asarray(a.axis, np.int64), base="axis")
        return ctx.add("CumProd", [ins[0], axis], exclusive=int(a.exclusive), reverse=int(a.reverse))
    axis = a.axis % x.rank
    n = x.shape[axis]
    if not isinstance(n, int):
        raise UnsupportedError(f"cumprod along the symbolic axis {axis} of {x.type} needs opset >= 26")
    # out[.., i, ..] = prod over j of (mask[i, j] ? x[.., j, ..] : 1), x unsqueezed to [.., 1, n, ..].
    i, j = np.arange(n)[:, None], np.arange(n)[None, :]
    mask = {(False, False): j <= i, (True, False): j < i, (False, True): j >= i, (True, True): j > i}
    keep = mask[(a.exclusive, a.reverse)].reshape((n, n) + (1,) * (x.rank - axis - 1))
    wide = ctx.add1("Unsqueeze", [ins[0], ctx.ints([axis])])
    picked = ctx.add1("Where", [ctx.const(keep), wide, ctx.scalar(1, x.dtype)])
    return ctx.add("ReduceProd", [picked, ctx.ints([axis + 1])], keepdims=0)


@exporter("topk")
def _topk(ctx, node, ins, problems):  # noqa: ANN001, ANN202
    a = node.attrs
    return ctx.add("TopK", [ins[0], ctx.ints([a.k])], outputs=2, axis=a.axis, largest=int(a.largest),
                   sorted=int(a.sorted))


@exporter("trilu")
def _trilu(ctx, node, ins, problems):  # noqa: ANN001, ANN202
    k = ctx.const(np.asarray(node.attrs.k, np.int64), base="k")
    return ctx.add("Trilu", [ins[0], k], upper=int(node.attrs.upper))
