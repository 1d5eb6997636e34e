"""Transposed convolution (the gradient of a convolution with respect to its input), as a forward op,
over 1, 2 or 3 spatial dims: x[N, C, *S], w[C, O/groups, *K], optional bias[O].

Each input element scatters ``x * w`` into the output at ``i * stride + k * dilation``; the full
result has ``(S - 1) * stride + dilation * (K - 1) + 1 + output_padding`` positions per axis, and
``padding`` (all begins, then all ends, as ONNX orders them) crops it.
"""

from __future__ import annotations

import itertools

import numpy as np
import sympy

from axiom.ir.dims import as_dim, dim_eq, dim_lt, dim_str
from axiom.ir.errors import AttributeError_, ShapeError
from axiom.ir.opdef import AttrSpec
from axiom.ir.ops.common import apply_in, defop, require_kind, require_same_dtype
from axiom.ir.types import TensorType


def window(a, d: int) -> tuple[tuple[int, ...], ...]:  # noqa: ANN001
    """(stride, padding, dilation, output_padding) with their defaults filled in for ``d`` spatial dims."""
    return (a.stride or (1,) * d, a.padding or (0,) * (2 * d), a.dilation or (1,) * d,
            a.output_padding or (0,) * d)


def _check(a, d: int) -> None:  # noqa: ANN001
    stride, padding, dilation, output_padding = window(a, d)
    wants = (("stride", stride, d, 1), ("padding", padding, 2 * d, 0), ("dilation", dilation, d, 1),
             ("output_padding", output_padding, d, 0))
    for name, value, length, least in wants:
        if len(value) != length or any(v < least for v in value):
            sign = "positive" if least else "non-negative"
            raise AttributeError_(f"conv_transpose: {name} must be {length} {sign} ints for {d} spatial "
                                  f"dims, got {tuple(value)}")
    if a.groups < 1:
        raise AttributeError_(f"conv_transpose: groups must be >= 1, got {a.groups}")


def _infer(inputs, a):  # noqa: ANN001, ANN202
    x, w = inputs[0], inputs[1]
    dt = require_same_dtype("conv_transpose", inputs)
    require_kind("conv_transpose", x, "float")
    where = f"input {x}, weight {w}"
    if x.rank not in (3, 4, 5) or w.rank != x.rank:
        raise ShapeError(f"conv_transpose: needs input [N, C, *spatial] with 1 to 3 spatial dims and weight "
                         f"[C, O/groups, *kernel] of the same rank, got {where}")
    d = x.rank - 2
    _check(a, d)
    stride, padding, dilation, output_padding = window(a, d)
    if not dim_eq(x.shape[1], w.shape[0]).proved:
        raise ShapeError(f"conv_transpose: input channels {dim_str(x.shape[1])} must equal weight dim 0 "
                         f"({dim_str(w.shape[0])}) ({where}); hint: the weight is [C, O/groups, *kernel]")
    if sympy.Mod(w.shape[0], a.groups) != 0:
        raise ShapeError(f"conv_transpose: input channels {dim_str(w.shape[0])} must be provably divisible "
                         f"by groups {a.groups} ({where})")
    if not all(isinstance(k, int) for k in w.shape[2:]):
        raise ShapeError(f"conv_transpose: the kernel size must be static ({where})")
    o = as_dim(w.shape[1] * a.groups)
    if len(inputs) == 3 and (inputs[2].rank != 1 or not dim_eq(inputs[2].shape[0], o).proved):
        raise ShapeError(f"conv_transpose: bias must be [{dim_str(o)}], got {inputs[2]} ({where})")
    spatial = []
    for i in range(d):
        full = (x.shape[2 + i] - 1) * stride[i] + dilation[i] * (w.shape[2 + i] - 1) + 1 + output_padding[i]
        size = full - padding[i] - padding[d + i]
        if (isinstance(size, int) and size < 1) or dim_lt(as_dim(size), 1).proved:
            raise ShapeError(f"conv_transpose: padding {padding} leaves no output along spatial axis {i} "
                             f"({where})")
        spatial.append(as_dim(size))
    return [TensorType(dt, (x.shape[0], o, *spatial))]


def _reference(inputs, a):  # noqa: ANN001, ANN202
    def fn(x: np.ndarray, w: np.ndarray, *bias: np.ndarray) -> np.ndarray:
        n, c, *sizes = x.shape
        d, g = len(sizes), a.groups
        kernel = w.shape[2:]
        o = w.shape[1] * g
        stride, padding, dilation, output_padding = window(a, d)
        full = [(s - 1) * st + dl * (k - 1) + 1 + op
                for s, st, dl, k, op in zip(sizes, stride, dilation, kernel, output_padding, strict=True)]
        y = np.zeros((n, g, o // g, *full), x.dtype)
        xg = x.reshape(n, g, c // g, *sizes)
        wg = w.reshape(g, c // g, o // g, *kernel)
        for offset in itertools.product(*(range(k) for k in kernel)):
            tap = np.einsum("ngc...,gco->ngo...", xg, wg[(slice(None), slice(None), slice(None), *offset)])
            at = tuple(slice(k * dl, k * dl + st * (s - 1) + 1, st)
                       for k, dl, st, s in zip(offset, dilation, stride, sizes, strict=True))
            y[(slice(None), slice(None), slice(None), *at)] += tap
        y = y.reshape(n, o, *full)
        crop = tuple(slice(padding[i], full[i] - padding[d + i]) for i in range(d))
        y = y[(slice(None), slice(None), *crop)]
        return y + bias[0].reshape(1, o, *(1,) * d) if bias else y

    return apply_in(fn, inputs[0].dtype, *inputs)


defop("conv_transpose", _infer, _reference, inputs=(2, 3),
      attrs={"stride": AttrSpec("ints", None, optional=True, doc="per spatial dim; None: all 1"),
             "padding": AttrSpec("ints", None, optional=True, doc="all begins, then all ends; None: all 0"),
             "dilation": AttrSpec("ints", None, optional=True, doc="per spatial dim; None: all 1"),
             "output_padding": AttrSpec("ints", None, optional=True, doc="extra positions at each axis' end"),
             "groups": AttrSpec("int", 1)},
      doc="Transposed convolution of x[N, C, *S] (1-3 spatial dims) with w[C, O/groups, *K], plus bias[O].")
