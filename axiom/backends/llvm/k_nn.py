"""Images (NCHW or NHWC): direct conv2d (groups, stride, padding, dilation, bias) and the max/average
pools, each output element summing or comparing over its window with bounds checks at the edges."""

from __future__ import annotations

import numpy as np

from axiom.backends.llvm.emit import Function, compute_type
from axiom.backends.llvm.k_conv import conv2d_gemm
from axiom.backends.llvm.k_reduce import _Acc
from axiom.backends.llvm.kernel import Kernel, lowers, nest, offset, strides
from axiom.backends.llvm.split import range_over_threads
from axiom.ir.dtypes import f32
from axiom.ir.graph import Value


def _nchw(shape: tuple, layout: str) -> tuple:
    return shape if layout == "NCHW" else (shape[0], shape[3], shape[1], shape[2])


def _at(f: Function, v: Value, layout: str, n: str, c: str, y: str, x: str) -> str:
    """The flat offset of logical (n, c, y, x) in ``v`` laid out as ``layout``."""
    idx = [n, c, y, x] if layout == "NCHW" else [n, y, x, c]
    return offset(f, idx, strides(f, v.shape))


def _tap(f: Function, o: str, k: str, stride: int, dil: int, pad: int, size: str) -> tuple[str, str]:
    """(input coordinate o*stride - pad + k*dil, whether it lies inside [0, size))."""
    pos = f.op(f"add nsw i64 {f.op(f'mul nsw i64 {o}, {stride}')}, {f.op(f'mul nsw i64 {k}, {dil}')}")
    pos = f.op(f"sub nsw i64 {pos}, {pad}") if pad else pos
    ok = f.op(f"and i1 {f.op(f'icmp sge i64 {pos}, 0')}, {f.op(f'icmp slt i64 {pos}, {size}')}")
    return pos, ok


@lowers("conv2d")
def conv2d(k: Kernel) -> None:
    x, w = k.node.inputs[0], k.node.inputs[1]
    out, a = k.node.results[0], k.node.attrs
    if out.dtype == f32 and all(v.dtype == f32 for v in k.node.inputs):
        conv2d_gemm(k)
        return
    f, ty = k.f, compute_type(out.dtype)
    _, _, h, wd = (f.dim(d) for d in _nchw(x.shape, a.layout))
    _, cout, oh, ow = _nchw(out.shape, a.layout)
    cg, kh, kw = w.shape[1], w.shape[2], w.shape[3]
    og = cout // a.groups if isinstance(cout, int) else None
    (sh, sw), (dh, dw) = a.stride, a.dilation
    top, left = a.padding[0], a.padding[1]
    ws = strides(f, w.shape)
    with nest(f, [_nchw(out.shape, a.layout)[0], cout, oh, ow], "o") as (n, o, oy, ox):
        bias = f.load(k.node.inputs[2].dtype, k.ins[2], o) if len(k.ins) > 2 else k.scalar.const(0, ty)
        acc = _Acc(f, ty, bias)
        group = f.op(f"sdiv i64 {o}, {og if og is not None else f.op(f'sdiv i64 {f.dim(cout)}, {a.groups}')}")
        c0 = f.op(f"mul nsw i64 {group}, {cg}")
        with f.loop(f.dim(kh), "ky") as ky:
            iy, oky = _tap(f, oy, ky, sh, dh, top, h)
            with f.when(oky), f.loop(f.dim(kw), "kx") as kx:
                ix, okx = _tap(f, ox, kx, sw, dw, left, wd)
                with f.when(okx), f.loop(f.dim(cg), "c") as c:
                    channel = f.op(f"add nsw i64 {c0}, {c}")
                    xv = f.load(x.dtype, k.ins[0], _at(f, x, a.layout, n, channel, iy, ix))
                    wv = f.load(w.dtype, k.ins[1], offset(f, [o, c, ky, kx], ws))
                    acc.set(f.op(f"fadd {ty} {acc.get()}, {f.op(f'fmul {ty} {xv}, {wv}')}"))
        f.store(out.dtype, acc.get(), k.outs[0], _at(f, out, a.layout, n, o, oy, ox))


def _within(f: Function, v: str, lo: int, hi: str) -> str:
    """lo <= v < hi, as an i1."""
    return f.op(f"and i1 {f.op(f'icmp sge i64 {v}, {lo}')}, {f.op(f'icmp slt i64 {v}, {hi}')}")


@lowers("max_pool2d", "avg_pool2d")
def pool(k: Kernel) -> None:
    """Each output the max (or mean) of its window; the (image, channel) planes split over threads."""
    out, a = k.node.results[0], k.node.attrs
    f = k.f
    n_, c_, oh, ow = _nchw(out.shape, a.layout)
    planes = f.op(f"mul nsw i64 {f.dim(n_)}, {f.dim(c_)}")
    work = f.op(f"mul nsw i64 {k.numel(out)}, {a.kernel[0] * a.kernel[1]}")
    with range_over_threads(k, planes, work) as q:
        f = k.f  # the split-off function: its own sizes
        n, c = f.op(f"sdiv i64 {q}, {f.dim(c_)}"), f.op(f"srem i64 {q}, {f.dim(c_)}")
        with nest(f, [oh, ow], "o") as (oy, ox):
            _pool_at(k, n, c, oy, ox)


def _pool_at(k: Kernel, n: str, c: str, oy: str, ox: str) -> None:
    """Output (n, c, oy, ox) of a pool, with bounds checks at the image's edges."""
    x, out, a = k.node.inputs[0], k.node.results[0], k.node.attrs
    f, ty = k.f, compute_type(out.dtype)
    is_max = k.node.op.name == "max_pool2d"
    _, _, h, wd = (f.dim(d) for d in _nchw(x.shape, a.layout))
    (kh, kw) = a.kernel
    sh, sw = a.kernel if a.stride is None else a.stride
    dh, dw = a.dilation if is_max else (1, 1)
    top, left, bottom, right = a.padding
    include = (not is_max) and a.count_include_pad
    lowest = k.scalar.const(-np.inf, ty) if out.dtype.is_float else str(int(np.iinfo(out.dtype.np_dtype).min))
    acc = _Acc(f, ty, lowest if is_max else k.scalar.const(0.0, ty))
    count = _Acc(f, "i64", "0")
    with f.loop(str(kh), "ky") as ky:
        iy, oky = _tap(f, oy, ky, sh, dh, top, h)
        with f.loop(str(kw), "kx") as kx:
            ix, okx = _tap(f, ox, kx, sw, dw, left, wd)
            inside = f.op(f"and i1 {oky}, {okx}")
            if include:  # a cell of the padded image (not of the overhang) counts
                counted = f.op(f"and i1 {_within(f, iy, -top, f.op(f'add nsw i64 {h}, {bottom}'))}, "
                               f"{_within(f, ix, -left, f.op(f'add nsw i64 {wd}, {right}'))}")
            else:
                counted = inside
            count.set(f.op(f"add nsw i64 {count.get()}, {f.op(f'zext i1 {counted} to i64')}"))
            with f.when(inside):
                v = f.load(x.dtype, k.ins[0], _at(f, x, a.layout, n, c, iy, ix))
                name = "maximum" if is_max else "add"
                acc.set(k.scalar.emit(name, None, [acc.get(), v], [out.dtype] * 2, out.dtype))
    result = acc.get()
    if not is_max:
        result = f.op(f"fdiv {ty} {result}, {f.op(f'sitofp i64 {count.get()} to {ty}')}")
    f.store(out.dtype, result, k.outs[0], _at(f, out, a.layout, n, c, oy, ox))
