"""ONNX export of resize and transposed convolution."""

from __future__ import annotations

import math

import numpy as np

from axiom.frontends.onnx.export_ops import exporter
from axiom.ir.errors import UnsupportedError


def _resize_size_input(ctx, node) -> tuple[str, str]:  # noqa: ANN001
    """("scales" or "sizes", its initializer): the input that gives ONNX both our output shape and our
    coordinate scales (scales when floor(in * scale) is the output, sizes when out / in is the scale)."""
    a, shape = node.attrs, node.inputs[0].shape
    if all(isinstance(d, int) for d in shape) and all(s == o / d for d, s, o in zip(shape, a.scales, a.sizes,
                                                                                    strict=True)):
        return "sizes", ctx.ints(list(a.sizes))
    if all(s == 1.0 or (isinstance(d, int) and math.floor(d * float(np.float32(s))) == o)
           for d, s, o in zip(shape, a.scales, a.sizes, strict=True)):
        return "scales", ctx.const(list(a.scales), "float32")
    raise UnsupportedError(f"resize: scales {list(a.scales)} and sizes {list(a.sizes)} of input "
                           f"{node.inputs[0].type} are not expressible as one ONNX Resize")


def _nearest_mode(node) -> str:  # noqa: ANN001
    mode = node.attrs.nearest_mode
    if mode != "simple":
        return mode
    scales = [s for s in node.attrs.scales if s != 1.0]
    if all(s > 1.0 for s in scales):
        return "floor"
    if all(s < 1.0 for s in scales):
        return "ceil"
    raise UnsupportedError("resize: nearest_mode 'simple' with both up- and downsampled axes has no "
                           "ONNX form")


@exporter("resize")
def _resize(ctx, node, ins, problems):  # noqa: ANN001, ANN202
    a = node.attrs
    kind, given = _resize_size_input(ctx, node)
    roi = "" if a.roi is None else ctx.const(list(a.roi), "float32")
    operands = [ins[0], roi, given, ""] if kind == "scales" else [ins[0], roi, "", given]
    return ctx.add("Resize", operands, mode=a.mode,
                   coordinate_transformation_mode=a.coordinate_transformation_mode,
                   nearest_mode=_nearest_mode(node), cubic_coeff_a=a.cubic_coeff_a,
                   exclude_outside=int(a.exclude_outside), extrapolation_value=a.extrapolation_value,
                   antialias=int(a.antialias))


@exporter("conv_transpose")
def _conv_transpose(ctx, node, ins, problems):  # noqa: ANN001, ANN202
    from axiom.ir.ops.conv_transpose import window

    d = node.inputs[0].rank - 2
    stride, padding, dilation, output_padding = window(node.attrs, d)
    return ctx.add("ConvTranspose", ins, strides=list(stride), pads=list(padding), dilations=list(dilation),
                   output_padding=list(output_padding), group=node.attrs.groups,
                   kernel_shape=list(node.inputs[1].shape[2:]))
