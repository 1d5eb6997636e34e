"""f32 conv2d as GEMM, for the convs the direct path (k_conv_direct.py) leaves: per image and group, the
input patches are unrolled into a column matrix (im2col; skipped for a 1x1, stride-1, unpadded conv,
whose input already is that matrix) and multiplied with the weights by the threaded sgemm.

NCHW: ``out[n, g] (og x P) = W[g] (og x K) @ col (K x P)``, K = cg*kh*kw in the weight's own
(c, ky, kx) order, P = oh*ow; the bias is written first and the GEMM accumulates onto it.
NHWC: ``out[n, :, g] (P x og) = col (P x K) @ Wt[g] (K x og)`` with K in (ky, kx, c) order, so each
patch row copies runs of contiguous channels; the weights are transposed into that layout per call
(a cost of K x cout, small beside the product's P x K x cout) and the bias is the GEMM's epilogue.
Scratch (column matrices, the folded product, transposed weights) lies in the frame's scratch region.
"""

from __future__ import annotations

import hashlib

import sympy

from axiom.backends.llvm.emit import Function
from axiom.backends.llvm.gemm import MR
from axiom.backends.llvm.gemm_mt import declare_sgemm_mt
from axiom.backends.llvm.kernel import Kernel, aligned, plain
from axiom.backends.llvm.parallel import CHUNKS_PER_THREAD, declare_parallel_for
from axiom.backends.llvm.split import MIN_SPLIT_MACS, SPLIT_ITEMS_BELOW, carrying, threads_for
from axiom.ir.dims import Dim, dim_product
from axiom.ir.dtypes import f32, i8
from axiom.ir.graph import Node

MIN_PARALLEL_IM2COL = 1 << 16  # column-matrix elements (256 KiB) from which im2col uses the threads
FOLD_BELOW = 512  # output pixels per image under which a batch is folded into one product (NCHW)
FOLD_COLUMN_FLOATS = 1 << 21  # column-matrix elements (8 MiB) per chunk of folded images
_F0 = "0.0"


def _mul(f: Function, *xs: str) -> str:
    acc = xs[0]
    for x in xs[1:]:
        acc = f.op(f"mul nsw i64 {acc}, {x}")
    return acc


def _add(f: Function, *xs: str) -> str:
    acc = xs[0]
    for x in xs[1:]:
        acc = f.op(f"add nsw i64 {acc}, {x}")
    return acc


def _coord(f: Function, o: str, kk: str, stride: int, dil: int, pad: int, size: str) -> tuple[str, str]:
    """(o*stride - pad + kk*dil, whether it lies in [0, size))."""
    pos = _add(f, _mul(f, o, str(stride)), _mul(f, kk, str(dil)))
    pos = f.op(f"sub nsw i64 {pos}, {pad}") if pad else pos
    ok = f.op(f"and i1 {f.op(f'icmp sge i64 {pos}, 0')}, {f.op(f'icmp slt i64 {pos}, {size}')}")
    return pos, ok


def _guarded_load(f: Function, base: str, index: str, ok: str) -> str:
    """base[index] where ``ok``, else 0.0; the address is clamped so nothing out of range is read."""
    safe = f.op(f"select i1 {ok}, i64 {index}, i64 0")
    v = f.load(f32, base, safe)
    return f.op(f"select i1 {ok}, float {v}, float {_F0}")


class _Conv:
    """The conv's sizes as i64 operands of ``f`` and its static attributes."""

    def __init__(self, node: Node, f: Function) -> None:
        x, w, out, a = node.inputs[0], node.inputs[1], node.results[0], node.attrs
        self.nchw = a.layout == "NCHW"
        xs = x.shape if self.nchw else (x.shape[0], x.shape[3], x.shape[1], x.shape[2])
        os_ = out.shape if self.nchw else (out.shape[0], out.shape[3], out.shape[1], out.shape[2])
        self.batch, self.cin, self.h, self.w = (f.dim(d) for d in xs)
        _, self.cout, self.oh, self.ow = (f.dim(d) for d in os_)
        self.cg, self.kh, self.kw = (f.dim(d) for d in w.shape[1:])
        self.groups = a.groups
        self.og = f.op(f"sdiv i64 {self.cout}, {a.groups}")
        (self.sh, self.sw), (self.dh, self.dw) = a.stride, a.dilation
        self.top, self.left = a.padding[0], a.padding[1]
        self.p = _mul(f, self.oh, self.ow)
        self.kdim = _mul(f, self.cg, self.kh, self.kw)
        self.hw = _mul(f, self.h, self.w)
        self.pointwise = (tuple(w.shape[2:]) == (1, 1) and tuple(a.stride) == (1, 1)
                          and not any(a.padding))


def _sizes(node: Node) -> tuple[Dim, Dim, Dim, Dim]:
    """(batch, output pixels P, taps K, output channels) as dims, for sizing scratch."""
    w, out = node.inputs[1], node.results[0]
    p = dim_product(out.shape[2:] if node.attrs.layout == "NCHW" else out.shape[1:3])
    return out.shape[0], p, dim_product(w.shape[1:]), w.shape[0]


def conv2d_gemm(k: Kernel) -> None:
    f, c = k.f, _Conv(k.node, k.f)
    w = k.node.inputs[1]
    # NCHW reads each group's weight matrix as the GEMM's A: a constant one is packed once, at load time.
    a_packed = c.nchw and isinstance(w.shape[0], int) and k.prepack(w, f"conv_a/{c.groups}")
    gemm = declare_sgemm_mt(k.declared, a_packed=a_packed)
    # An image whose product is below the GEMM's own threading threshold: the images go over the threads.
    per_image = _mul(f, c.og, c.p, c.kdim, str(c.groups))
    small = f.op(f"icmp slt i64 {per_image}, {SPLIT_ITEMS_BELOW}")
    work = f.op(f"select i1 {small}, i64 {_mul(f, per_image, c.batch)}, i64 0")
    batch, p, _, _ = _sizes(k.node)
    # Few pixels per image, but a product large enough for the GEMM's own threads: the images of a chunk
    # become one product's columns (no ragged strip per image; layer4 of ResNet-18 at batch 8: -24%).
    if not c.nchw or batch == 1 or (isinstance(p, int) and p >= FOLD_BELOW):
        _images(k, gemm, a_packed, threads_for(k, work, MIN_SPLIT_MACS))
        return
    fold = f.op(f"and i1 {f.op(f'icmp sgt i64 {c.batch}, 1')}, {f.op(f'icmp slt i64 {c.p}, {FOLD_BELOW}')}")
    fold = f.op(f"and i1 {fold}, {f.op(f'xor i1 {small}, true')}")
    with f.when(fold):
        _folded(k, c, gemm, a_packed)
    with f.when(f.op(f"xor i1 {fold}, true")):
        _images(k, gemm, a_packed, threads_for(k, work, MIN_SPLIT_MACS))


def _folded(k: Kernel, c: _Conv, gemm: str, a_packed: bool) -> None:
    """NCHW, chunks of images at a time: im2col of every image of the chunk side by side into one column
    matrix, one GEMM into a scratch [og, images*P], then each image's rows copied out with the bias."""
    f = k.f
    batch, p, kdim, cout = _sizes(k.node)
    per_image = kdim * p
    fit = FOLD_COLUMN_FLOATS // per_image if isinstance(per_image, int) else sympy.floor(
        sympy.Integer(FOLD_COLUMN_FLOATS) / per_image)
    images = plain(sympy.Min(sympy.Max(fit, 1), batch))  # per chunk
    nb = f.dim(images)
    col, tmp = k.scratch([4 * per_image * images, 4 * (cout // c.groups) * p * images])
    chunks = f.op(f"sdiv i64 {_add(f, c.batch, f.op(f'sub nsw i64 {nb}, 1'))}, {nb}")
    with f.loop(chunks, "chunk") as q, f.loop(str(c.groups), "g") as g:
        n0 = _mul(f, q, nb)
        cnt = _clamp(f, f.op(f"sub nsw i64 {c.batch}, {n0}"), "0", nb)
        cols = _mul(f, cnt, c.p)
        xg = f.gep(f32, k.ins[0], _mul(f, _add(f, _mul(f, n0, c.cin), _mul(f, g, c.cg)), c.hw))
        _im2col_call(k, c, xg, col, cols, cnt)
        wg = _group_weights(k, c, g, a_packed)
        f.raw(f"call void @{gemm}(i64 {c.og}, i64 {cols}, i64 {c.kdim}, ptr {wg}, i64 {c.kdim}, ptr {col}, "
              f"i64 {cols}, ptr {tmp}, i64 {cols}, ptr null, i32 0, i32 0, i64 {k.threads})")
        _unfold(k, tmp, n0, cnt, g)


def _unfold(k: Kernel, tmp: str, n0: str, cnt: str, g: str) -> None:
    """out[n0 + i, g*og + r, :] = tmp[r, i*P : (i+1)*P] (+ bias[g*og + r]) and the kernel's tail (a residual,
    relu), the rows over threads."""
    c = _Conv(k.node, k.f)
    count = _mul(k.f, cnt, c.og)
    values = [("ptr", tmp), ("i64", n0), ("i64", cnt), ("i64", g)]
    with carrying(k, count, threads_for(k, _mul(k.f, count, c.p)), values) as (lo, hi, (tmp, n0, cnt, g)):
        f = k.f
        c = _Conv(k.node, f)
        with f.loop(f.op(f"sub nsw i64 {hi}, {lo}"), "q") as q:
            q = f.op(f"add nsw i64 {lo}, {q}")
            i, r = f.op(f"sdiv i64 {q}, {c.og}"), f.op(f"srem i64 {q}, {c.og}")
            src = f.gep(f32, tmp, _add(f, _mul(f, r, cnt, c.p), _mul(f, i, c.p)))
            channel = _add(f, _mul(f, g, c.og), r)
            at = _mul(f, _add(f, _mul(f, _add(f, n0, i), c.cout), channel), c.p)
            dst = f.gep(f32, k.outs[0], at)
            bias = f.load(f32, k.ins[2], channel) if len(k.ins) > 2 else _F0
            residual = None if k.tail.residual is None else f.gep(f32, k.tail.residual, at)
            with f.loop(c.p, "p") as p:
                v = f.op(f"fadd float {f.load(f32, src, p)}, {bias}")
                if residual is not None:
                    v = f.op(f"fadd float {v}, {f.load(f32, residual, p)}")
                if k.tail.relu:
                    v = k.scalar.emit("relu", None, [v], [f32], f32)
                f.store(f32, v, dst, p)


def _images(k: Kernel, gemm: str, a_packed: bool, threads: str) -> None:
    """Every image: im2col and a GEMM per image and group. On ``threads`` threads (an i64 operand) the
    batch is cut into up to CHUNKS_PER_THREAD runs of images per thread, each run with scratch slot of its
    own (a column matrix; NHWC: the transposed weights too), so runs on different threads never share."""
    f, c = k.f, _Conv(k.node, k.f)
    batch, p, kdim, cout = _sizes(k.node)
    col_bytes = 0 if c.pointwise else aligned(4 * kdim * p)
    wt_bytes = 0 if c.nchw else aligned(4 * kdim * cout)
    slots = 1 if k.threads < 2 else plain(sympy.Min(CHUNKS_PER_THREAD * k.threads, batch))
    cols, wts = k.scratch([slots * col_bytes if col_bytes else None, slots * wt_bytes if wt_bytes else None])
    if threads == "1":
        runs = "1"
    else:
        many = f.op(f"mul nsw i64 {threads}, {CHUNKS_PER_THREAD}")
        runs = _clamp(f, many, "1", c.batch)
        runs = f.op(f"select i1 {f.op(f'icmp sgt i64 {threads}, 1')}, i64 {runs}, i64 1")
    values = [("ptr", cols), ("ptr", wts), ("i64", runs)]
    with carrying(k, runs, threads, values) as (lo, hi, (cols, wts, runs)):
        f = k.f
        c = _Conv(k.node, f)
        # A chunk's runs go one after another, so they share the slot of its first run (the chunks that
        # run at once start at different runs: no two threads write the same slot).
        col = "null" if c.pointwise else f.gep(i8, cols, _mul(f, lo, f.dim(col_bytes)))
        wt = "null" if c.nchw else f.gep(i8, wts, _mul(f, lo, f.dim(wt_bytes)))
        if not c.nchw:
            _transpose_weights(k, c, wt)
        first = f.op(f"sdiv i64 {_mul(f, lo, c.batch)}, {runs}")
        last = f.op(f"sdiv i64 {_mul(f, hi, c.batch)}, {runs}")
        has_bias = len(k.ins) > 2
        with f.loop(f.op(f"sub nsw i64 {last}, {first}"), "n") as nn, f.loop(str(c.groups), "g") as g:
            n = f.op(f"add nsw i64 {first}, {nn}")
            if c.nchw:
                _nchw_group(k, c, gemm, col, n, g, has_bias, a_packed)
            else:
                _nhwc_group(k, c, gemm, col, wt, n, g, has_bias)


def _group_weights(k: Kernel, c: _Conv, g: str, a_packed: bool) -> str:
    """Where group g's weight matrix starts (a group packed at load time fills whole 6-row strips)."""
    og = k.node.inputs[1].shape[0] // c.groups if a_packed else 0
    rows = str(-(-og // MR) * MR) if a_packed else c.og
    return k.f.gep(f32, k.ins[1], _mul(k.f, g, rows, c.kdim))


def _nchw_group(k: Kernel, c: _Conv, gemm: str, col: str, n: str, g: str, has_bias: bool,
                a_packed: bool) -> None:
    f = k.f
    xg = f.gep(f32, k.ins[0], _mul(f, _add(f, _mul(f, n, c.cin), _mul(f, g, c.cg)), c.hw))
    if not c.pointwise:
        _im2col_call(k, c, xg, col, c.p, "1")
    at = _mul(f, _add(f, _mul(f, n, c.cout), _mul(f, g, c.og)), c.p)
    cg_ = f.gep(f32, k.outs[0], at)
    residual = None if k.tail.residual is None else f.gep(f32, k.tail.residual, at)
    fill = has_bias or residual is not None  # the GEMM accumulates onto bias + residual
    if fill:
        with f.loop(c.og, "r", unroll=False) as r:
            b = f.load(f32, k.ins[2], _add(f, _mul(f, g, c.og), r)) if has_bias else _F0
            row = _mul(f, r, c.p)
            with f.loop(c.p, "j", unroll=False) as j:  # vectorized, not unrolled (slow to compile)
                j = _add(f, row, j)
                v = b if residual is None else f.op(f"fadd float {b}, {f.load(f32, residual, j)}")
                f.store(f32, v, cg_, j)
    wg = _group_weights(k, c, g, a_packed)
    src = xg if c.pointwise else col
    f.raw(f"call void @{gemm}(i64 {c.og}, i64 {c.p}, i64 {c.kdim}, ptr {wg}, i64 {c.kdim}, ptr {src}, "
          f"i64 {c.p}, ptr {cg_}, i64 {c.p}, ptr null, i32 {int(k.tail.relu)}, i32 {int(fill)}, "
          f"i64 {k.threads})")


def _im2col_call(k: Kernel, c: _Conv, xg: str, col: str, ld: str, images: str) -> None:
    """Unroll the group's patches of ``images`` consecutive images into ``col`` (row stride ``ld``; image i
    from column i*P on), the (image, channel, kernel row) triples split over threads when the matrix is
    large (it is written once and read once by the GEMM's packing, so its cost is memory traffic)."""
    f = k.f
    body = Function("_im2col_", ["ptr %ctx", "i64 %lo", "i64 %hi"], f.symbols)
    body.raw("%dims = load ptr, ptr %ctx")
    xs, cols, lds = (body.op(f"load ptr, ptr {body.op(f'getelementptr inbounds ptr, ptr %ctx, i64 {i}')}")
                     for i in (1, 2, 3))
    bc = _Conv(k.node, body)
    with body.loop(body.op("sub nsw i64 %hi, %lo"), "q") as q:
        q = body.op(f"add nsw i64 %lo, {q}")
        ky, q = body.op(f"srem i64 {q}, {bc.kh}"), body.op(f"sdiv i64 {q}, {bc.kh}")
        image, ch = body.op(f"sdiv i64 {q}, {bc.cg}"), body.op(f"srem i64 {q}, {bc.cg}")
        x_i = body.gep(f32, xs, _mul(body, image, bc.cin, bc.hw))
        col_i = body.gep(f32, cols, _mul(body, image, bc.p))
        _im2col_nchw(body, bc, x_i, col_i, body.op(f"ptrtoint ptr {lds} to i64"), ch, ky)
    text = body.text()
    name = f"axiom_im2col_{hashlib.sha256(text.encode()).hexdigest()[:16]}"
    k.declared[name] = text.replace("@_im2col_(", f"@{name}(")
    ctx = f.alloca("[4 x ptr]")
    for i, p in enumerate(("%dims", xg, col, f.op(f"inttoptr i64 {ld} to ptr"))):
        f.raw(f"store ptr {p}, ptr {f.op(f'getelementptr inbounds ptr, ptr {ctx}, i64 {i}')}")
    size = _mul(f, c.kdim, c.p, images)
    threads = f.op(f"select i1 {f.op(f'icmp sge i64 {size}, {MIN_PARALLEL_IM2COL}')}, i64 {k.threads}, i64 1")
    count = _mul(f, images, c.cg, c.kh)  # (image, channel, kernel row) triples
    run = declare_parallel_for(k.declared)
    f.raw(f"call void @{run}(ptr @{name}, ptr {ctx}, i64 {count}, i64 {threads})")


def _im2col_nchw(f: Function, c: _Conv, xg: str, col: str, ld: str, ch: str, ky: str) -> None:
    """col[(ch, ky, kx), (oy, ox)] = x[ch, oy*sh - top + ky*dh, ox*sw - left + kx*dw], 0 outside, for one
    channel ch and kernel row ky (col's rows ``ld`` apart). Each row of patches is a zero run, a copy
    (contiguous at stride 1, so it vectorizes) and a zero run: the columns whose input lies inside the
    image are worked out first."""
    with f.loop(c.kw, "kx") as kx:
        row = _add(f, _mul(f, _add(f, _mul(f, ch, c.kh), ky), c.kw), kx)
        dst = f.gep(f32, col, _mul(f, row, ld))
        plane = f.gep(f32, xg, _mul(f, ch, c.hw))
        shift = f.op(f"sub nsw i64 {_mul(f, kx, str(c.dw))}, {c.left}")  # ix = ox*sw + shift
        first = _clamp(f, f.op(f"sdiv i64 {f.op(f'sub nsw i64 {c.sw - 1}, {shift}')}, {c.sw}"), "0", c.ow)
        room = f.op(f"add nsw i64 {f.op(f'sub nsw i64 {c.w}, {shift}')}, {c.sw - 1}")
        end = f.op(f"sdiv i64 {room}, {c.sw}")
        end = _clamp(f, end, first, c.ow)
        with f.loop(c.oh, "oy") as oy:
            iy, oky = _coord(f, oy, ky, c.sh, c.dh, c.top, c.h)
            drow = f.gep(f32, dst, _mul(f, oy, c.ow))
            inside = f.op(f"select i1 {oky}, i64 {first}, i64 {c.ow}")  # a row outside: all zeros
            stop = f.op(f"select i1 {oky}, i64 {end}, i64 {c.ow}")
            _zeros(f, drow, "0", inside)
            line = _add(f, _mul(f, f.op(f"select i1 {oky}, i64 {iy}, i64 0"), c.w), shift)  # may be < 0
            with f.loop(f.op(f"sub nsw i64 {stop}, {inside}"), "ox") as j:  # no metadata: a shared function
                ox = f.op(f"add nsw i64 {inside}, {j}")  # so that line + ox*sw lies in the row
                f.store(f32, f.load(f32, plane, _add(f, line, _mul(f, ox, str(c.sw)))), drow, ox)
            _zeros(f, drow, stop, c.ow)


def _clamp(f: Function, v: str, lo: str, hi: str) -> str:
    """min(max(v, lo), hi) for i64 operands."""
    v = f.op(f"select i1 {f.op(f'icmp slt i64 {v}, {lo}')}, i64 {lo}, i64 {v}")
    return f.op(f"select i1 {f.op(f'icmp sgt i64 {v}, {hi}')}, i64 {hi}, i64 {v}")


def _zeros(f: Function, base: str, start: str, stop: str) -> None:
    """base[start:stop] = 0."""
    with f.loop(f.op(f"sub nsw i64 {stop}, {start}"), "z") as j:
        f.store(f32, _F0, base, f.op(f"add nsw i64 {start}, {j}"))


def _transpose_weights(k: Kernel, c: _Conv, wt: str) -> None:
    """wt[g][(ky, kx, ch)][o] = W[g*og + o, ch, ky, kx]: each group's B matrix for the NHWC product."""
    f = k.f
    with f.loop(c.cout, "o") as o, f.loop(c.cg, "ch") as ch, f.loop(c.kh, "ky") as ky, \
            f.loop(c.kw, "kx") as kx:
        src = _add(f, _mul(f, _add(f, _mul(f, _add(f, _mul(f, o, c.cg), ch), c.kh), ky), c.kw), kx)
        g = f.op(f"sdiv i64 {o}, {c.og}")
        oo = f.op(f"srem i64 {o}, {c.og}")
        krow = _add(f, _mul(f, _add(f, _mul(f, ky, c.kw), kx), c.cg), ch)
        dst = _add(f, _mul(f, _add(f, _mul(f, g, c.kdim), krow), c.og), oo)
        f.store(f32, f.load(f32, k.ins[1], src), wt, dst)


def _nhwc_group(k: Kernel, c: _Conv, gemm: str, col: str, wt: str, n: str, g: str, has_bias: bool) -> None:
    f = k.f
    xg = f.gep(f32, k.ins[0], _add(f, _mul(f, n, c.hw, c.cin), _mul(f, g, c.cg)))
    if c.pointwise:
        src, lda = xg, c.cin
    else:
        _im2col_nhwc(f, c, xg, col)
        src, lda = col, c.kdim
    at = _add(f, _mul(f, n, c.p, c.cout), _mul(f, g, c.og))
    out = f.gep(f32, k.outs[0], at)
    if k.tail.residual is not None:  # copied in, then accumulated onto
        residual = f.gep(f32, k.tail.residual, at)
        with f.loop(c.p, "rp") as p, f.loop(c.og, "ro") as o:
            i = _add(f, _mul(f, p, c.cout), o)
            f.store(f32, f.load(f32, residual, i), out, i)
    wg = f.gep(f32, wt, _mul(f, g, c.kdim, c.og))
    bias = f.gep(f32, k.ins[2], _mul(f, g, c.og)) if has_bias else "null"
    f.raw(f"call void @{gemm}(i64 {c.p}, i64 {c.og}, i64 {c.kdim}, ptr {src}, i64 {lda}, ptr {wg}, "
          f"i64 {c.og}, ptr {out}, i64 {c.cout}, ptr {bias}, i32 {int(k.tail.relu)}, "
          f"i32 {int(k.tail.residual is not None)}, i64 {k.threads})")


def _im2col_nhwc(f: Function, c: _Conv, xg: str, col: str) -> None:
    """col[(oy, ox), (ky, kx, ch)] = x[oy*sh - top + ky*dh, ox*sw - left + kx*dw, g*cg + ch], 0 outside."""
    with f.loop(c.oh, "oy") as oy, f.loop(c.ow, "ox") as ox:
        prow = _mul(f, _add(f, _mul(f, oy, c.ow), ox), c.kdim)
        with f.loop(c.kh, "ky") as ky:
            iy, oky = _coord(f, oy, ky, c.sh, c.dh, c.top, c.h)
            with f.loop(c.kw, "kx") as kx:
                ix, okx = _coord(f, ox, kx, c.sw, c.dw, c.left, c.w)
                ok = f.op(f"and i1 {oky}, {okx}")
                pixel = _mul(f, _add(f, _mul(f, iy, c.w), ix), c.cin)
                dst = _add(f, prow, _mul(f, _add(f, _mul(f, ky, c.kw), kx), c.cg))
                with f.loop(c.cg, "ch") as ch:
                    f.store(f32, _guarded_load(f, xg, _add(f, pixel, ch), ok), col, _add(f, dst, ch))
