"""f32 NCHW conv2d without a column matrix: the images are padded once into scratch (skipped when the
conv has no padding), two offset tables say where each output pixel's window starts and where each
tap lies from there, and conv_direct.py's tile loop reads the input where it lies. Tiles of 6 pixels
(of one image) go over the threads.

Work items are (image, run of pixel tiles), every channel strip per tile, while the packed weights fit
in L2; larger weights go strip by strip instead, (image, channel strip) items each running all the
image's tiles against one strip, so the weights are read once per image. It is chosen for constant
weights, one group, and K (taps) deep enough that a tile's sum outweighs the transpose at its end; the
rest keeps the im2col + GEMM path (k_conv.py). Against that path (minimum ms over 201 calls of a one-
conv torch module through ``axiom.compile``, one thread): ResNet-18's 3x3 convs at batch 1 run at 40-44
GMAC/s, against 34-41 (64 channels at 56x56: 3.38 -> 2.60 ms; 512 at 7x7: 4.22 -> 2.83 ms), the CNN's 16
-> 32 channel conv at batch 32 at 43 against 27.
"""

from __future__ import annotations

from axiom.backends.llvm.conv_direct import TC, TP, declare_direct
from axiom.backends.llvm.k_conv import _add, _Conv, _mul
from axiom.backends.llvm.kernel import Kernel
from axiom.backends.llvm.split import MIN_SPLIT_MACS, carrying, threads_for
from axiom.ir.dtypes import f32, i64
from axiom.ir.graph import Value

STRIP_OUTER_BYTES = 1 << 18  # packed weights up to 256 KiB stay in L2 while the tiles stream past them
_MEMCPY = "llvm.memcpy.p0.p0.i64"
MIN_TAPS = 32  # K below this: the tile's transpose and stores cost more than its sum


def wants_direct(k: Kernel) -> bool:
    """Whether this conv2d (f32) takes the direct path."""
    node = k.node
    w, a = node.inputs[1], node.attrs
    if a.layout != "NCHW" or a.groups != 1 or not all(isinstance(d, int) for d in w.shape):
        return False
    if id(w) not in k.packable:
        return False
    return w.shape[1] * w.shape[2] * w.shape[3] >= MIN_TAPS


def _packed_bytes(w: Value) -> int:
    """The size of ``pack_direct(w)``."""
    return -(-w.shape[0] // TC) * TC * w.shape[1] * w.shape[2] * w.shape[3] * 4


def conv2d_direct(k: Kernel) -> None:
    f, c = k.f, _Conv(k.node, k.f)
    assert k.prepack(k.node.inputs[1], "conv_direct")
    a = k.node.attrs
    bottom, right = a.padding[2], a.padding[3]
    padded = any(a.padding)
    hp = _add(f, c.h, str(c.top + bottom))
    wp = _add(f, c.w, str(c.left + right))
    plane = _mul(f, hp, wp)
    w = k.node.inputs[1]
    cout = w.shape[0]
    strips = -(-cout // TC)
    (n, cin, h, wd), out = k.node.inputs[0].shape, k.node.results[0]
    padded_bytes = 4 * n * cin * (h + c.top + bottom) * (wd + c.left + right) if padded else None
    koff, pix, bias, xp = k.scratch([8 * cin * w.shape[2] * w.shape[3], 8 * out.shape[2] * out.shape[3],
                                     4 * strips * TC, padded_bytes])
    _tables(k, c, koff, pix, plane, wp)
    _fill(k, bias, str(strips * TC))
    if len(k.ins) > 2:
        with f.loop(str(cout), "b") as o:
            f.store(f32, f.load(f32, k.ins[2], o), bias, o)
    if padded:
        _pad(k, xp, hp, wp, plane)
    _tiles(k, xp if padded else k.ins[0], koff, pix, bias, plane)


def _tables(k: Kernel, c: _Conv, koff: str, pix: str, plane: str, wp: str) -> None:
    """koff[(ch, ky, kx)] = ch*plane + ky*dh*wp + kx*dw; pix[(oy, ox)] = oy*sh*wp + ox*sw."""
    f = k.f
    with f.loop(c.cin, "ch") as ch, f.loop(c.kh, "ky") as ky, f.loop(c.kw, "kx") as kx:
        at = _add(f, _mul(f, _add(f, _mul(f, ch, c.kh), ky), c.kw), kx)
        v = _add(f, _mul(f, ch, plane), _mul(f, ky, str(c.dh), wp), _mul(f, kx, str(c.dw)))
        f.store(i64, v, koff, at)
    with f.loop(c.oh, "oy") as oy, f.loop(c.ow, "ox") as ox:
        v = _add(f, _mul(f, oy, str(c.sh), wp), _mul(f, ox, str(c.sw)))
        f.store(i64, v, pix, _add(f, _mul(f, oy, c.ow), ox))


def _pad(k: Kernel, xp: str, hp: str, wp: str, plane: str) -> None:
    """xp[n, ch] = the image plane with its zero border, the planes over threads."""
    f = k.f
    c = _Conv(k.node, f)
    count = _mul(f, c.batch, c.cin)
    values = [("ptr", xp), ("i64", hp), ("i64", wp), ("i64", plane)]
    with carrying(k, count, threads_for(k, _mul(f, count, plane)), values) as (lo, hi, (xp, hp, wp, plane)):
        f = k.f
        c = _Conv(k.node, f)
        with f.loop(f.op(f"sub nsw i64 {hi}, {lo}"), "pl") as q:
            q = f.op(f"add nsw i64 {lo}, {q}")
            src = f.gep(f32, k.ins[0], _mul(f, q, c.hw))
            dst = f.gep(f32, xp, _mul(f, q, plane))
            with f.loop(hp, "y") as y:
                row = f.gep(f32, dst, _mul(f, y, wp))
                sy = f.op(f"sub nsw i64 {y}, {c.top}")
                inside = f.op(f"and i1 {f.op(f'icmp sge i64 {sy}, 0')}, {f.op(f'icmp slt i64 {sy}, {c.h}')}")
                with f.when(f.op(f"xor i1 {inside}, true")):
                    _fill(k, row, wp)
                with f.when(inside):
                    _fill(k, row, str(c.left))
                    line = f.gep(f32, src, _mul(f, sy, c.w))
                    k.declared[_MEMCPY] = f"declare void @{_MEMCPY}(ptr, ptr, i64, i1)"
                    f.raw(f"call void @{_MEMCPY}(ptr {f.gep(f32, row, str(c.left))}, ptr {line}, "
                          f"i64 {_mul(f, c.w, '4')}, i1 false)")
                    _fill(k, f.gep(f32, row, _add(f, c.w, str(c.left))), str(k.node.attrs.padding[3]))


def _fill(k: Kernel, at: str, count: str) -> None:
    """at[:count] = 0.0 through llvm.memset (a library call or a few stores: quicker to compile than a
    loop the vectorizer takes apart)."""
    k.declared["llvm.memset.p0.i64"] = "declare void @llvm.memset.p0.i64(ptr, i8, i64, i1)"
    k.f.raw(f"call void @llvm.memset.p0.i64(ptr {at}, i8 0, i64 {_mul(k.f, count, '4')}, i1 false)")


def _tiles(k: Kernel, x: str, koff: str, pix: str, bias: str, plane: str) -> None:
    """Every image's pixel tiles through the tile loop, (image, tile) pairs over threads."""
    f = k.f
    c = _Conv(k.node, f)
    direct = declare_direct(k.declared)
    ntiles = f.op(f"sdiv i64 {_add(f, c.p, str(TP - 1))}, {TP}")
    strips = -(-k.node.inputs[1].shape[0] // TC)
    by_strip = _packed_bytes(k.node.inputs[1]) > STRIP_OUTER_BYTES
    per = str(strips) if by_strip else ntiles  # work items per image
    count = _mul(f, c.batch, per)
    macs = _mul(f, c.batch, c.p, c.cout, c.kdim)
    values = [("ptr", x), ("ptr", koff), ("ptr", pix), ("ptr", bias), ("i64", plane), ("i64", per)]
    with carrying(k, count, threads_for(k, macs, MIN_SPLIT_MACS), values) as \
            (lo, hi, (x, koff, pix, bias, plane, per)):
        f = k.f
        c = _Conv(k.node, f)
        first = f.op(f"sdiv i64 {lo}, {per}")
        last = f.op(f"sdiv i64 {f.op(f'sub nsw i64 {hi}, 1')}, {per}")
        with f.loop(_add(f, f.op(f"sub nsw i64 {last}, {first}"), "1"), "img") as i:
            n = _add(f, first, i)
            base = _mul(f, n, per)
            u0 = f.op(f"sub nsw i64 {lo}, {base}")
            u0 = f.op(f"select i1 {f.op(f'icmp slt i64 {u0}, 0')}, i64 0, i64 {u0}")
            u1 = f.op(f"sub nsw i64 {hi}, {base}")
            u1 = f.op(f"select i1 {f.op(f'icmp sgt i64 {u1}, {per}')}, i64 {per}, i64 {u1}")
            if by_strip:
                s0, s1, p0, p1 = u0, u1, "0", c.p
            else:
                s0, s1, p0 = "0", str(strips), _mul(f, u0, str(TP))
                p1 = _mul(f, u1, str(TP))
                p1 = f.op(f"select i1 {f.op(f'icmp sgt i64 {p1}, {c.p}')}, i64 {c.p}, i64 {p1}")
            xn = f.gep(f32, x, _mul(f, n, c.cin, plane))
            at = _mul(f, n, c.cout, c.p)
            res = "null" if k.tail.residual is None else f.gep(f32, k.tail.residual, at)
            f.raw(f"call void @{direct}(ptr {xn}, ptr {pix}, i64 {p0}, i64 {p1}, ptr {koff}, i64 {c.kdim}, "
                  f"ptr {k.ins[1]}, i64 {s0}, i64 {s1}, i64 {c.cout}, i64 {c.p}, ptr {bias}, ptr {res}, "
                  f"ptr {f.gep(f32, k.outs[0], at)}, i1 {'true' if k.tail.relu else 'false'})")
