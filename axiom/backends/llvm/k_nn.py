"""conv2d on images (NCHW or NHWC): f32 through the direct tile loop (k_conv_direct.py) where it applies,
else im2col and the GEMM (k_conv.py); other dtypes directly,
each output summing over its window with bounds checks at the edges (groups, stride, padding, dilation,
bias). The pools live in k_pool.py, whose image helpers this module shares (importing it registers
them)."""

from __future__ import annotations

from axiom.backends.llvm.emit import compute_type
from axiom.backends.llvm.k_conv import conv2d_gemm
from axiom.backends.llvm.k_conv_direct import conv2d_direct, wants_direct
from axiom.backends.llvm.k_pool import _at, _nchw, _tap
from axiom.backends.llvm.k_reduce import _Acc
from axiom.backends.llvm.kernel import Kernel, lowers, nest, offset, strides
from axiom.ir.dtypes import f32


@lowers("conv2d")
def conv2d(k: Kernel) -> None:
    x, w = k.node.inputs[0], k.node.inputs[1]
    out, a = k.node.results[0], k.node.attrs
    if out.dtype == f32 and all(v.dtype == f32 for v in k.node.inputs):
        conv2d_direct(k) if wants_direct(k) else conv2d_gemm(k)
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
