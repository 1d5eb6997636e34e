"""max_pool2d and avg_pool2d over NCHW or NHWC images, and the image index helpers conv2d shares
(k_nn.py imports them, which registers the pools).

An output whose whole window lies inside the image (worked out per row, as im2col's ``first``/``end``
in k_conv.py) takes its taps unrolled with no bounds checks. NCHW rows of 4- and 8-byte elements go
LANES outputs at a time in vector IR: each window row is one masked load of just the elements its taps
read, each tap a shuffle of it (a max combines the window rows first, so it shuffles one row). What
whole blocks leave of a row is one more block ending at its last output; a row shorter than a block is
one block with its lanes past the end masked: no scalar remainder, so short rows vectorize. Half floats
and narrow integers take a loop instead. NHWC outputs run their channels innermost, a contiguous loop
LLVM vectorizes. The edges, and windows of more than MAX_UNROLLED_TAPS taps, check every tap. Threads
split NCHW by (image, channel) plane and NHWC by (image, output row).

Results are the checked code's bit for bit: the max is llvm.maximum's (+0 above -0; the quiet NaN when
a tap is NaN) built from selects, as that intrinsic's scalar lowering branches on signs and does not
vectorize; the mean adds the taps in window order from 0.0, as the numpy reference does. Measured on
the MNIST CNN's 2x2 pools and ResNet-18's 3x3/2 one (f32, batch 32 and 8): 9-19x faster than checking
every tap, on one thread.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import reduce

import numpy as np

from axiom.backends.llvm.emit import Function, compute_type, storage_type
from axiom.backends.llvm.k_reduce import _Acc
from axiom.backends.llvm.kernel import Kernel, lowers, offset, strides
from axiom.backends.llvm.split import range_over_threads
from axiom.ir.graph import Value

LANES = 8  # outputs of an NCHW row per vector block
MAX_UNROLLED_TAPS = 64  # larger windows check every tap everywhere (unrolled, they are slow to compile)
MAX_VECTOR_STRIDE = 4  # an NCHW block loads LANES * stride elements per window row: wider strides use loops
_MASKED = {"float": "f32", "double": "f64", "i32": "i32", "i64": "i64"}  # masked loads of these are AVX ops


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
    return pos, _within(f, pos, 0, size)


def _within(f: Function, v: str, lo: int | str, hi: str) -> str:
    """lo <= v < hi, as an i1."""
    return f.op(f"and i1 {f.op(f'icmp sge i64 {v}, {lo}')}, {f.op(f'icmp slt i64 {v}, {hi}')}")


def _clamp(f: Function, v: str, lo: str, hi: str) -> str:
    """min(max(v, lo), hi) for i64 operands."""
    v = f.op(f"select i1 {f.op(f'icmp slt i64 {v}, {lo}')}, i64 {lo}, i64 {v}")
    return f.op(f"select i1 {f.op(f'icmp sgt i64 {v}, {hi}')}, i64 {hi}, i64 {v}")


def _inside(f: Function, size: str, osize: str, k: int, s: int, d: int, pad: int) -> tuple[str, str]:
    """[first, end): the outputs along one axis whose whole window lies in [0, size), that is
    o*s - pad >= 0 and o*s - pad + d*(k-1) < size; an empty range when there are none."""
    first = _clamp(f, str(-(-pad // s)), "0", osize)
    room = f.op(f"sub nsw i64 {size}, {d * (k - 1) + 1 - pad}")  # the last start that fits, plus pad
    end = f.op(f"add nsw i64 {f.op(f'sdiv i64 {room}, {s}')}, 1")
    end = f.op(f"select i1 {f.op(f'icmp slt i64 {room}, 0')}, i64 {first}, i64 {end}")
    return first, _clamp(f, end, first, osize)


class _Window:
    """A pool's window attributes, and its sizes and interior ranges as i64 operands of ``k.f``."""

    def __init__(self, k: Kernel) -> None:
        x, out, a, f = k.node.inputs[0], k.node.results[0], k.node.attrs, k.f
        self.is_max = k.node.op.name == "max_pool2d"
        self.kh, self.kw = a.kernel
        self.sh, self.sw = a.kernel if a.stride is None else a.stride
        self.dh, self.dw = a.dilation if self.is_max else (1, 1)
        self.top, self.left = a.padding[0], a.padding[1]
        self.unrolled = self.kh * self.kw <= MAX_UNROLLED_TAPS
        _, self.c, self.h, self.w = (f.dim(d) for d in _nchw(x.shape, a.layout))
        self.oh, self.ow = (f.dim(d) for d in _nchw(out.shape, a.layout)[2:])
        self.rows = _inside(f, self.h, self.oh, self.kh, self.sh, self.dh, self.top)
        self.cols = _inside(f, self.w, self.ow, self.kw, self.sw, self.dw, self.left)

    def taps(self) -> list[tuple[int, int]]:
        """(row, column) offset of each tap from its window's top-left cell, in the checked code's order."""
        return [(ky * self.dh, kx * self.dw) for ky in range(self.kh) for kx in range(self.kw)]

    def split_row(self, f: Function, oy: str) -> tuple[str, str]:
        """[lo, hi): the interior columns of output row ``oy``; empty (at ow) when its window rows leave
        the image."""
        (y0, y1), (x0, x1) = self.rows, self.cols
        inside = _within(f, oy, y0, y1)
        return (f.op(f"select i1 {inside}, i64 {x0}, i64 {self.ow}"),
                f.op(f"select i1 {inside}, i64 {x1}, i64 {self.ow}"))


@contextmanager
def _span(f: Function, lo: str, hi: str, stem: str, parallel: bool = False) -> Iterator[str]:
    """``for i in range(lo, hi)``; yields i. A ``parallel`` loop is left to the loop vectorizer, not
    unrolled whole first (its unrolled body would not vectorize: operands may alias, as far as LLVM knows)."""
    with f.loop(f.op(f"sub nsw i64 {hi}, {lo}"), stem, parallel, unroll=not parallel) as j:
        yield f.op(f"add nsw i64 {lo}, {j}")


@lowers("max_pool2d", "avg_pool2d")
def pool(k: Kernel) -> None:
    """Each output the max (or mean) of its window. NCHW splits the (image, channel) planes over
    threads, NHWC the (image, output row) rows, each with all its channels."""
    out, a, f = k.node.results[0], k.node.attrs, k.f
    nchw = a.layout == "NCHW"
    n_, c_, oh, _ = _nchw(out.shape, a.layout)
    inner = c_ if nchw else oh
    work = f.op(f"mul nsw i64 {k.numel(out)}, {a.kernel[0] * a.kernel[1]}")
    with range_over_threads(k, f.op(f"mul nsw i64 {f.dim(n_)}, {f.dim(inner)}"), work) as q:
        f = k.f  # the split-off function: its own sizes
        n, j = f.op(f"sdiv i64 {q}, {f.dim(inner)}"), f.op(f"srem i64 {q}, {f.dim(inner)}")
        (_plane if nchw else _row)(k, _Window(k), n, j)


def _plane(k: Kernel, win: _Window, n: str, c: str) -> None:
    """The NCHW plane (n, c), row by row: checked left edge, interior, checked right edge."""
    x, out, f = k.node.inputs[0], k.node.results[0], k.f
    if not win.unrolled:
        with f.loop(win.oh, "oy") as oy, f.loop(win.ow, "ox") as ox:
            _pool_at(k, n, c, oy, ox)
        return
    plane = _flat(f, n, win.c, c)
    src = f.gep(x.dtype, k.ins[0], f.op(f"mul nsw i64 {plane}, {f.op(f'mul nsw i64 {win.h}, {win.w}')}"))
    vector = storage_type(x.dtype) in _MASKED and win.sw <= MAX_VECTOR_STRIDE
    with f.loop(win.oh, "oy") as oy:
        lo, hi = win.split_row(f, oy)
        with _span(f, "0", lo, "ox") as ox:
            _pool_at(k, n, c, oy, ox)
        dst = f.gep(out.dtype, k.outs[0], f.op(f"mul nsw i64 {_flat(f, plane, win.oh, oy)}, {win.ow}"))
        y0 = f.op(f"sub nsw i64 {f.op(f'mul nsw i64 {oy}, {win.sh}')}, {win.top}")
        # Where each window row of output column 0 starts (maybe before the row: only interior columns read).
        rows = {dy: f.op(f"sub nsw i64 {f.op(f'mul nsw i64 {_add(f, y0, dy)}, {win.w}')}, {win.left}")
                for dy in range(0, win.kh * win.dh, win.dh)}
        if vector:
            _vector_row(k, win, src, dst, rows, lo, hi)
        else:
            with _span(f, lo, hi, "ix", parallel=True) as ox:
                at = f.op(f"mul nsw i64 {ox}, {win.sw}")
                vals = [f.load(x.dtype, src, f.op(f"add nsw i64 {_add(f, rows[dy], dx)}, {at}"))
                        for dy, dx in win.taps()]
                f.store(out.dtype, _reduce(k, win, vals), dst, ox)
        with _span(f, hi, win.ow, "ox") as ox:
            _pool_at(k, n, c, oy, ox)


def _row(k: Kernel, win: _Window, n: str, oy: str) -> None:
    """NHWC output row (n, oy), the channels of each output innermost: checked left edge, interior (a
    contiguous channel loop, which vectorizes), checked right edge."""
    x, out, f = k.node.inputs[0], k.node.results[0], k.f
    lo, hi = win.split_row(f, oy) if win.unrolled else (win.ow, win.ow)
    with _span(f, "0", lo, "ox") as ox, f.loop(win.c, "c") as c:
        _pool_at(k, n, c, oy, ox)
    if win.unrolled:
        y0 = f.op(f"sub nsw i64 {f.op(f'mul nsw i64 {oy}, {win.sh}')}, {win.top}")
        rows = {dy: _flat(f, n, win.h, _add(f, y0, dy)) for dy in range(0, win.kh * win.dh, win.dh)}
        with _span(f, lo, hi, "ix") as ox:
            x0 = f.op(f"sub nsw i64 {f.op(f'mul nsw i64 {ox}, {win.sw}')}, {win.left}")
            taps = [f.op(f"mul nsw i64 {_flat(f, rows[dy], win.w, _add(f, x0, dx))}, {win.c}")
                    for dy, dx in win.taps()]
            dst = f.op(f"mul nsw i64 {_flat(f, _flat(f, n, win.oh, oy), win.ow, ox)}, {win.c}")
            with f.loop(win.c, "c", parallel=True, unroll=False) as c:  # as _span's
                vals = [f.load(x.dtype, k.ins[0], f.op(f"add nsw i64 {t}, {c}")) for t in taps]
                f.store(out.dtype, _reduce(k, win, vals), k.outs[0], f.op(f"add nsw i64 {dst}, {c}"))
    with _span(f, hi, win.ow, "ox") as ox, f.loop(win.c, "c") as c:
        _pool_at(k, n, c, oy, ox)


def _add(f: Function, v: str, c: int) -> str:
    return f.op(f"add nsw i64 {v}, {c}") if c else v


def _flat(f: Function, outer: str, size: str, i: str) -> str:
    """outer * size + i."""
    return f.op(f"add nsw i64 {f.op(f'mul nsw i64 {outer}, {size}')}, {i}")


# ---- NCHW interior rows in vector IR ----------------------------------------------------------------

def _vector_row(k: Kernel, win: _Window, src: str, dst: str, rows: dict[int, str], lo: str, hi: str) -> None:
    """Interior columns [lo, hi) of an NCHW output row, LANES at a time. What is left after the whole
    blocks is one more block ending at hi (it writes some outputs twice, with the same values); a row
    shorter than a block takes one with its lanes past hi masked."""
    f = k.f
    count = f.op(f"sub nsw i64 {hi}, {lo}")
    full = f.op(f"sdiv i64 {count}, {LANES}")
    with f.loop(full, "vb") as b:
        _vector_block(k, win, src, dst, rows, _flat(f, b, str(LANES), lo), None)
    rest = f.op(f"icmp ne i64 {f.op(f'srem i64 {count}, {LANES}')}, 0")
    with f.when(f.op(f"and i1 {rest}, {f.op(f'icmp sgt i64 {full}, 0')}")):
        _vector_block(k, win, src, dst, rows, f.op(f"sub nsw i64 {hi}, {LANES}"), None)
    with f.when(f.op(f"and i1 {rest}, {f.op(f'icmp eq i64 {full}, 0')}")):
        _vector_block(k, win, src, dst, rows, lo, count)


def _vector_block(k: Kernel, win: _Window, src: str, dst: str, rows: dict[int, str], ox0: str,
                  live: str | None) -> None:
    """Outputs ox0 .. ox0 + LANES - 1 of a row (only the first ``live`` of them when given). Each window
    row is one masked load of the span its taps cover, reading only the elements some live lane needs
    (so nothing outside the image); each tap is a shuffle of it."""
    x, out, f = k.node.inputs[0], k.node.results[0], k.f
    st, s = storage_type(x.dtype), win.sw
    size = x.dtype.itemsize
    length = (LANES - 1) * s + (win.kw - 1) * win.dw + 1
    columns = range(0, win.kw * win.dw, win.dw)  # each tap's offset in a window row
    # The first lane that reads each element of the span (LANES: none does).
    reader = [min([(j - dx) // s for dx in columns if j >= dx and (j - dx) % s == 0] + [LANES])
              for j in range(length)]
    mask = _lanes_below(f, reader, live)
    load = f"llvm.masked.load.v{length}{_MASKED[st]}.p0"
    vt = f"<{length} x {st}>"
    k.declared[load] = f"declare {vt} @{load}(ptr, <{length} x i1>, {vt})"
    at = f.op(f"mul nsw i64 {ox0}, {s}")
    starts = [f.gep(x.dtype, src, f.op(f"add nsw i64 {start}, {at}")) for start in rows.values()]
    spans = [f.op(f"call {vt} @{load}(ptr align {size} {p}, <{length} x i1> {mask}, {vt} poison)")
             for p in starts]
    if win.is_max:  # the max of the window rows first, element by element: fewer taps to shuffle
        spans = [_reduce(k, win, spans, length)]
    vals = []
    for span in spans:
        for dx in columns:
            picks = ", ".join(f"i32 {dx + i * s}" for i in range(LANES))
            vals.append(f.op(f"shufflevector {vt} {span}, {vt} poison, <{LANES} x i32> <{picks}>"))
    result = _reduce(k, win, vals, LANES)
    q = f.gep(out.dtype, dst, ox0)
    if live is None:
        f.raw(f"store <{LANES} x {st}> {result}, ptr {q}, align {size}")
        return
    # The live lanes one by one, from a stack copy (a masked store is slow on AMD's cores).
    tmp = f.alloca(f"<{LANES} x {st}>")
    f.raw(f"store <{LANES} x {st}> {result}, ptr {tmp}, align {size}")
    with f.loop(live, "lane") as i:
        f.store(out.dtype, f.load(out.dtype, tmp, i), q, i)


def _lanes_below(f: Function, lanes: list[int], live: str | None) -> str:
    """The <len x i1> mask lanes[j] < live (< LANES when ``live`` is None, a constant)."""
    if live is None:
        return "<" + ", ".join(f"i1 {'true' if v < LANES else 'false'}" for v in lanes) + ">"
    n = len(lanes)
    one = f.op(f"insertelement <{n} x i64> poison, i64 {live}, i64 0")
    splat = f.op(f"shufflevector <{n} x i64> {one}, <{n} x i64> poison, <{n} x i32> zeroinitializer")
    return f.op(f"icmp slt <{n} x i64> <{', '.join(f'i64 {v}' for v in lanes)}>, {splat}")


# ---- combining the taps -----------------------------------------------------------------------------

def _vec(ty: str, lanes: int | None) -> str:
    return ty if lanes is None else f"<{lanes} x {ty}>"


def _splat(literal: str, ty: str, lanes: int | None) -> str:
    return literal if lanes is None else "<" + ", ".join([f"{ty} {literal}"] * lanes) + ">"


def _reduce(k: Kernel, win: _Window, vals: list[str], lanes: int | None = None) -> str:
    """The max or mean of a window's taps (scalars, or vectors of ``lanes``), as the checked code has
    them: the max starts from the first tap (max(-inf, v) is v, NaN included), the mean adds from 0.0
    (so that -0.0 taps sum to 0.0 there too) and divides by the whole window."""
    dt = k.node.results[0].dtype
    ty, f = compute_type(dt), k.f
    vt = _vec(ty, lanes)
    if win.is_max and dt.is_float:
        return _fmax(k, ty, vals, lanes)
    if win.is_max:
        pred = "ugt" if dt.kind == "uint" else "sgt"
        return reduce(lambda a, b: f.op(f"select {_vec('i1', lanes)} {f.op(f'icmp {pred} {vt} {a}, {b}')}, "
                                        f"{vt} {a}, {vt} {b}"), vals)
    acc = reduce(lambda a, v: f.op(f"fadd {vt} {a}, {v}"), vals, _splat(k.scalar.const(0.0, ty), ty, lanes))
    return f.op(f"fdiv {vt} {acc}, {_splat(k.scalar.const(float(len(vals)), ty), ty, lanes)}")


def _fmax(k: Kernel, ty: str, vals: list[str], lanes: int | None = None) -> str:
    """The max of ``vals`` as llvm.maximum folds it (NaN when one is; +0 above -0), without branches. Two
    taps combine as the bitwise and of both select-max orders, which differ only on ties: a tie keeps
    its common bits (+0 for -0 and +0). NaN is looked for in the taps, beside that chain."""
    f = k.f
    vt, cond, bits = _vec(ty, lanes), _vec("i1", lanes), _vec({"float": "i32", "double": "i64"}[ty], lanes)

    def larger(p: str, q: str) -> str:  # p > q ? p : q, as integer bits
        pick = f.op(f"select {cond} {f.op(f'fcmp ogt {vt} {p}, {q}')}, {vt} {p}, {vt} {q}")
        return f.op(f"bitcast {vt} {pick} to {bits}")

    acc = vals[0]
    for v in vals[1:]:
        acc = f.op(f"bitcast {bits} {f.op(f'and {bits} {larger(acc, v)}, {larger(v, acc)}')} to {vt}")
    if len(vals) == 1:
        return acc
    last = len(vals) - 1
    nan = reduce(lambda m, c: f.op(f"or {cond} {m}, {c}"),  # unordered: either of two taps is NaN
                 [f.op(f"fcmp uno {vt} {vals[i]}, {vals[min(i + 1, last)]}") for i in range(0, last + 1, 2)])
    return f.op(f"select {cond} {nan}, {vt} {_splat(k.scalar.const(np.nan, ty), ty, lanes)}, {vt} {acc}")


# ---- the checked code -------------------------------------------------------------------------------

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
                if is_max and out.dtype.is_float:
                    acc.set(_fmax(k, ty, [acc.get(), v]))
                elif is_max:
                    acc.set(k.scalar.emit("maximum", None, [acc.get(), v], [out.dtype] * 2, out.dtype))
                else:
                    acc.set(k.scalar.emit("add", None, [acc.get(), v], [out.dtype] * 2, out.dtype))
    result = acc.get()
    if not is_max:
        result = f.op(f"fdiv {ty} {result}, {f.op(f'sitofp i64 {count.get()} to {ty}')}")
    f.store(out.dtype, result, k.outs[0], _at(f, out, a.layout, n, c, oy, ox))
