"""ONNX converters for spatial ops: Resize/Upsample, ConvTranspose, Einsum, DepthToSpace/SpaceToDepth,
LpPool, CenterCropPad, AffineGrid and the window functions. Sizes, scales, shapes and crops are read
from constant inputs when importing; einsum lowers to transpose/reshape/matmul/mul/sum."""

from __future__ import annotations

import math

import numpy as np
from onnx import NodeProto

from axiom.frontends.onnx.ops_common import Ctx, attr_of, converter
from axiom.ir.dims import dim_product
from axiom.ir.graph import Value

_ONNX_NEAREST = ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")


# ---- Resize, Upsample ---------------------------------------------------------------------------
def _floats(cx: Ctx, i: int) -> list[float] | None:
    data = cx.const(i)
    return None if data is None or data.size == 0 else [float(v) for v in data.reshape(-1)]


def _resize_plan(cx: Ctx, x: Value, scales: list[float] | None, sizes: list[int] | None,
                 axes: list[int]) -> tuple[list, list[float]]:
    """Output shape and per-axis coordinate scales, as onnx's reference computes them."""
    shape, full = list(x.shape), [1.0] * x.rank
    if scales is not None:
        for a, s in zip(axes, scales, strict=True):
            full[a] = s
            if s != 1.0:
                if not isinstance(shape[a], int):
                    raise cx.unsupported(f"scaling symbolic axis {a} of {x.type} by {s}")
                shape[a] = int(shape[a] * s)
        return shape, full
    if any(not isinstance(x.shape[a], int) for a in axes):
        raise cx.unsupported(f"sizes for symbolic axes of {x.type}")
    ratios = [sizes[k] / x.shape[a] for k, a in enumerate(axes)]
    policy = cx.attr("keep_aspect_ratio_policy", "stretch")
    if policy == "stretch":
        for k, a in enumerate(axes):
            shape[a], full[a] = sizes[k], ratios[k]
        return shape, full
    if policy not in ("not_larger", "not_smaller"):
        raise cx.unsupported(f"keep_aspect_ratio_policy {policy!r}")
    scale = min(ratios) if policy == "not_larger" else max(ratios)
    for a in axes:
        shape[a], full[a] = int(scale * x.shape[a] + 0.5), scale
    return shape, full


def _resize(cx: Ctx, scales: list[float] | None, sizes: list[int] | None, roi: list[float] | None,
            coordinate_mode: str, nearest_mode: str) -> Value:
    x = cx.input(0)
    if (scales is None) == (sizes is None):
        raise cx.unsupported("needs exactly one of scales and sizes as a constant")
    axes = [a % x.rank for a in cx.attr("axes", range(x.rank))]
    if len(scales or sizes) != len(axes):
        raise cx.unsupported(f"{len(scales or sizes)} scales/sizes for {len(axes)} axes of {x.type}")
    shape, full = _resize_plan(cx, x, scales, sizes, axes)
    full_roi = None
    if coordinate_mode == "tf_crop_and_resize":
        if roi is None or len(roi) != 2 * len(axes):
            raise cx.unsupported(f"tf_crop_and_resize needs a constant roi of {2 * len(axes)} values")
        full_roi = [0.0] * x.rank + [1.0] * x.rank
        for k, a in enumerate(axes):
            full_roi[a], full_roi[a + x.rank] = roi[k], roi[k + len(axes)]
    mode = cx.attr("mode", "nearest")
    if mode not in ("nearest", "linear", "cubic"):
        raise cx.unsupported(f"mode {mode!r}")
    return cx.b.op("resize", x, sizes=tuple(shape), scales=tuple(full), mode=mode,
                   coordinate_transformation_mode=coordinate_mode, nearest_mode=nearest_mode,
                   cubic_coeff_a=float(cx.attr("cubic_coeff_a", -0.75)),
                   exclude_outside=bool(cx.attr("exclude_outside", 0)),
                   extrapolation_value=float(cx.attr("extrapolation_value", 0.0)),
                   antialias=bool(cx.attr("antialias", 0)) and mode != "nearest", roi=full_roi)


def _resize_check(node: NodeProto, opset: int) -> str | None:
    nearest = attr_of(node, "nearest_mode", "round_prefer_floor")
    return None if nearest in _ONNX_NEAREST else f"nearest_mode {nearest!r}"


@converter("Resize", since=11, const_inputs=(1, 2, 3), check=_resize_check)
def _resize_11(cx: Ctx) -> Value:
    sizes = cx.const(3)
    return _resize(cx, _floats(cx, 2), None if sizes is None or sizes.size == 0 else
                   [int(v) for v in sizes.reshape(-1)], _floats(cx, 1),
                   cx.attr("coordinate_transformation_mode", "half_pixel"),
                   cx.attr("nearest_mode", "round_prefer_floor"))


@converter("Resize", since=10, until=10, const_inputs=(1,))
def _resize_10(cx: Ctx) -> Value:
    """Resize-10 maps coordinates asymmetrically and rounds nearest down (up when downsampling)."""
    return _resize(cx, _floats(cx, 1), None, None, "asymmetric", "simple")


@converter("Upsample", since=9, until=9, const_inputs=(1,))
def _upsample_9(cx: Ctx) -> Value:
    return _resize(cx, _floats(cx, 1), None, None, "asymmetric", "simple")


@converter("Upsample", since=7, until=8)
def _upsample_7(cx: Ctx) -> Value:
    return _resize(cx, [float(s) for s in cx.attr("scales")], None, None, "asymmetric", "simple")


# ---- ConvTranspose ------------------------------------------------------------------------------
def _conv_transpose_pads(cx: Ctx, x: Value, kernel: list[int], stride: list[int], dilation: list[int],
                         output_padding: list[int]) -> tuple[list[int], list[int]]:
    """(pads as begins then ends, output_padding): explicit pads, or the ones auto_pad / output_shape imply
    (onnx's rule; a negative end pad, which grows the output, becomes output padding)."""
    d = len(kernel)
    auto_pad = cx.attr("auto_pad", "NOTSET")
    output_shape = cx.attr("output_shape")
    if output_shape is None and auto_pad not in ("SAME_UPPER", "SAME_LOWER"):
        return list(cx.attr("pads", [0] * 2 * d)), output_padding
    spatial = x.shape[2:]
    if not all(isinstance(s, int) for s in spatial):
        raise cx.unsupported(f"output_shape/auto_pad={auto_pad} needs static spatial dims, got {x.type}")
    target = (list(output_shape)[-d:] if output_shape is not None
              else [s * st for s, st in zip(spatial, stride, strict=True)])
    begin, end = [], []
    for i in range(d):
        extent = (kernel[i] - 1) * dilation[i] + 1
        total = stride[i] * (spatial[i] - 1) + output_padding[i] + extent - target[i]
        small = total // 2
        begin.append(small if auto_pad == "SAME_UPPER" else total - small)
        end.append(total - begin[-1])
    if any(b < 0 for b in begin):
        raise cx.unsupported(f"output_shape {target} would need negative begin pads {begin}")
    grown = [op + max(0, -e) for op, e in zip(output_padding, end, strict=True)]
    return begin + [max(0, e) for e in end], grown


@converter("ConvTranspose", since=1)
def _conv_transpose(cx: Ctx) -> Value:
    x, w = cx.input(0), cx.input(1)
    d = x.rank - 2
    if d not in (1, 2, 3):
        raise cx.unsupported(f"only 1-3 spatial dims are supported, got {x.type}")
    kernel = list(cx.attr("kernel_shape", w.shape[2:]))
    if not all(isinstance(k, int) for k in kernel):
        raise cx.unsupported(f"the kernel size must be static, got weight {w.type}")
    stride = list(cx.attr("strides", [1] * d))
    dilation = list(cx.attr("dilations", [1] * d))
    pads, output_padding = _conv_transpose_pads(cx, x, kernel, stride, dilation,
                                                list(cx.attr("output_padding", [0] * d)))
    operands = [x, w, cx.input(2)] if cx.has_input(2) else [x, w]
    return cx.b.op("conv_transpose", *operands, stride=tuple(stride), padding=tuple(pads),
                   dilation=tuple(dilation), output_padding=tuple(output_padding),
                   groups=int(cx.attr("group", 1)))


# ---- DepthToSpace, SpaceToDepth -----------------------------------------------------------------
@converter("DepthToSpace", since=1)
def _depth_to_space(cx: Ctx) -> Value:
    x, bs, b = cx.input(0), int(cx.attr("blocksize")), cx.b
    if x.rank != 4:
        raise cx.unsupported(f"needs a rank-4 NCHW input, got {x.type}")
    n, c, h, w = x.shape
    depth = c // (bs * bs)
    if cx.attr("mode", "DCR") == "DCR":
        y = b.op("transpose", b.op("reshape", x, shape=(n, bs, bs, depth, h, w)), perm=(0, 3, 4, 1, 5, 2))
    else:
        y = b.op("transpose", b.op("reshape", x, shape=(n, depth, bs, bs, h, w)), perm=(0, 1, 4, 2, 5, 3))
    return b.op("reshape", y, shape=(n, depth, h * bs, w * bs))


@converter("SpaceToDepth", since=1)
def _space_to_depth(cx: Ctx) -> Value:
    x, bs, b = cx.input(0), int(cx.attr("blocksize")), cx.b
    if x.rank != 4:
        raise cx.unsupported(f"needs a rank-4 NCHW input, got {x.type}")
    n, c, h, w = x.shape
    split = b.op("reshape", x, shape=(n, c, h // bs, bs, w // bs, bs))
    perm = (0, 1, 3, 5, 2, 4) if cx.attr("mode", "DCR") == "CRD" else (0, 3, 5, 1, 2, 4)
    return b.op("reshape", b.op("transpose", split, perm=perm), shape=(n, c * bs * bs, h // bs, w // bs))


# ---- CenterCropPad ------------------------------------------------------------------------------
@converter("CenterCropPad", since=18, const_inputs=(1,))
def _center_crop_pad(cx: Ctx) -> Value:
    """Crop each named axis around its centre (the extra element goes at the end), or pad it with
    zeros (the extra element at the end too)."""
    x = cx.input(0)
    shape = [int(v) for v in cx.const(1).reshape(-1)]
    axes = [a % x.rank for a in cx.attr("axes", range(x.rank))]
    starts, ends, crop_axes, pads = [], [], [], [0] * (2 * x.rank)
    for a, want in zip(axes, shape, strict=True):
        have = x.shape[a]
        if not isinstance(have, int):
            raise cx.unsupported(f"cropping or padding symbolic axis {a} of {x.type}")
        if want < have:
            start = (have - want) // 2
            starts.append(start)
            ends.append(start + want)
            crop_axes.append(a)
        elif want > have:
            pads[a] = (want - have) // 2
            pads[a + x.rank] = want - have - pads[a]
    if crop_axes:
        x = cx.b.op("slice", x, starts=tuple(starts), ends=tuple(ends), axes=tuple(crop_axes))
    if any(pads):
        x = cx.b.op("pad", x, pads=tuple(pads), mode="constant", value=0.0)
    return x


# ---- window functions ---------------------------------------------------------------------------
def _window_values(op: str, size: int, periodic: bool) -> np.ndarray:
    n = np.arange(size, dtype=np.float64)
    step = 2 * math.pi * n / (size if periodic else size - 1)
    if op == "HannWindow":
        return np.sin(step / 2) ** 2
    if op == "HammingWindow":
        alpha = 25 / 46
        return alpha - (1 - alpha) * np.cos(step)
    return 0.42 - 0.5 * np.cos(step) + 0.08 * np.cos(2 * step)


@converter("HannWindow", "HammingWindow", "BlackmanWindow", since=17, const_inputs=(0,))
def _window(cx: Ctx) -> Value:
    from axiom.frontends.onnx.ops_common import ONNX_DTYPES

    size = int(cx.const(0).reshape(-1)[0])
    dtype = ONNX_DTYPES.get(int(cx.attr("output_datatype", 1)))
    if dtype is None:
        raise cx.unsupported(f"output_datatype {cx.attr('output_datatype')}")
    values = _window_values(cx.node.op_type, size, bool(cx.attr("periodic", 1)))
    return cx.b.constant(values.astype(dtype.np_dtype))


# ---- AffineGrid ---------------------------------------------------------------------------------
def _base_grid(sizes: list[int], align_corners: bool) -> np.ndarray:
    """[prod(sizes), d + 1]: each output position's normalised coordinates (x first) and a 1."""
    axes = []
    for s in sizes:
        if align_corners:
            axes.append(np.linspace(-1.0, 1.0, s) if s > 1 else np.array([-1.0]))
        else:
            axes.append((np.arange(s) * 2.0 + 1) / s - 1)
    mesh = np.meshgrid(*axes, indexing="ij")
    coords = [m.reshape(-1) for m in reversed(mesh)]
    return np.stack([*coords, np.ones_like(coords[0])], axis=1)


@converter("AffineGrid", since=20, const_inputs=(1,))
def _affine_grid(cx: Ctx) -> Value:
    theta, b = cx.input(0), cx.b
    n, _c, *sizes = [int(v) for v in cx.const(1).reshape(-1)]
    if len(sizes) not in (2, 3) or theta.rank != 3:
        raise cx.unsupported(f"needs a 2-D or 3-D size and theta [N, d, d + 1], got size {sizes}, "
                             f"{theta.type}")
    base = _base_grid(sizes, bool(cx.attr("align_corners", 0))).T.astype(theta.dtype.np_dtype)
    grid = b.op("matmul", theta, b.constant(base))  # [N, d, prod(sizes)]
    points = b.op("transpose", grid, perm=(0, 2, 1))
    return b.op("reshape", points, shape=(theta.shape[0], *sizes, len(sizes)))


# ---- Einsum -------------------------------------------------------------------------------------
def _einsum_terms(cx: Ctx, equation: str, ranks: list[int]) -> tuple[list[str], str]:
    """Each operand's letters and the output's, with '...' spelt out as upper-case letters."""
    equation = equation.replace(" ", "")
    lhs, arrow, rhs = equation.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(ranks):
        raise cx.unsupported(f"equation {equation!r} names {len(terms)} operands, got {len(ranks)}")
    ell = max((r - len(t.replace("...", "")) for t, r in zip(terms, ranks, strict=True) if "..." in t),
              default=0)
    fill = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[:ell]
    out = []
    for t, r in zip(terms, ranks, strict=True):
        k = r - len(t.replace("...", ""))
        out.append(t.replace("...", fill[ell - k:]) if "..." in t else t)
        if len(out[-1]) != r:
            raise cx.unsupported(f"term {t!r} does not match an operand of rank {r}")
    if not arrow:
        counts = {c: "".join(out).count(c) for c in "".join(out)}
        rhs = fill + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in fill))
    return out, rhs.replace("...", fill)


def _einsum_diagonal(cx: Ctx, x: Value, letters: str) -> tuple[Value, str]:
    """Collapse repeated letters of one operand to their diagonal (x * eye, summed over the repeat)."""
    b = cx.b
    while len(set(letters)) < len(letters):
        c = next(c for c in letters if letters.count(c) > 1)
        i, j = letters.index(c), letters.index(c, letters.index(c) + 1)
        n = x.shape[i]
        if not isinstance(n, int):
            raise cx.unsupported(f"a diagonal over symbolic dim {n}")
        eye = np.eye(n, dtype=x.dtype.np_dtype).reshape([n if k in (i, j) else 1 for k in range(x.rank)])
        x = b.op("sum", b.op("mul", x, b.constant(eye)), axes=(j,))
        letters = letters[:j] + letters[j + 1:]
    return x, letters


def _einsum_sum(cx: Ctx, x: Value, letters: str, keep: str) -> tuple[Value, str]:
    """Sum out the letters of ``x`` that ``keep`` lacks."""
    gone = tuple(i for i, c in enumerate(letters) if c not in keep)
    if not gone:
        return x, letters
    return cx.b.op("sum", x, axes=gone), "".join(c for c in letters if c in keep)


def _einsum_pair(cx: Ctx, x: Value, xl: str, y: Value, yl: str, keep: str) -> tuple[Value, str]:
    """Contract two operands through one matmul: [batch, M, K] @ [batch, K, N]."""
    b = cx.b
    batch = [c for c in xl if c in yl and c in keep]
    inner = [c for c in xl if c in yl and c not in keep]
    left = [c for c in xl if c not in yl]
    right = [c for c in yl if c not in xl]
    size = {**dict(zip(yl, y.shape, strict=True)), **dict(zip(xl, x.shape, strict=True))}

    def arrange(v: Value, vl: str, order: list[str], rows: list[str], cols: list[str]) -> Value:
        v = b.op("transpose", v, perm=tuple(vl.index(c) for c in order))
        prod = [dim_product(size[c] for c in group) for group in (rows, cols)]
        return b.op("reshape", v, shape=(*v.shape[:len(batch)], *prod))

    a = arrange(x, xl, batch + left + inner, left, inner)
    c = arrange(y, yl, batch + inner + right, inner, right)
    out = b.op("matmul", a, c)
    letters = "".join(batch + left + right)
    return b.op("reshape", out, shape=tuple(size[ch] for ch in letters)), letters


@converter("Einsum", since=12)
def _einsum(cx: Ctx) -> Value:
    operands = cx.inputs()
    terms, rhs = _einsum_terms(cx, str(cx.attr("equation")), [v.rank for v in operands])
    items = [_einsum_diagonal(cx, v, t) for v, t in zip(operands, terms, strict=True)]
    if len(set(rhs)) < len(rhs):
        raise cx.unsupported(f"repeated output letters in {rhs!r}")
    for k in range(len(items)):  # sum out letters no other operand or the output needs
        others = rhs + "".join(t for j, (_, t) in enumerate(items) if j != k)
        items[k] = _einsum_sum(cx, *items[k], others)
    x, xl = items[0]
    for k in range(1, len(items)):
        y, yl = items[k]
        keep = rhs + "".join(t for _, t in items[k + 1:])
        x, xl = _einsum_pair(cx, x, xl, y, yl, keep)
    x, xl = _einsum_sum(cx, x, xl, rhs)
    if xl == rhs:
        return x
    return cx.b.op("transpose", x, perm=tuple(xl.index(c) for c in rhs))


# ---- LpPool -------------------------------------------------------------------------------------
def _lp_pool_check(node: NodeProto, opset: int) -> str | None:
    kernel = attr_of(node, "kernel_shape")
    if len(kernel) not in (1, 2):
        return f"only 1-D and 2-D windows are supported, got kernel_shape={list(kernel)}"
    if any(d != 1 for d in attr_of(node, "dilations", [1])):
        return f"dilations={list(attr_of(node, 'dilations'))} are not supported"
    if len(kernel) == 1 and attr_of(node, "auto_pad", "NOTSET") not in ("NOTSET", "VALID"):
        return "auto_pad SAME_* is supported for 2-D windows only"
    return None


@converter("LpPool", since=11, check=_lp_pool_check)
def _lp_pool(cx: Ctx) -> Value:
    """(sum over each window of |x|^p)^(1/p): an average pool that counts padding, times the window size.
    A 1-D pool runs as a 2-D one over [N, C, 1, L]."""
    from axiom.frontends.onnx.ops_nn import _pool_window

    x, b = cx.input(0), cx.b
    p = float(cx.attr("p", 2))
    kernel = list(cx.attr("kernel_shape"))
    powered = b.op("mul", x, x) if p == 2 else b.op("pow", b.op("abs", x), cx.scalar(p, x))
    if len(kernel) == 1:
        pb, pe = list(cx.attr("pads", [0, 0])) if cx.attr("auto_pad", "NOTSET") == "NOTSET" else (0, 0)
        window = {"kernel": (1, kernel[0]), "stride": (1, int(cx.attr("strides", [1])[0])),
                  "padding": (0, pb, 0, pe), "ceil_mode": bool(cx.attr("ceil_mode", 0))}
        powered = b.op("unsqueeze", powered, axes=(2,))
    else:
        window = _pool_window(cx, x, (1, 1))
    pooled = b.op("avg_pool2d", powered, count_include_pad=True, **window)
    total = b.op("mul", pooled, cx.scalar(math.prod(kernel), x))
    y = b.op("sqrt", total) if p == 2 else b.op("pow", total, cx.scalar(1 / p, x))
    return b.op("squeeze", y, axes=(2,)) if len(kernel) == 1 else y
