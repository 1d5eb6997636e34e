"""A direct f32 convolution tile loop, rendered as LLVM IR text: no column matrix, the input is read where
it lies. ``direct_body(name)`` defines (C ABI)::

    void name(ptr x, ptr pix, i64 p0, i64 p1, ptr koff, i64 K, ptr w, i64 s0, i64 s1, i64 cout, i64 P,
              ptr bias, ptr res, ptr out, i1 relu)

It is its own module, compiled once per process (and cached on disk like any other) and linked into
kernel modules by symbol, as the thread pool is: inside a model's module its optimisation cost about a
second of ResNet-18's compile (2.7 -> 4.1 s of CPU), alone about 0.3 s.

``name`` computes, for output pixels p in [p0, p1) of one image and output channels o in strips [s0, s1)
(channels 16*s0 up to min(16*s1, cout)), pixel tiles outermost,
``out[o*P + p] = act(sum_k w[o, k] * x[pix[p] + koff[k]] + bias[o] + res[o*P + p])``:

- ``x`` is the image, padded so that every window lies inside it; ``pix[p]`` (i64) is where output
  pixel p's window starts and ``koff[k]`` (i64) where tap k (channel, kernel row, kernel column) lies
  from there, so strides, dilations and kernel sizes are all just tables.
- ``w`` is the weight matrix packed by ``pack_direct``: ``[ceil(cout/16), K, 16]`` channel strips.
- The tile is 6 pixels x 16 channels, 12 ``<8 x float>`` accumulators vectorized over channels (the
  GEMM's micro-tile with A broadcast from the image itself). Each 8-channel half is transposed in
  registers to rows of 6 pixels, which are contiguous in the NCHW output.
- ``bias`` holds ``ceil(cout/16)*16`` floats (zeros past cout; all zeros for no bias), added to the
  channel vectors before the transpose, as is relu when there is no residual. ``res`` may be null or
  ``out`` itself (each element is read before it is
  written). Pixels past p1 read pixel p1 - 1 and are not stored; channels past ``cout`` have zero
  weights and are not stored, so nothing outside ``out[:cout*P]`` is written.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from axiom.backends.llvm.gemm import _DECLS, V8, VW, _Fn, aligned_zeros, relu_v8

DIRECT = "axiom_conv_direct"
TP = 6  # pixels per tile
TC = 16  # channels per tile: two <8 x float>
_ZERO = "zeroinitializer"


def pack_direct(w: np.ndarray) -> np.ndarray:
    """A conv weight [cout, cin, kh, kw] as ``[ceil(cout/16), K, 16]`` (channels past cout zero)."""
    cout = w.shape[0]
    mat = w.reshape(cout, -1)
    strips = -(-cout // TC)
    padded = np.zeros((strips * TC, mat.shape[1]), np.float32)
    padded[:cout] = mat
    out = aligned_zeros((strips, mat.shape[1], TC))
    out[...] = padded.reshape(strips, TC, -1).transpose(0, 2, 1)
    return out


def _transpose(f: _Fn, rows: list[str]) -> list[str]:
    """The 8x8 transpose of ``rows`` (8 ``<8 x float>``): column c of the input as vector c."""
    def shuf(a: str, b: str, lanes: list[int]) -> str:
        mask = ", ".join(f"i32 {i}" for i in lanes)
        return f.op(f"shufflevector {V8} {a}, {V8} {b}, <8 x i32> <{mask}>", "tr")

    lo, hi = [0, 8, 1, 9, 4, 12, 5, 13], [2, 10, 3, 11, 6, 14, 7, 15]
    t = []
    for i in range(0, 8, 2):
        t += [shuf(rows[i], rows[i + 1], lo), shuf(rows[i], rows[i + 1], hi)]
    ll, hh = [0, 1, 8, 9, 4, 5, 12, 13], [2, 3, 10, 11, 6, 7, 14, 15]
    u = [shuf(t[0], t[2], ll), shuf(t[0], t[2], hh), shuf(t[1], t[3], ll), shuf(t[1], t[3], hh),
         shuf(t[4], t[6], ll), shuf(t[4], t[6], hh), shuf(t[5], t[7], ll), shuf(t[5], t[7], hh)]
    first, second = [0, 1, 2, 3, 8, 9, 10, 11], [4, 5, 6, 7, 12, 13, 14, 15]
    return [shuf(u[i], u[i + 4], first) for i in range(4)] + [shuf(u[i], u[i + 4], second) for i in range(4)]


def _row_out(f: _Fn, v: str, o: str, full: bool, label: str) -> None:
    """Output channel o's row of the tile (``v``, lanes = pixels, bias added): residual, relu, store."""
    at = f.op(f"add nsw i64 {f.op(f'mul nsw i64 {o}, %P')}, %t", "at")
    dst = f.gep("float", "%out", at)
    pred = f.block
    f.do(f"br i1 %hasres, label %{label}.res, label %{label}.st")
    f.label(f"{label}.res")
    src = f.gep("float", "%res", at)
    if full:
        r6 = f.op(f"load <{TP} x float>, ptr {src}, align 4", "r6")
        lanes = ", ".join(f"i32 {i}" for i in range(TP)) + ", i32 poison" * (VW - TP)
        r = f.op(f"shufflevector <{TP} x float> {r6}, <{TP} x float> poison, <8 x i32> <{lanes}>", "r")
    else:
        r = _ZERO
        for i in range(TP):
            ok = f.op(f"icmp slt i64 {i}, %n", "ok")
            p = f.gep("float", src, f.op(f"select i1 {ok}, i64 {i}, i64 0"))
            x = f.op(f"select i1 {ok}, float {f.op(f'load float, ptr {p}', 'rx')}, float 0.0", "rx")
            r = f.op(f"insertelement {V8} {r}, float {x}, i64 {i}", "r")
    withres = relu_v8(f, f.op(f"fadd {V8} {v}, {r}", "v"), "%relu")
    f.do(f"br label %{label}.st")
    f.label(f"{label}.st")
    v = f.op(f"phi {V8} [ {v}, %{pred} ], [ {withres}, %{label}.res ]", "v")
    if full:
        lanes = ", ".join(f"i32 {i}" for i in range(TP))
        f.do(f"store <{TP} x float> {f.op(f'shufflevector {V8} {v}, {V8} poison, <{TP} x i32> <{lanes}>')}, "
             f"ptr {dst}, align 4")
        return
    for i in range(TP):
        ok = f.op(f"icmp slt i64 {i}, %n", "ok")
        f.do(f"br i1 {ok}, label %{label}.s{i}, label %{label}.done")
        f.label(f"{label}.s{i}")
        f.do(f"store float {f.op(f'extractelement {V8} {v}, i64 {i}')}, ptr {f.gep('float', dst, str(i))}")
    f.do(f"br label %{label}.done")
    f.label(f"{label}.done")


def _epilogue(f: _Fn, acc: list[list[str]], full: bool, tag: str) -> None:
    """Store the tile's accumulators: bias (and relu, when no residual follows) on the channel vectors,
    each 8-channel half transposed, then row by row."""
    for h in range(TC // VW):
        bias = f.op(f"load {V8}, ptr {f.gep('float', '%bias', f.op(f'add nsw i64 %oc, {h * VW}'))}, align 4")
        rows = [relu_v8(f, f.op(f"fadd {V8} {acc[r][h]}, {bias}", "v"), "%relu.early") for r in range(TP)]
        cols = _transpose(f, rows + [_ZERO] * (VW - TP))
        for c, v in enumerate(cols):
            o = f.op(f"add nsw i64 %oc, {h * VW + c}", "o")
            label = f"{tag}{h}_{c}"
            f.do(f"br i1 {f.op(f'icmp slt i64 {o}, %cout', 'in')}, label %{label}, label %{label}.skip")
            f.label(label)
            _row_out(f, v, o, full, label)
            f.do(f"br label %{label}.skip")
            f.label(f"{label}.skip")


def direct_body(name: str) -> str:
    """The definition of the tile loop ``name`` (see the module docstring)."""
    f = _Fn()
    f.do("%hasres = icmp ne ptr %res, null")
    f.do("%relu.early = and i1 %relu, " + f.op("xor i1 %hasres, true"))
    f.do("%last = add nsw i64 %p1, -1")
    with f.loop("tile", "%p0", "%p1", TP) as t:
        f.do(f"%t = add i64 {t}, 0")
        f.do(f"%n = call i64 @llvm.smin.i64(i64 {TP}, i64 {f.op(f'sub nsw i64 %p1, {t}')})")
        bases = []
        for r in range(TP):
            p = f.smin(f.op(f"add nsw i64 {t}, {r}"), "%last")
            bases.append(f.gep("float", "%x", f.op(f"load i64, ptr {f.gep('i64', '%pix', p)}", "po"), "base"))
        with f.loop("strip", "%s0", "%s1", 1) as s:
            f.do(f"%oc = mul nsw i64 {s}, {TC}")
            wb = f.gep("float", "%w", f.op(f"mul nsw i64 {s}, %KC"), "wb")
            acc = _k_loop(f, bases, wb)
            f.do(f"br i1 {f.op(f'icmp eq i64 %n, {TP}', 'full')}, label %full, label %edge")
            f.label("full")
            _epilogue(f, acc, True, "f")
            f.do("br label %stored")
            f.label("edge")
            _epilogue(f, acc, False, "e")
            f.do("br label %stored")
            f.label("stored")
    f.do("ret void")
    head = (f"define internal void @{name}(ptr noalias %x, ptr noalias %pix, i64 %p0, i64 %p1, "
            "ptr noalias %koff, i64 %K, ptr noalias %w, i64 %s0, i64 %s1, i64 %cout, i64 %P, "
            "ptr noalias %bias, ptr %res, ptr %out, i1 %relu)")
    text = f.text(head)
    prologue = f"  %KC = mul nsw i64 %K, {TC}\n"
    return text.replace("entry:\n", "entry:\n" + prologue, 1)


def _k_loop(f: _Fn, bases: list[str], wb: str) -> list[list[str]]:
    """The accumulators after the sum over K taps for the tile's pixels (``bases``) and one strip."""
    halves = TC // VW
    names = [[f.fresh(f"acc{r}_{h}_") for h in range(halves)] for r in range(TP)]
    nexts = [[f"{n}.next" for n in row] for row in names]
    pred = f.block
    f.count += 1
    head, body, done = (f"k{f.count}.{s}" for s in ("head", "body", "done"))
    f.do(f"br label %{head}")
    f.label(head)
    k = f"%k{f.count}"
    f.do(f"{k} = phi i64 [ 0, %{pred} ], [ {k}.next, %{body} ]")
    for r in range(TP):
        for h in range(halves):
            f.do(f"{names[r][h]} = phi {V8} [ {_ZERO}, %{pred} ], [ {nexts[r][h]}, %{body} ]")
    f.do(f"br i1 {f.op(f'icmp slt i64 {k}, %K', 'more')}, label %{body}, label %{done}")
    f.label(body)
    off = f.op(f"load i64, ptr {f.gep('i64', '%koff', k)}", "off")
    wrow = f.gep("float", wb, f.op(f"mul nsw i64 {k}, {TC}"), "wrow")
    wv = [f.op(f"load {V8}, ptr {f.gep('float', wrow, str(VW * h))}, align 32", "wv") for h in range(halves)]
    for r in range(TP):
        a = f.op(f"load float, ptr {f.gep('float', bases[r], off)}, align 4", "a")
        av = f.splat("float", V8, a)
        for h in range(halves):
            f.do(f"{nexts[r][h]} = call {V8} @llvm.fma.v8f32({V8} {av}, {V8} {wv[h]}, {V8} {names[r][h]})")
    f.do(f"{k}.next = add nsw i64 {k}, 1")
    f.do(f"br label %{head}")
    f.label(done)
    return names


def declare_direct(declared: dict[str, str]) -> str:
    """Declare the tile loop in a kernel module (the runtime links it: ``ensure_direct``); its name."""
    params = "ptr, ptr, i64, i64, ptr, i64, ptr, i64, i64, i64, i64, ptr, ptr, ptr, i1"
    declared[DIRECT] = f"declare void @{DIRECT}({params})"
    return DIRECT


@functools.lru_cache(maxsize=1)
def _module() -> Any:
    import llvmlite.binding as llvm

    from axiom.backends.llvm.target import compile_module

    text = "\n".join([_DECLS, direct_body(DIRECT).replace("define internal", "define", 1)])
    compiled = compile_module(text, DIRECT)
    llvm.add_symbol(DIRECT, compiled.address)
    return compiled  # kept alive for the life of the process


def ensure_direct() -> None:
    """Make ``axiom_conv_direct`` available to modules about to be loaded."""
    _module()
