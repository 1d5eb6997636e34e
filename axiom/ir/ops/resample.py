"""Resampling ops: resize (nearest, linear, cubic) of an N-d tensor, ONNX Resize's semantics.

The output shape is an attribute (``sizes``), fixed when the graph is built; ``scales`` are the
per-axis factors the coordinate mapping divides by (ONNX uses the given scales, or output/input
sizes when sizes were given, so both are kept). Interpolation is separable: each resized axis is
one [out, in] weight matrix applied in turn, computed in f64 like onnx's reference, and rounded
(saturating, for integers) to the input dtype once.
"""

from __future__ import annotations

import numpy as np

from axiom.ir.dims import dim_eq, dim_str
from axiom.ir.errors import AttributeError_, ShapeError
from axiom.ir.opdef import AttrSpec
from axiom.ir.ops.common import defop, require_kind
from axiom.ir.types import TensorType

MODES = ("nearest", "linear", "cubic")
COORDINATE_MODES = ("half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners",
                    "asymmetric", "tf_crop_and_resize")
NEAREST_MODES = ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil", "simple")


def _check_attrs(x: TensorType, a) -> None:  # noqa: ANN001
    for name, value, allowed in (("mode", a.mode, MODES),
                                 ("coordinate_transformation_mode", a.coordinate_transformation_mode,
                                  COORDINATE_MODES), ("nearest_mode", a.nearest_mode, NEAREST_MODES)):
        if value not in allowed:
            raise AttributeError_(f"resize: {name} must be one of {', '.join(allowed)}, got {value!r}")
    if len(a.sizes) != x.rank or len(a.scales) != x.rank:
        raise ShapeError(f"resize: sizes {[dim_str(d) for d in a.sizes]} and scales {list(a.scales)} must "
                         f"have one entry per axis of {x}")
    if any(s <= 0 for s in a.scales):
        raise AttributeError_(f"resize: scales must be positive, got {list(a.scales)}")
    if a.roi is not None and len(a.roi) != 2 * x.rank:
        raise AttributeError_(f"resize: roi must hold {2 * x.rank} values (starts, then ends), "
                              f"got {list(a.roi)}")
    if a.coordinate_transformation_mode == "tf_crop_and_resize" and a.roi is None:
        raise AttributeError_("resize: coordinate_transformation_mode tf_crop_and_resize needs a roi")
    if a.antialias and a.mode == "nearest":
        raise AttributeError_("resize: antialias applies to linear and cubic modes only")


def _resize_infer(inputs, a):  # noqa: ANN001, ANN202
    x = inputs[0]
    require_kind("resize", x, "float", "int", "uint")
    _check_attrs(x, a)
    for i, (d, out) in enumerate(zip(x.shape, a.sizes, strict=True)):
        if isinstance(out, int) and out < 0:
            raise ShapeError(f"resize: output size {out} of axis {i} is negative (input {x})")
        if not isinstance(out, int) and not (dim_eq(d, out).proved and a.scales[i] == 1.0):
            raise ShapeError(f"resize: a symbolic output size ({dim_str(out)}, axis {i}) must be the input's "
                             f"own dim at scale 1, got input {x}; hint: resize symbolic axes by static sizes")
    return [x.with_shape(a.sizes)]


# ---- the coefficients of one output position: vectorised over the positions of an axis -----
def _nearest(ratio: np.ndarray, scale: float, a) -> np.ndarray:  # noqa: ANN001
    mode = a.nearest_mode
    if mode == "simple":  # Resize-10 / Upsample: floor when upsampling, ceil when downsampling
        mode = "ceil" if scale < 1 else "floor"
    whole = ratio == 1.0
    up = {"round_prefer_floor": ratio > 0.5, "round_prefer_ceil": ratio >= 0.5,
          "floor": np.zeros_like(whole), "ceil": np.ones_like(whole)}[mode] | whole
    return np.stack([~up, up], axis=1).astype(np.float64)


def _linear(ratio: np.ndarray, scale: float, a) -> np.ndarray:  # noqa: ANN001
    if not a.antialias:
        return np.stack([1 - ratio, ratio], axis=1)
    s = min(scale, 1.0)
    start = int(np.floor(-1 / s) + 1)
    taps = np.arange(start, 2 - start, dtype=np.float64)
    c = np.clip(1 - np.abs((taps[None, :] - ratio[:, None]) * s), 0, 1)
    return c / c.sum(axis=1, keepdims=True)


def _cubic_kernel(x: np.ndarray, coeff_a: float) -> np.ndarray:
    x = np.abs(x)
    near = ((coeff_a + 2) * x - (coeff_a + 3)) * x * x + 1
    far = ((coeff_a * x - 5 * coeff_a) * x + 8 * coeff_a) * x - 4 * coeff_a
    return np.where(x <= 1, near, np.where(x < 2, far, 0.0))


def _cubic(ratio: np.ndarray, scale: float, a) -> np.ndarray:  # noqa: ANN001
    if not a.antialias:
        taps = np.array([-1.0, 0.0, 1.0, 2.0])
        return _cubic_kernel(taps[None, :] - ratio[:, None], a.cubic_coeff_a)
    s = min(scale, 1.0)
    start = int(np.floor(-2 / s) + 1)
    taps = np.arange(start, 2 - start, dtype=np.float64)
    c = _cubic_kernel(s * (taps[None, :] - ratio[:, None]), a.cubic_coeff_a)
    return c / c.sum(axis=1, keepdims=True)


_COEFFS = {"nearest": _nearest, "linear": _linear, "cubic": _cubic}


def source_coords(mode: str, out: int, size: int, scale: float, roi: tuple[float, float] | None
                  ) -> np.ndarray:
    """Where each output position of one axis samples the input (ONNX coordinate_transformation_mode)."""
    y = np.arange(out, dtype=np.float64)
    length = scale * size
    if mode == "align_corners":
        return np.zeros(out) if length == 1 else y * (size - 1) / (length - 1)
    if mode == "asymmetric":
        return y / scale
    if mode == "tf_crop_and_resize":
        lo, hi = roi
        if length == 1:
            return np.full(out, (hi - lo) * (size - 1) / 2 + lo * (size - 1))
        return y * (hi - lo) * (size - 1) / (length - 1) + lo * (size - 1)
    if mode == "pytorch_half_pixel":
        return np.full(out, -0.5) if length == 1 else (y + 0.5) / scale - 0.5
    if mode == "half_pixel_symmetric":
        offset = size / 2 * (1 - out / length)
        return offset + (y + 0.5) / scale - 0.5
    return (y + 0.5) / scale - 0.5


def axis_weights(a, size: int, out: int, scale: float, roi: tuple[float, float] | None  # noqa: ANN001
                 ) -> tuple[np.ndarray, np.ndarray | None]:
    """The [out, size] matrix that resizes one axis, and which outputs lie outside a crop's input."""
    x = source_coords(a.coordinate_transformation_mode, out, size, scale, roi)
    base = np.floor(x)
    ratio = np.where(x == base, 1.0, x - base)
    coeffs = _COEFFS[a.mode](ratio, scale, a)
    n = coeffs.shape[1]
    # The n inputs nearest x, ties to the smaller index (onnx's neighbour rule), then edge-clamped.
    pad = -(-n // 2)
    xp = x + pad
    p = np.floor(xp).astype(np.int64)
    if n % 2 == 0:
        start = p + np.where(xp == p, -(n // 2), -(n // 2) + 1)
    else:
        start = p + np.where(xp - p <= 0.5, -((n - 1) // 2), -((n - 1) // 2) + 1)
    idx = start[:, None] + np.arange(n)[None, :] - pad
    if a.exclude_outside:
        coeffs = np.where((idx < 0) | (idx >= size), 0.0, coeffs)
        total = coeffs.sum(axis=1, keepdims=True)
        coeffs = coeffs / np.where(total == 0, 1.0, total)
    w = np.zeros((out, size))
    np.add.at(w, (np.repeat(np.arange(out), n), np.clip(idx, 0, size - 1).reshape(-1)), coeffs.reshape(-1))
    outside = None
    if a.coordinate_transformation_mode == "tf_crop_and_resize":
        outside = (x < 0) | (x > size - 1)
    return w, outside


def _resize_reference(inputs, a):  # noqa: ANN001, ANN202
    x = inputs[0]
    y = x.astype(np.float64)
    rank = x.ndim
    for axis in range(rank):
        size, scale = x.shape[axis], a.scales[axis]
        out = a.sizes[axis] if isinstance(a.sizes[axis], int) else size
        roi = None if a.roi is None else (a.roi[axis], a.roi[axis + rank])
        if np.isclose(scale, 1.0) and out == size and (roi is None or np.allclose(roi, (0.0, 1.0))):
            continue  # identity along this axis
        w, outside = axis_weights(a, size, out, scale, roi)
        y = np.moveaxis(np.tensordot(w, y, axes=([1], [axis])), 0, axis)
        if outside is not None:
            mask = outside.reshape((1,) * axis + (out,) + (1,) * (rank - axis - 1))
            y = np.where(mask, a.extrapolation_value, y)
    if x.dtype.kind in "iu":
        info = np.iinfo(x.dtype)
        return np.clip(np.round(y), info.min, info.max).astype(x.dtype)
    return y.astype(x.dtype)


defop("resize", _resize_infer, _resize_reference,
      attrs={"sizes": AttrSpec("dims", doc="the output shape"),
             "scales": AttrSpec("floats", doc="per-axis factors the coordinate mapping divides by"),
             "mode": AttrSpec("str", "nearest", doc="nearest, linear or cubic"),
             "coordinate_transformation_mode": AttrSpec("str", "half_pixel"),
             "nearest_mode": AttrSpec("str", "round_prefer_floor"),
             "cubic_coeff_a": AttrSpec("float", -0.75),
             "exclude_outside": AttrSpec("bool", False),
             "extrapolation_value": AttrSpec("float", 0.0),
             "antialias": AttrSpec("bool", False),
             "roi": AttrSpec("floats", None, optional=True,
                             doc="crop starts then ends, for tf_crop_and_resize")},
      doc="Resize an N-d tensor to `sizes` by nearest, (multi)linear or cubic interpolation (ONNX Resize).")
