"""Sliding-window geometry shared by conv2d and the 2-D pools: attribute checks, the symbolic
output size of a window sweep, the strided views the numpy references are built from, and the
activation layouts (``layout = "NCHW"`` or ``"NHWC"``) those ops and batch_norm accept.

Padding is ``(top, left, bottom, right)``; a window's extent is ``dilation * (kernel - 1) + 1``.
The window helpers work on NCHW; an NHWC op converts its shape or array to NCHW and back
(``to_nchw`` / ``from_nchw``), so the geometry lives in one place.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import sympy

from axiom.ir.dims import Dim, as_dim, dim_lt, dim_str
from axiom.ir.errors import AttributeError_, ShapeError
from axiom.ir.opdef import AttrSpec

LAYOUTS = ("NCHW", "NHWC")
LAYOUT_ATTR = AttrSpec("str", "NCHW", doc="activation layout: NCHW or NHWC")


def check_layout(op: str, layout: str) -> None:
    """Raise AttributeError_ unless ``layout`` is one of ``LAYOUTS``."""
    if layout not in LAYOUTS:
        raise AttributeError_(f"{op}: layout must be one of {', '.join(LAYOUTS)}, got {layout!r}")


def layout_perm(src: str, dst: str) -> tuple[int, ...]:
    """The transpose perm that turns a tensor laid out as ``src`` into ``dst`` (NCHW -> NHWC is
    ``(0, 2, 3, 1)``): output axis ``i`` reads input axis ``src.index(dst[i])``."""
    return tuple(src.index(axis) for axis in dst)


def to_nchw(shape: Sequence[Dim], layout: str) -> tuple[Dim, ...]:
    """A 4-D shape given in ``layout``, reordered as NCHW."""
    return tuple(shape[i] for i in layout_perm(layout, "NCHW"))


def from_nchw(shape: Sequence[Dim], layout: str) -> tuple[Dim, ...]:
    """A 4-D NCHW shape, reordered as ``layout``."""
    return tuple(shape[i] for i in layout_perm("NCHW", layout))


def array_to_nchw(x: np.ndarray, layout: str) -> np.ndarray:
    """``x`` as a contiguous NCHW array: the NCHW reference then sees the same memory order as
    for an NCHW input, so it sums in the same order and the results agree bit for bit."""
    return x if layout == "NCHW" else np.ascontiguousarray(np.transpose(x, layout_perm(layout, "NCHW")))


def array_from_nchw(x: np.ndarray, layout: str) -> np.ndarray:
    return x if layout == "NCHW" else np.ascontiguousarray(np.transpose(x, layout_perm("NCHW", layout)))


def check_window_attrs(op: str, stride: Sequence[int], padding: Sequence[int],
                       dilation: Sequence[int], kernel: Sequence[int] | None = None) -> None:
    """Raise AttributeError_ unless the window attributes have the right lengths and signs."""
    wants = [("stride", stride, 2, 1), ("padding", padding, 4, 0), ("dilation", dilation, 2, 1)]
    if kernel is not None:
        wants.insert(0, ("kernel", kernel, 2, 1))
    for name, value, length, least in wants:
        if len(value) != length or any(v < least for v in value):
            sign = "positive" if least else "non-negative"
            layout = " as (top, left, bottom, right)" if name == "padding" else " as (h, w)"
            raise AttributeError_(f"{op}: {name} must be {length} {sign} ints{layout}, got {tuple(value)}")


def extent(kernel: Dim, dilation: int) -> Dim:
    """How many input rows one window spans."""
    return as_dim(dilation * (kernel - 1) + 1)


def window_count(op: str, size: Dim, kernel: Dim, stride: int, dilation: int, pad_begin: int,
                 pad_end: int, ceil_mode: bool, where: str) -> Dim:
    """How many windows fit along one axis: ``(size + pads - extent)//stride + 1``.

    In ceil mode a last, partial window is kept when it starts inside the input or its leading
    padding (PyTorch's rule), which is ``(size + pads - extent + min(stride, extent - pad_end) - 1)
    //stride + 1``. PyTorch applies that formula even where no whole window fits in the padded
    input, and so does this one: a ceil-mode sweep is valid when it yields at least one window
    (the first one then starts inside the input or its leading padding and overhangs the end),
    a floor-mode one when one whole window fits. ``where`` names the operand types for the error.
    """
    ext = extent(kernel, dilation)
    room = as_dim(size + pad_begin + pad_end)
    top = room - ext
    if ceil_mode:
        slack = ext - pad_end
        top = top + (stride if isinstance(slack, int) and stride <= slack else sympy.Min(stride, slack)) - 1
    if dim_lt(top, 0).proved:
        fits = ("leaves no window that starts inside it or its leading padding" if ceil_mode
                else "does not fit in")
        raise ShapeError(f"{op}: a window of extent {dim_str(ext)} (kernel {dim_str(kernel)}, dilation "
                         f"{dilation}, stride {stride}) {fits} {dim_str(size)} + padding {pad_begin} + "
                         f"{pad_end} ({where}); hint: pad the input or use a smaller kernel")
    if isinstance(top, int):
        return top // stride + 1
    return as_dim(sympy.floor(top / sympy.Integer(stride)) + 1)


def out_hw(op: str, shape: Sequence[Dim], kernel: Sequence[Dim], stride: Sequence[int],
           padding: Sequence[int], dilation: Sequence[int], ceil_mode: bool, where: str) -> tuple[Dim, Dim]:
    """Output height and width of a window sweep over the last two dims of ``shape``."""
    top, left, bottom, right = padding
    h = window_count(op, shape[-2], kernel[0], stride[0], dilation[0], top, bottom, ceil_mode, where)
    w = window_count(op, shape[-1], kernel[1], stride[1], dilation[1], left, right, ceil_mode, where)
    return h, w


def pad_for_windows(x: np.ndarray, padding: Sequence[int], out: tuple[int, int], kernel: Sequence[int],
                    stride: Sequence[int], dilation: Sequence[int], value: float) -> np.ndarray:
    """``x`` (NCHW) padded with ``value`` by ``padding``, plus whatever rows and columns the last
    ceil-mode windows reach past it, so every window lies inside the result."""
    top, left, bottom, right = padding
    extra = []
    for axis, (o, k, s, d) in enumerate(zip(out, kernel, stride, dilation, strict=True)):
        reach = (o - 1) * s + d * (k - 1) + 1
        have = x.shape[2 + axis] + padding[axis] + padding[axis + 2]
        extra.append(max(0, reach - have))
    widths = ((0, 0), (0, 0), (top, bottom + extra[0]), (left, right + extra[1]))
    return np.pad(x, widths, constant_values=value)


def window_taps(xp: np.ndarray, out: tuple[int, int], kernel: Sequence[int], stride: Sequence[int],
                dilation: Sequence[int]) -> Iterator[np.ndarray]:
    """For each kernel offset (row-major), the [N, C, OH, OW] view of ``xp`` that the offset reads."""
    (oh, ow), (kh, kw), (sh, sw), (dh, dw) = out, kernel, stride, dilation
    for i in range(kh):
        for j in range(kw):
            r, c = i * dh, j * dw
            yield xp[:, :, r:r + sh * (oh - 1) + 1:sh, c:c + sw * (ow - 1) + 1:sw]
