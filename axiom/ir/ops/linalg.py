"""Linear algebra: matmul (numpy semantics) and linear (PyTorch's ``x @ w.T + bias``).

Both operands share one dtype; contracted dims must be proved equal, so a symbolic inner dim
on one side and a constant on the other is an error rather than a guess.
"""

from __future__ import annotations

import numpy as np

from axiom.ir.dims import Dim, dim_eq, dim_str
from axiom.ir.errors import ShapeError
from axiom.ir.ops.common import (
    apply_in,
    at_compute_precision,
    broadcast_shapes,
    defop,
    require_kind,
    require_same_dtype,
)
from axiom.ir.types import TensorType

NUMERIC = ("float", "int", "uint")


def _require_equal(op: str, a: Dim, b: Dim, what: str, types: tuple[TensorType, ...], hint: str) -> None:
    """Raise a ShapeError naming ``types`` unless ``a == b`` is proved."""
    t = dim_eq(a, b)
    if t.proved:
        return
    why = "differ" if t.disproved else "cannot be proved equal"
    shown = " and ".join(str(x) for x in types)
    raise ShapeError(f"{op}: {what} {dim_str(a)} and {dim_str(b)} {why} ({shown}); hint: {hint}")


def matmul_shape(op: str, a: TensorType, b: TensorType) -> tuple[Dim, ...]:
    """The result shape of ``a @ b`` under numpy's rules (1-D operands, broadcast batch dims)."""
    if a.rank == 0 or b.rank == 0:
        raise ShapeError(f"{op}: operands must have rank >= 1, got {a} and {b}; "
                         "hint: use mul for a scalar factor")
    a_shape = (1, *a.shape) if a.rank == 1 else a.shape
    b_shape = (*b.shape, 1) if b.rank == 1 else b.shape
    _require_equal(op, a_shape[-1], b_shape[-2], "inner dims", (a, b),
                   "the last dim of the left operand must equal the second-to-last of the right")
    try:
        batch = broadcast_shapes(op, a_shape[:-2], b_shape[:-2])
    except ShapeError:
        raise ShapeError(f"{op}: batch dims of {a} and {b} do not broadcast; hint: leading dims "
                         "must be equal or 1") from None
    out = list(batch)
    if a.rank > 1:
        out.append(a_shape[-2])
    if b.rank > 1:
        out.append(b_shape[-1])
    return tuple(out)


def _matmul_infer(inputs, attrs):  # noqa: ANN001, ANN202
    a, b = inputs
    dt = require_same_dtype("matmul", inputs)
    require_kind("matmul", a, *NUMERIC)
    return [TensorType(dt, matmul_shape("matmul", a, b))]


def _matmul_reference(inputs, attrs):  # noqa: ANN001, ANN202
    a, b = inputs
    return apply_in(np.matmul, a.dtype, a, b)


defop("matmul", _matmul_infer, _matmul_reference, inputs=(2, 2),
      doc="Matrix product with numpy semantics: 1-D operands and broadcast batch dims.")


# ---- linear -------------------------------------------------------------------------------
def _linear_infer(inputs, attrs):  # noqa: ANN001, ANN202
    x, w = inputs[0], inputs[1]
    dt = require_same_dtype("linear", inputs)
    require_kind("linear", x, "float")
    if x.rank < 1 or w.rank != 2:
        raise ShapeError(f"linear: needs x of rank >= 1 and a weight [out, in], got {x} and {w}; "
                         "hint: the weight follows PyTorch's [out_features, in_features] layout")
    _require_equal("linear", x.shape[-1], w.shape[1], "in_features", (x, w),
                   "the last dim of x must equal the second dim of the weight [out, in]")
    if len(inputs) == 3:
        bias = inputs[2]
        if bias.rank != 1:
            raise ShapeError(f"linear: bias must be 1-D [out], got {bias} for weight {w}")
        _require_equal("linear", bias.shape[0], w.shape[0], "bias size and out_features", (bias, w),
                       "the bias has one entry per output feature")
    return [TensorType(dt, (*x.shape[:-1], w.shape[0]))]


def _linear_reference(inputs, attrs):  # noqa: ANN001, ANN202
    def fn(x: np.ndarray, w: np.ndarray, *bias: np.ndarray) -> np.ndarray:
        y = np.matmul(x, w.T)
        return y + bias[0] if bias else y

    return apply_in(fn, inputs[0].dtype, *inputs)


def _linear_decompose(b, inputs, attrs):  # noqa: ANN001, ANN202
    x, w = inputs[0], inputs[1]
    y = b.op("matmul", x, b.op("transpose", w, perm=(1, 0)))
    if len(inputs) == 3:
        y = b.op("add", y, inputs[2])
    return [y]


_linear_decompose_in_f32 = at_compute_precision(_linear_decompose)


def _decompose_linear(b, inputs, attrs):  # noqa: ANN001, ANN202
    """Without a bias the matmul rounds once, as the reference does; with one, the reference adds
    it before rounding, so half-precision operands go through f32."""
    return (_linear_decompose if len(inputs) == 2 else _linear_decompose_in_f32)(b, inputs, attrs)


defop("linear", _linear_infer, _linear_reference, inputs=(2, 3), decompose=_decompose_linear,
      doc="y = x @ w^T + bias, with w laid out [out_features, in_features] as in PyTorch.")
