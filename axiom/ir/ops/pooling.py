"""2-D pooling over NCHW (or, with ``layout = "NHWC"``, channels-last) images: max_pool2d,
avg_pool2d and global_avg_pool2d.

Padding is ``(top, left, bottom, right)``; ``stride=None`` means the kernel size. max_pool2d
treats padding as -inf; avg_pool2d divides by the window's real elements, or with
``count_include_pad`` by its elements inside the padded image (PyTorch's rule, also in ceil mode).
Output sizes follow PyTorch in ceil mode too, which keeps a window that overhangs the padded
input when it starts inside the input or its leading padding (see ``conv_shapes.window_count``).
"""

from __future__ import annotations

import functools

import numpy as np

from axiom.ir.errors import ShapeError
from axiom.ir.opdef import AttrSpec
from axiom.ir.ops.common import apply_in, compute_dtype, defop, require_kind
from axiom.ir.ops.conv_shapes import (
    LAYOUT_ATTR,
    array_from_nchw,
    array_to_nchw,
    check_layout,
    check_window_attrs,
    from_nchw,
    out_hw,
    pad_for_windows,
    to_nchw,
    window_taps,
)
from axiom.ir.types import TensorType

NUMERIC = ("float", "int", "uint")


def _require_image(op: str, x: TensorType, layout: str) -> None:
    check_layout(op, layout)
    if x.rank != 4:
        raise ShapeError(f"{op}: needs an {layout} image of rank 4, got {x}; "
                         "hint: add a batch dim with unsqueeze")


def _in_nchw(reference):  # noqa: ANN001, ANN202
    """A pool's NCHW reference made to read and write the node's layout."""

    @functools.wraps(reference)
    def wrapped(inputs, a):  # noqa: ANN001, ANN202
        return array_from_nchw(reference([array_to_nchw(inputs[0], a.layout)], a), a.layout)

    return wrapped


def _stride(a) -> tuple[int, ...]:  # noqa: ANN001
    return a.kernel if a.stride is None else a.stride


def _pool_infer(op: str, kinds: tuple[str, ...]):  # noqa: ANN202
    def infer(inputs, a):  # noqa: ANN001, ANN202
        x = inputs[0]
        require_kind(op, x, *kinds)
        _require_image(op, x, a.layout)
        dilation = a.get("dilation", (1, 1))
        check_window_attrs(op, _stride(a), a.padding, dilation, a.kernel)
        shape = to_nchw(x.shape, a.layout)
        oh, ow = out_hw(op, shape, a.kernel, _stride(a), a.padding, dilation, a.ceil_mode, f"input {x}")
        return [x.with_shape(from_nchw((*shape[:2], oh, ow), a.layout))]

    return infer


def _lowest(dt: np.dtype) -> float | int:
    return -np.inf if dt.kind == "f" else np.iinfo(dt).min


def _max_pool_reference(inputs, a):  # noqa: ANN001, ANN202
    x = inputs[0]
    v = x.astype(compute_dtype(x.dtype), copy=False)
    stride = _stride(a)
    out = out_hw("max_pool2d", v.shape, a.kernel, stride, a.padding, a.dilation, a.ceil_mode, "")
    vp = pad_for_windows(v, a.padding, out, a.kernel, stride, a.dilation, _lowest(v.dtype))
    return functools.reduce(np.maximum, window_taps(vp, out, a.kernel, stride, a.dilation)).astype(x.dtype)


def _avg_pool_reference(inputs, a):  # noqa: ANN001, ANN202
    def fn(x: np.ndarray) -> np.ndarray:
        stride, ones = _stride(a), (1, 1)
        out = out_hw("avg_pool2d", x.shape, a.kernel, stride, a.padding, ones, a.ceil_mode, "")
        xp = pad_for_windows(x, a.padding, out, a.kernel, stride, ones, 0.0)
        total = sum(window_taps(xp, out, a.kernel, stride, ones))
        # The divisor counts the window's cells that hold data (and padding, if asked for).
        mask = np.ones((1, 1, *x.shape[2:]), x.dtype)
        pads = a.padding
        if a.count_include_pad:
            top, left, bottom, right = pads
            mask = np.pad(mask, ((0, 0), (0, 0), (top, bottom), (left, right)), constant_values=1)
            pads = (0, 0, 0, 0)
        mask = pad_for_windows(mask, pads, out, a.kernel, stride, ones, 0.0)
        return total / sum(window_taps(mask, out, a.kernel, stride, ones))

    return apply_in(fn, inputs[0].dtype, inputs[0])


WINDOW = {
    "kernel": AttrSpec("ints", doc="(kh, kw)"),
    "stride": AttrSpec("ints", None, optional=True, doc="(sh, sw); None: the kernel"),
    "padding": AttrSpec("ints", (0, 0, 0, 0), doc="(top, left, bottom, right)"),
    "layout": LAYOUT_ATTR,
}

defop("max_pool2d", _pool_infer("max_pool2d", NUMERIC), _in_nchw(_max_pool_reference),
      attrs={**WINDOW, "dilation": AttrSpec("ints", (1, 1)), "ceil_mode": AttrSpec("bool", False)},
      doc="Largest element of each window; padding counts as -inf.")
defop("avg_pool2d", _pool_infer("avg_pool2d", ("float",)), _in_nchw(_avg_pool_reference),
      attrs={**WINDOW, "ceil_mode": AttrSpec("bool", False),
             "count_include_pad": AttrSpec("bool", False, doc="divide by padded cells too")},
      doc="Mean of each window, over its real cells (or its padded cells with count_include_pad).")


# ---- global_avg_pool2d --------------------------------------------------------------------
def _hw_axes(layout: str) -> tuple[int, int]:
    return (2, 3) if layout == "NCHW" else (1, 2)


def _global_infer(inputs, a):  # noqa: ANN001, ANN202
    x = inputs[0]
    require_kind("global_avg_pool2d", x, "float")
    _require_image("global_avg_pool2d", x, a.layout)
    h, w = _hw_axes(a.layout)
    return [x.with_shape(tuple(1 if i in (h, w) else d for i, d in enumerate(x.shape)))]


defop("global_avg_pool2d", _global_infer,
      lambda i, a: apply_in(lambda v: v.mean(axis=_hw_axes(a.layout), keepdims=True), i[0].dtype, i[0]),
      attrs={"layout": LAYOUT_ATTR},
      decompose=lambda b, inputs, a: [b.op("mean", inputs[0], axes=_hw_axes(a.layout), keepdims=True)],
      doc="Mean over H and W of an image, keeping them as size-1 dims: [N, C, 1, 1] (NHWC: [N, 1, 1, C]).")
