"""ONNX shape ops (Reshape, Transpose, Flatten, Concat, Squeeze, Unsqueeze) and reductions
(ReduceMean, ReduceSum, ReduceMax); shapes and axes given as inputs must be constants."""

from __future__ import annotations

import sympy

from axiom.frontends.onnx.ops_common import Ctx, converter
from axiom.ir.dims import Dim, as_dim, dim_product
from axiom.ir.graph import Value


def reshape_target(x_shape: tuple[Dim, ...], spec: list[int], allowzero: bool) -> tuple[Dim, ...]:
    """ONNX's target shape with its codes resolved: 0 copies the input dim (unless allowzero),
    -1 takes what is left of the element count. ValueError when the codes are inconsistent."""
    dims: list[Dim | None] = []
    for i, d in enumerate(spec):
        if d == 0 and not allowzero:
            if i >= len(x_shape):
                raise ValueError(f"0 at position {i} copies an input dim the input has not")
            dims.append(x_shape[i])
        elif d == -1:
            dims.append(None)
        elif d < 0:
            raise ValueError(f"dim {d} is neither -1 nor >= 0")
        else:
            dims.append(d)
    holes = dims.count(None)
    if holes > 1:
        raise ValueError("more than one -1")
    if holes == 0:
        return tuple(dims)  # type: ignore[arg-type]
    known = dim_product(d for d in dims if d is not None)
    rest = sympy.sympify(dim_product(x_shape)) / sympy.sympify(known)
    fill = as_dim(int(rest) if rest.is_Integer else rest)
    return tuple(fill if d is None else d for d in dims)


@converter("Reshape", since=5, const_inputs=(1,))
def _reshape(cx: Ctx) -> Value:
    x, spec = cx.input(0), cx.const(1)
    assert spec is not None  # a const input, checked before building
    try:
        # A folded Shape chain gives sympy dims for symbolic ones; they stay dims.
        codes = [v if isinstance(v, sympy.Basic) else int(v) for v in spec.reshape(-1)]
        shape = reshape_target(x.shape, codes, bool(cx.attr("allowzero", 0)))
    except (ValueError, TypeError) as exc:
        raise cx.unsupported(f"cannot reshape {x.type} to {spec.tolist()}: {exc}") from None
    return cx.b.op("reshape", x, shape=shape)


@converter("Transpose", since=1)
def _transpose(cx: Ctx) -> Value:
    perm = cx.attr("perm")
    return cx.b.op("transpose", cx.input(0), perm=None if perm is None else tuple(perm))


@converter("Flatten", since=1)
def _flatten(cx: Ctx) -> Value:
    return cx.b.op("flatten", cx.input(0), axis=int(cx.attr("axis", 1)))


@converter("Concat", since=4)
def _concat(cx: Ctx) -> Value:
    return cx.b.op("concat", *cx.inputs(), axis=int(cx.attr("axis")))


def _axes(cx: Ctx, index: int) -> tuple[int, ...] | None:
    """Axes from the attribute (before the op's opset moved them) or from constant input ``index``."""
    if index < 0:
        axes = cx.attr("axes")
        return None if axes is None else tuple(int(a) for a in axes)
    data = cx.const(index)
    return None if data is None else tuple(int(a) for a in data.reshape(-1))


@converter("Squeeze", since=1, until=12)
def _squeeze_attr(cx: Ctx) -> Value:
    return cx.b.op("squeeze", cx.input(0), axes=_axes(cx, -1))


@converter("Squeeze", since=13, const_inputs=(1,))
def _squeeze_input(cx: Ctx) -> Value:
    return cx.b.op("squeeze", cx.input(0), axes=_axes(cx, 1))


@converter("Unsqueeze", since=1, until=12)
def _unsqueeze_attr(cx: Ctx) -> Value:
    return cx.b.op("unsqueeze", cx.input(0), axes=_axes(cx, -1))


@converter("Unsqueeze", since=13, const_inputs=(1,))
def _unsqueeze_input(cx: Ctx) -> Value:
    return cx.b.op("unsqueeze", cx.input(0), axes=_axes(cx, 1))


# ---- reductions ------------------------------------------------------------------------------
_REDUCE = {"ReduceMean": "mean", "ReduceSum": "sum", "ReduceMax": "max"}


def _reduce(cx: Ctx, axes: tuple[int, ...] | None) -> Value:
    x = cx.input(0)
    if not axes and cx.attr("noop_with_empty_axes", 0):
        return x
    return cx.b.op(_REDUCE[cx.node.op_type], x, axes=axes or None, keepdims=bool(cx.attr("keepdims", 1)))


@converter("ReduceMean", "ReduceMax", since=1, until=17)
@converter("ReduceSum", since=1, until=12)
def _reduce_attr(cx: Ctx) -> Value:
    return _reduce(cx, _axes(cx, -1))


@converter("ReduceMean", "ReduceMax", since=18, const_inputs=(1,))
@converter("ReduceSum", since=13, const_inputs=(1,))
def _reduce_input(cx: Ctx) -> Value:
    return _reduce(cx, _axes(cx, 1))
