"""A tuned single-threaded f32 GEMM, rendered as LLVM IR text for the LLVM CPU backend.

``gemm_ir(name)`` returns a module defining (C ABI, row-major f32)::

    void name(i64 M, i64 N, i64 K, ptr A, i64 lda, ptr B, i64 ldb, ptr C, i64 ldc,
              ptr bias, i32 act, i32 accumulate)

which computes ``C = act((accumulate ? C : 0) + A @ B + bias)`` with ``A[M, K]``, ``B[K, N]``,
``C[M, N]``, ``bias`` a per-column ``f32[N]`` or null, ``act`` 0 (none) or 1 (relu, NaN kept).
It is the BLIS/GotoBLAS loop nest (jc -> pc -> ic -> jr -> ir):

- B is packed per (NC x KC) block into 16-column strips, A per (MC x KC) block into 6-row
  strips; both buffers are fixed-size stack ``alloca``s (about 660 KiB with the default
  constants, probed page by page), so the ABI needs no workspace argument.
- The 6x16 micro-kernel holds 12 ``<8 x float>`` accumulators (6 rows x two vectors) and does
  one ``llvm.fma.v8f32`` per accumulator and k, reading only the packed buffers.
- Edges: packing zero-fills the rows/columns past M/N (A via a clamped in-bounds load and a
  select, B via ``llvm.masked.load``), so the micro-kernel always runs full tiles; a full C
  tile is updated with plain vector loads/stores, an edge tile element by element from a stack
  copy of its accumulators. Nothing outside ``A[:M, :K]``,
  ``B[:K, :N]``, ``C[:M, :N]``, ``bias[:N]`` is touched; K = 0 still writes ``act(C0 + bias)``.
- Epilogue: bias and activation are applied when the last K block is stored; C is only read
  from the second K block on, or in accumulate mode. These are branches, not all-off masks:
  on Zen 3 a masked load with every lane off (say from a null bias) still costs a slow
  micro-code assist, which cost 15% of the GFLOP/s when it was done that way.
- Stack buffers keep the kernel reentrant: each thread of a later parallel-for packs its own.

Default block sizes for Zen 3 / AVX2 (32 KiB L1d, 512 KiB L2, 16 ymm registers):
MR x NR = 6 x 16 uses 12 + 2 (B row) + 1 (A broadcast) = 15 ymm; KC = 256 keeps a 16 KiB B
strip (KC x NR) in L1; MC = 144 keeps the 144 KiB A block (MC x KC) in L2; NC = 512 bounds the
512 KiB B block (KC x NC), which streams from L2/L3.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np

MR = 6  # micro-tile rows (A strip height)
NR = 16  # micro-tile columns (B strip width): two <8 x float>
VW = 8  # f32 lanes in an AVX2 register
MC = 144  # rows of A per packed block (multiple of MR): 144 x 256 x 4 B = 144 KiB, for L2
KC = 256  # depth of a packed block: a KC x NR strip of B is 16 KiB, for L1
NC = 512  # columns of B per packed block (multiple of NR): 256 x 512 x 4 B = 512 KiB

V8 = "<8 x float>"
_ZERO8 = "zeroinitializer"

_DECLS = f"""\
declare {V8} @llvm.fma.v8f32({V8}, {V8}, {V8})
declare {V8} @llvm.masked.load.v8f32.p0(ptr, <8 x i1>, {V8})
declare void @llvm.masked.store.v8f32.p0({V8}, ptr, <8 x i1>)
declare i64 @llvm.smin.i64(i64, i64)
declare i64 @llvm.smax.i64(i64, i64)
declare void @llvm.prefetch.p0(ptr, i32, i32, i32)
"""


class _Fn:
    """Builds one function body: fresh SSA names, the current block, counted loops."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.count = 0
        self.block = "entry"

    def fresh(self, hint: str) -> str:
        self.count += 1
        return f"%{hint}{self.count}"

    def op(self, text: str, hint: str = "t") -> str:
        name = self.fresh(hint)
        self.lines.append(f"  {name} = {text}")
        return name

    def do(self, text: str) -> None:
        self.lines.append(f"  {text}")

    def label(self, name: str) -> None:
        self.lines.append(f"{name}:")
        self.block = name

    def gep(self, ty: str, base: str, index: str, hint: str = "p") -> str:
        return self.op(f"getelementptr {ty}, ptr {base}, i64 {index}", hint)

    def smin(self, a: str, b: str) -> str:
        return self.op(f"call i64 @llvm.smin.i64(i64 {a}, i64 {b})", "min")

    def splat(self, ty: str, vec: str, scalar: str) -> str:
        one = self.op(f"insertelement {vec} poison, {ty} {scalar}, i64 0", "ins")
        return self.op(f"shufflevector {vec} {one}, {vec} poison, <8 x i32> zeroinitializer", "splat")

    def lane_mask(self, count: str, first_lane: int) -> str:
        """``<8 x i1>``: lane l is on when ``first_lane + l < count`` (count is an i64)."""
        n = self.op(f"trunc i64 {count} to i32")
        lanes = ", ".join(f"i32 {first_lane + i}" for i in range(VW))
        return self.op(f"icmp slt <8 x i32> <{lanes}>, {self.splat('i32', '<8 x i32>', n)}", "mask")

    @contextmanager
    def loop(self, hint: str, lo: str, hi: str, step: int | str) -> Iterator[str]:
        """``for (iv = lo; iv < hi; iv += step)``; yields the induction variable."""
        self.count += 1
        head, body, latch, done = (f"{hint}{self.count}.{s}" for s in ("head", "body", "latch", "done"))
        iv, nxt = f"%{hint}{self.count}", f"%{hint}{self.count}.next"
        pred = self.block
        self.do(f"br label %{head}")
        self.label(head)
        self.do(f"{iv} = phi i64 [ {lo}, %{pred} ], [ {nxt}, %{latch} ]")
        cond = self.op(f"icmp slt i64 {iv}, {hi}", "c")
        self.do(f"br i1 {cond}, label %{body}, label %{done}")
        self.label(body)
        yield iv
        self.do(f"br label %{latch}")
        self.label(latch)
        self.do(f"{nxt} = add nsw i64 {iv}, {step}")
        self.do(f"br label %{head}")
        self.label(done)

    def text(self, signature: str) -> str:
        return "\n".join([f"{signature} {{", "entry:", *self.lines, "}", ""])


def _pack_a(name: str) -> str:
    """``pa[s*kc + k*MR + r] = A[s + r, k]`` for 6-row strips s, zero for rows >= mc."""
    f = _Fn()
    last_row = f.op("add nsw i64 %mc, -1")
    with f.loop("s", "0", "%mc", MR) as s:
        strip = f.gep("float", "%pa", f.op(f"mul nsw i64 {s}, %kc"))
        rows = []
        for r in range(MR):
            row = f.op(f"add nsw i64 {s}, {r}", "row")
            valid = f.op(f"icmp slt i64 {row}, %mc", "valid")
            safe = f.smin(row, last_row)  # an in-bounds row to load from; its value is dropped
            rows.append((valid, f.gep("float", "%a", f.op(f"mul nsw i64 {safe}, %lda"), "src")))
        with f.loop("k", "0", "%kc", 1) as k:
            dst = f.gep("float", strip, f.op(f"mul nsw i64 {k}, {MR}"), "dst")
            for r, (valid, src) in enumerate(rows):
                x = f.op(f"load float, ptr {f.gep('float', src, k)}, align 4", "x")
                x = f.op(f"select i1 {valid}, float {x}, float 0.0", "x")
                f.do(f"store float {x}, ptr {f.gep('float', dst, str(r))}, align 4")
    f.do("ret void")
    return f.text(f"define internal void @{name}.pack_a(ptr noalias %pa, ptr %a, i64 %lda, i64 %mc, i64 %kc)")


def _pack_b(name: str) -> str:
    """``pb[t*kc + k*NR + c] = B[k, t + c]`` for 16-column strips t, zero for columns >= nc."""
    f = _Fn()
    with f.loop("t", "0", "%nc", NR) as t:
        left = f.op(f"sub nsw i64 %nc, {t}", "left")
        masks = [f.lane_mask(left, VW * h) for h in range(NR // VW)]
        strip = f.gep("float", "%pb", f.op(f"mul nsw i64 {t}, %kc"))
        with f.loop("k", "0", "%kc", 1) as k:
            src = f.gep("float", "%b", f.op(f"add nsw i64 {f.op(f'mul nsw i64 {k}, %ldb')}, {t}"), "src")
            dst = f.gep("float", strip, f.op(f"mul nsw i64 {k}, {NR}"), "dst")
            for h, mask in enumerate(masks):
                x = f.op(
                    f"call {V8} @llvm.masked.load.v8f32.p0(ptr align 4 {f.gep('float', src, str(VW * h))}, "
                    f"<8 x i1> {mask}, {V8} {_ZERO8})",
                    "x",
                )
                f.do(f"store {V8} {x}, ptr {f.gep('float', dst, str(VW * h))}, align 32")
    f.do("ret void")
    return f.text(f"define internal void @{name}.pack_b(ptr noalias %pb, ptr %b, i64 %ldb, i64 %nc, i64 %kc)")


def _micro(name: str) -> str:
    """One MR x NR tile: ``C[:mr, :nr] = epilogue(C? + pa-strip @ pb-strip)`` over kc steps."""
    f = _Fn()
    acc0 = [[_ZERO8] * (NR // VW) for _ in range(MR)]
    names = [[f"%acc{i}_{h}" for h in range(NR // VW)] for i in range(MR)]
    nexts = [[f"%acc{i}_{h}.next" for h in range(NR // VW)] for i in range(MR)]
    _prefetch_tile(f)
    f.do("br label %k.head")
    f.label("k.head")
    f.do("%k = phi i64 [ 0, %prefetched ], [ %k.next, %k.body ]")
    for i in range(MR):
        for h in range(NR // VW):
            f.do(f"{names[i][h]} = phi {V8} [ {acc0[i][h]}, %prefetched ], [ {nexts[i][h]}, %k.body ]")
    f.do("%k.more = icmp slt i64 %k, %kc")
    f.do("br i1 %k.more, label %k.body, label %store")
    f.label("k.body")
    brow = f.gep("float", "%pb", f.op(f"mul nsw i64 %k, {NR}"), "brow")
    bvec = [
        f.op(f"load {V8}, ptr {f.gep('float', brow, str(VW * h))}, align 32", "b") for h in range(NR // VW)
    ]
    acol = f.gep("float", "%pa", f.op(f"mul nsw i64 %k, {MR}"), "acol")
    for i in range(MR):
        a = f.op(f"load float, ptr {f.gep('float', acol, str(i))}, align 4", "a")
        av = f.splat("float", V8, a)
        for h in range(NR // VW):
            f.do(f"{nexts[i][h]} = call {V8} @llvm.fma.v8f32({V8} {av}, {V8} {bvec[h]}, {V8} {names[i][h]})")
    f.do("%k.next = add nsw i64 %k, 1")
    f.do("br label %k.head")
    f.label("store")
    _store_tile(f, names)
    return f.text(
        f"define internal void @{name}.micro(i64 %kc, ptr noalias %pa, ptr noalias %pb, ptr %c, i64 %ldc, "
        "i64 %mr, i64 %nr, i1 %first, i1 %last, ptr %bias, i1 %relu)"
    )


def _prefetch_tile(f: _Fn) -> None:
    """Prefetch the first and last element of each C row of the tile (clamped to the valid rows and
    columns, so every address is inside C) while the k loop runs, as BLIS micro-kernels do."""
    last_col = f.op("add nsw i64 %nr, -1", "lastcol")
    for i in range(MR):
        row = f.op(f"mul nsw i64 {f.smin(str(i), f.op('add nsw i64 %mr, -1'))}, %ldc", "prow")
        for col in (row, f.op(f"add nsw i64 {row}, {last_col}")):
            f.do(f"call void @llvm.prefetch.p0(ptr {f.gep('float', '%c', col)}, i32 1, i32 3, i32 1)")
    f.do("br label %prefetched")
    f.label("prefetched")


def _store_tile(f: _Fn, acc: list[list[str]]) -> None:
    """Write the accumulators into C: plain vector loads/stores for a full tile, element by element
    for an edge tile. C is read only when not ``first``; bias and relu are
    applied only on the ``last`` K block. Those are branches, never loads with an all-off mask."""
    has_bias = f.op("icmp ne ptr %bias, null", "hasbias")
    add_bias = f.op(f"and i1 %last, {has_bias}", "addbias")
    do_relu = f.op("and i1 %last, %relu", "dorelu")
    read_c = f.op("xor i1 %first, true", "readc")
    full = f.op(f"and i1 {f.op(f'icmp eq i64 %mr, {MR}')}, {f.op(f'icmp eq i64 %nr, {NR}')}", "full")
    f.do(f"br i1 {full}, label %full, label %edge")
    f.label("full")
    _full_tile(f, [v for row in acc for v in row], read_c, add_bias, do_relu)
    f.do("ret void")
    f.label("edge")
    _edge_tile(f, [v for row in acc for v in row], read_c, add_bias, do_relu)
    f.do("ret void")


def _edge_tile(f: _Fn, vals: list[str], read_c: str, add_bias: str, do_relu: str) -> None:
    """An edge tile (mr < 6 or nr < 16): the accumulators go to a stack tile, and only its valid mr x nr
    part is written to C, element by element, so no load or store has all its lanes off (masked ones
    did that for the rows past mr). Single-thread minimum times against the masked version: 16x784x9
    13 -> 11 us, 32x196x144 unchanged at 31 us."""
    tile = f.op(f"alloca [{MR * NR} x float], align 32", "tile")
    for j, v in enumerate(vals):
        f.do(f"store {V8} {v}, ptr {f.gep('float', tile, str(VW * j))}, align 32")
    with f.loop("er", "0", "%mr", 1) as r:
        crow = f.gep("float", "%c", f.op(f"mul nsw i64 {r}, %ldc"), "crow")
        trow = f.gep("float", tile, f.op(f"mul nsw i64 {r}, {NR}"), "trow")
        with f.loop("ec", "0", "%nr", 1) as c:
            at = f.gep("float", crow, c)
            v = f.op(f"load float, ptr {f.gep('float', trow, c)}, align 4", "v")
            old = f.op(f"load float, ptr {at}, align 4", "old")  # inside C: read even when unused
            v = f.op(f"select i1 {read_c}, float {f.op(f'fadd float {old}, {v}')}, float {v}", "v")
            src = f.op(f"select i1 {add_bias}, ptr {f.gep('float', '%bias', c)}, ptr {at}", "src")
            b = f.op(f"load float, ptr {src}, align 4", "b")
            v = f.op(f"select i1 {add_bias}, float {f.op(f'fadd float {v}, {b}')}, float {v}", "v")
            neg = f.op(f"fcmp olt float {v}, 0.0", "neg")
            v = f.op(f"select i1 {f.op(f'and i1 {do_relu}, {neg}')}, float 0.0, float {v}", "v")
            f.do(f"store float {v}, ptr {at}, align 4")


def _full_tile(f: _Fn, vals: list[str], read_c: str, add_bias: str, do_relu: str) -> None:
    """A full 6x16 tile: plain vector loads and stores; ``vals`` are the accumulators row by row."""
    halves = NR // VW
    ptrs = []
    for i in range(MR):
        crow = f.gep("float", "%c", f.op(f"mul nsw i64 {i}, %ldc"), "crow")
        ptrs.extend(f.gep("float", crow, str(VW * h)) for h in range(halves))

    def add_c() -> list[str]:
        return [f.op(f"fadd {V8} {_load(f, p, None)}, {v}", "v") for v, p in zip(vals, ptrs, strict=True)]

    def add_b() -> list[str]:
        bias = [_load(f, f.gep("float", "%bias", str(VW * h)), None) for h in range(halves)]
        return [f.op(f"fadd {V8} {v}, {bias[j % halves]}", "v") for j, v in enumerate(vals)]

    vals = _when(f, read_c, "full.addc", add_c, vals)
    vals = _when(f, add_bias, "full.bias", add_b, vals)
    for v, p in zip(vals, ptrs, strict=True):
        v = relu_v8(f, v, do_relu)
        f.do(f"store {V8} {v}, ptr {p}, align 4")


def relu_v8(f: _Fn, v: str, when: str) -> str:
    """``when ? relu(v) : v`` for an ``<8 x float>`` (an i1 ``when``); NaN and -0.0 are kept."""
    neg = f.op(f"fcmp olt {V8} {v}, {_ZERO8}", "neg")
    clip = f.op(f"select <8 x i1> {neg}, {V8} {_ZERO8}, {V8} {v}", "clip")
    return f.op(f"select i1 {when}, {V8} {clip}, {V8} {v}", "v")


def _load(f: _Fn, ptr: str, mask: str | None) -> str:
    """An unaligned ``<8 x float>`` load, masked (zeros in the off lanes) when ``mask`` is given."""
    if mask is None:
        return f.op(f"load {V8}, ptr {ptr}, align 4", "ld")
    return f.op(
        f"call {V8} @llvm.masked.load.v8f32.p0(ptr align 4 {ptr}, <8 x i1> {mask}, {V8} {_ZERO8})", "ld"
    )


def _when(f: _Fn, cond: str, label: str, body: Callable[[], list[str]], vals: list[str]) -> list[str]:
    """``vals = cond ? body() : vals`` as a branch (so the body's loads only run when needed)."""
    pred = f.block
    f.do(f"br i1 {cond}, label %{label}, label %{label}.join")
    f.label(label)
    new = body()
    end = f.block
    f.do(f"br label %{label}.join")
    f.label(f"{label}.join")
    return [f.op(f"phi {V8} [ {n}, %{end} ], [ {o}, %{pred} ]", "j") for n, o in zip(new, vals, strict=True)]


def _driver(name: str, a_packed: bool = False, b_packed: bool = False) -> str:
    """The loop nest: pack B per (KC x NC) block, A per (MC x KC) block, run the micro-kernel. An operand
    packed ahead of time (``pack_a``/``pack_b`` below) is read in place instead."""
    f = _Fn()
    if not b_packed:
        f.do(f"%pb = alloca [{KC * NC} x float], align 64")
    if not a_packed:
        f.do(f"%pa = alloca [{MC * KC} x float], align 64")
    f.do("%relu = icmp eq i32 %act, 1")
    f.do("%acc = icmp ne i32 %accumulate, 0")
    f.do("%kend = call i64 @llvm.smax.i64(i64 %K, i64 1)")  # one K block even when K = 0
    f.do(f"%by.strip = icmp sle i64 %M, {MC}")  # B strips are then used by one row block only
    f.do("%by.block = xor i1 %by.strip, true")
    with f.loop("jc", "0", "%N", NC) as jc:
        nc = f.smin(str(NC), f.op(f"sub nsw i64 %N, {jc}"))
        with f.loop("pc", "0", "%kend", KC) as pc:
            kc = f.smin(str(KC), f.op(f"sub nsw i64 %K, {pc}"))
            kc = f.op(f"call i64 @llvm.smax.i64(i64 {kc}, i64 0)", "kc")
            first = f.op(f"icmp eq i64 {pc}, 0")
            first = f.op(f"select i1 %acc, i1 false, i1 {first}", "first")
            last = f.op(f"icmp sge i64 {f.op(f'add nsw i64 {pc}, {KC}')}, %K", "last")
            if not b_packed:
                bblock = f.gep("float", "%B", f.op(f"add nsw i64 {f.op(f'mul nsw i64 {pc}, %ldb')}, {jc}"))
                pack = f"call void @{name}.pack_b(ptr %pb, ptr {bblock}, i64 %ldb, i64 {nc}, i64 {kc})"
                _call_if(f, "%by.block", pack)
            with f.loop("ic", "0", "%M", MC) as ic:
                mc = f.smin(str(MC), f.op(f"sub nsw i64 %M, {ic}"))
                if not a_packed:
                    aoff = f.op(f"add nsw i64 {f.op(f'mul nsw i64 {ic}, %lda')}, {pc}")
                    ablock = f.gep("float", "%A", aoff)
                    f.do(f"call void @{name}.pack_a(ptr %pa, ptr {ablock}, i64 %lda, i64 {mc}, i64 {kc})")
                with f.loop("jr", "0", nc, NR) as jr:
                    nr = f.smin(str(NR), f.op(f"sub nsw i64 {nc}, {jr}"))
                    col = f.op(f"add nsw i64 {jc}, {jr}", "col")
                    if b_packed:
                        pbs = _strip(f, "%B", col, pc, NR)
                    else:  # one row block (M <= MC): each strip packed into the buffer's start as it comes
                        bstrip = f.gep("float", bblock, jr)
                        _call_if(f, "%by.strip", f"call void @{name}.pack_b(ptr %pb, ptr {bstrip}, i64 %ldb, "
                                                 f"i64 {nr}, i64 {kc})")
                        at = f.op(f"select i1 %by.strip, i64 0, i64 {f.op(f'mul nsw i64 {jr}, {kc}')}")
                        pbs = f.gep("float", "%pb", at)
                    has_bias = f.op("icmp ne ptr %bias, null")
                    bias = f.op(f"select i1 {has_bias}, ptr {f.gep('float', '%bias', col)}, ptr null", "bias")
                    with f.loop("ir", "0", mc, MR) as ir:
                        mr = f.smin(str(MR), f.op(f"sub nsw i64 {mc}, {ir}"))
                        row = f.op(f"add nsw i64 {ic}, {ir}", "row")
                        pas = (_strip(f, "%A", row, pc, MR) if a_packed
                               else f.gep("float", "%pa", f.op(f"mul nsw i64 {ir}, {kc}")))
                        ctile = f.gep(
                            "float", "%C", f.op(f"add nsw i64 {f.op(f'mul nsw i64 {row}, %ldc')}, {col}")
                        )
                        f.do(
                            f"call void @{name}.micro(i64 {kc}, ptr {pas}, ptr {pbs}, ptr {ctile}, i64 %ldc, "
                            f"i64 {mr}, i64 {nr}, i1 {first}, i1 {last}, ptr {bias}, i1 %relu)"
                        )
    f.do("ret void")
    return f.text(
        f"define void @{name}(i64 %M, i64 %N, i64 %K, ptr %A, i64 %lda, ptr %B, i64 %ldb, ptr %C, i64 %ldc, "
        'ptr %bias, i32 %act, i32 %accumulate) "probe-stack"="inline-asm"'
    )


def _call_if(f: _Fn, cond: str, call: str) -> None:
    """``if (cond) call`` as a branch."""
    then, join = f.fresh("then")[1:], f.fresh("join")[1:]
    f.do(f"br i1 {cond}, label %{then}, label %{join}")
    f.label(then)
    f.do(call)
    f.do(f"br label %{join}")
    f.label(join)


def _strip(f: _Fn, packed: str, first: str, pc: str, width: int) -> str:
    """Where k = pc of the strip starting at row/column ``first`` lies in an operand packed ahead of time:
    strip s = first/width is ``K x width`` floats at ``s * K * width``, so this is first*K + pc*width."""
    at = f.op(f"add nsw i64 {f.op(f'mul nsw i64 {first}, %K')}, {f.op(f'mul nsw i64 {pc}, {width}')}")
    return f.gep("float", packed, at)


def aligned_zeros(shape: tuple[int, ...], align: int = 64) -> np.ndarray:
    """A zeroed f32 array whose data starts on an ``align``-byte boundary (the micro-kernel loads packed
    B strips with aligned vector loads)."""
    n = int(np.prod(shape))
    raw = np.zeros(n + align // 4, np.float32)
    skip = (-raw.ctypes.data % align) // 4
    return raw[skip:skip + n].reshape(shape)


def pack_a(a: np.ndarray) -> np.ndarray:
    """A[M, K] packed ahead of time as ``[ceil(M/6), K, 6]`` row strips (rows past M zero), the layout the
    micro-kernel streams; for ``gemm_body(..., a_packed=True)``."""
    m, k = a.shape
    out = aligned_zeros((-(-m // MR), k, MR))
    padded = np.zeros((out.shape[0] * MR, k), np.float32)
    padded[:m] = a
    out[...] = padded.reshape(out.shape[0], MR, k).transpose(0, 2, 1)  # explicit: k may be 0
    return out


def pack_b(b: np.ndarray) -> np.ndarray:
    """B[K, N] packed ahead of time as ``[ceil(N/16), K, 16]`` column strips (columns past N zero)."""
    k, n = b.shape
    out = aligned_zeros((-(-n // NR), k, NR))
    padded = np.zeros((k, out.shape[0] * NR), np.float32)
    padded[:, :n] = b
    out[...] = padded.reshape(k, out.shape[0], NR).transpose(1, 0, 2)  # explicit: k may be 0
    return out


def gemm_ir(name: str = "axiom_sgemm") -> str:
    """LLVM IR text of a module defining the sgemm entry point ``name`` and its internal helpers."""
    return "\n".join([_DECLS, gemm_body(name)])


def gemm_declares() -> dict[str, str]:
    """The ``declare`` line of each intrinsic the GEMM calls, by function name (to merge into a module's)."""
    return {line.split("@", 1)[1].split("(", 1)[0]: line for line in _DECLS.splitlines()}


def gemm_body(name: str, a_packed: bool = False, b_packed: bool = False) -> str:
    """The definitions of ``name`` and its helpers, without the intrinsics' declarations. With
    ``a_packed`` (``b_packed``) the A (B) argument is the operand packed by ``pack_a`` (``pack_b``);
    lda (ldb) is then unused."""
    return "\n".join([_pack_a(name), _pack_b(name), _micro(name), _driver(name, a_packed, b_packed)])
