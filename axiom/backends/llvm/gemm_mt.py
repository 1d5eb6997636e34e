"""The f32 GEMM over threads: ``axiom_sgemm_mt(M, N, K, A, lda, B, ldb, C, ldc, bias, act, accumulate,
threads)`` has the single-threaded ``axiom_sgemm``'s contract (gemm.py) and splits C into blocks of
whole micro-tile columns (16) or rows (6), one block per thread through the parallel-for.

It splits along the longer of M and N, so that the operand every thread packs again (A when the
columns are split, B when the rows are) is the smaller one. Products under ``MIN_PARALLEL_MACS``
multiply-adds (about 15 us of work) stay on the calling thread: handing chunks to the pool's workers
costs a microsecond or two when they are spinning (a module wakes them when it starts a call).
"""

from __future__ import annotations

from axiom.backends.llvm.gemm import MR, NR, gemm_body, gemm_declares
from axiom.backends.llvm.gemv import MAX_ROWS, gemv_body
from axiom.backends.llvm.parallel import (
    CHUNKS_PER_THREAD,
    PARALLEL_FOR,
    PARALLEL_FOR_CHUNKS,
    declare_parallel_for,
)

GEMM = "axiom_sgemm"
MIN_PARALLEL_MACS = 1 << 20
MIN_PARALLEL_GEMV = 1 << 18  # elements of a packed B (1 MiB) from which a few-row product is threaded

_FIELDS = [("i64", "M"), ("i64", "N"), ("i64", "K"), ("ptr", "A"), ("i64", "lda"), ("ptr", "B"),
           ("i64", "ldb"), ("ptr", "C"), ("i64", "ldc"), ("ptr", "bias"), ("i32", "act"), ("i32", "acc"),
           ("i1", "cols")]
_ARGS = ", ".join(f"{t} %{n}" for t, n in _FIELDS[:-1])
_TYPE = "%axiom.gemm = type { " + ", ".join(t for t, _ in _FIELDS) + " }"


def _field(i: int, ptr: str, action: str) -> str:
    ty, name = _FIELDS[i]
    at = f"%f{ptr[1:]}.{name}"
    gep = f"  {at} = getelementptr inbounds %axiom.gemm, ptr {ptr}, i32 0, i32 {i}\n"
    if action == "load":
        return gep + f"  %{name} = load {ty}, ptr {at}\n"
    return gep + f"  store {ty} %{name}, ptr {at}\n"


def _range(v: str, unit: int, bound: str) -> str:
    """Chunk [lo, hi) of ``unit``-wide blocks as rows or columns: %{v}0, %{v}1 (clamped to bound), %{v}{v}."""
    return (f"  %{v}0 = mul i64 %lo, {unit}\n  %{v}1.all = mul i64 %hi, {unit}\n"
            f"  %{v}1.less = icmp slt i64 %{v}1.all, {bound}\n"
            f"  %{v}1 = select i1 %{v}1.less, i64 %{v}1.all, i64 {bound}\n  %{v}{v} = sub i64 %{v}1, %{v}0\n")


def _text(gemm: str, mt: str, a_packed: bool, b_packed: bool) -> str:
    """The chunk function and the threaded entry ``mt`` over the single-threaded ``gemm``."""
    b_off = "mul i64 %n0, %K" if b_packed else "add i64 %n0, 0"  # a packed strip of 16 columns is K*16 floats
    a_off = "mul i64 %m0, %K" if a_packed else "mul i64 %m0, %lda"
    return f"""\
define internal void @{mt}.chunk(ptr %ctx, i64 %lo, i64 %hi) {{
entry:
{"".join(_field(i, "%ctx", "load") for i in range(len(_FIELDS)))}\
  br i1 %cols, label %by.cols, label %by.rows
by.cols:
{_range("n", NR, "%N")}\
  %b.off = {b_off}
  %B.c = getelementptr inbounds float, ptr %B, i64 %b.off
  %C.c = getelementptr inbounds float, ptr %C, i64 %n0
  %has.bias = icmp ne ptr %bias, null
  %bias.at = getelementptr inbounds float, ptr %bias, i64 %n0
  %bias.c = select i1 %has.bias, ptr %bias.at, ptr null
  call void @{gemm}(i64 %M, i64 %nn, i64 %K, ptr %A, i64 %lda, ptr %B.c, i64 %ldb, ptr %C.c, i64 %ldc, \
ptr %bias.c, i32 %act, i32 %acc)
  ret void
by.rows:
{_range("m", MR, "%M")}\
  %a.off = {a_off}
  %A.r = getelementptr inbounds float, ptr %A, i64 %a.off
  %c.off = mul i64 %m0, %ldc
  %C.r = getelementptr inbounds float, ptr %C, i64 %c.off
  call void @{gemm}(i64 %mm, i64 %N, i64 %K, ptr %A.r, i64 %lda, ptr %B, i64 %ldb, ptr %C.r, i64 %ldc, \
ptr %bias, i32 %act, i32 %acc)
  ret void
}}

{_gemv_text(gemm, mt) if b_packed and not a_packed else ""}\
define internal void @{mt}({_ARGS}, i64 %threads) {{
entry:
{_GEMV_ENTRY if b_packed and not a_packed else ""}\
  %mn = mul i64 %M, %N
  %macs = mul i64 %mn, %K
  %small = icmp slt i64 %macs, {MIN_PARALLEL_MACS}
  %one = icmp slt i64 %threads, 2
  %alone = or i1 %small, %one
  br i1 %alone, label %direct, label %split
direct:
  call void @{gemm}(i64 %M, i64 %N, i64 %K, ptr %A, i64 %lda, ptr %B, i64 %ldb, ptr %C, i64 %ldc, \
ptr %bias, i32 %act, i32 %acc)
  ret void
split:
  %cols = icmp sge i64 %N, %M
  %n.up = add i64 %N, {NR - 1}
  %n.units = udiv i64 %n.up, {NR}
  %m.up = add i64 %M, {MR - 1}
  %m.units = udiv i64 %m.up, {MR}
  %units = select i1 %cols, i64 %n.units, i64 %m.units
  %ctx = alloca %axiom.gemm
{"".join(_field(i, "%ctx", "store") for i in range(len(_FIELDS)))}\
  call void @{PARALLEL_FOR}(ptr @{mt}.chunk, ptr %ctx, i64 %units, i64 %threads)
  ret void
}}
"""


_GEMV_ENTRY = f"""\
  %m.less = add i64 %M, -1
  %few = icmp ult i64 %m.less, {MAX_ROWS}
  br i1 %few, label %gemv, label %gemm
gemv:
  %strips.up = add i64 %N, {NR - 1}
  %strips = udiv i64 %strips.up, {NR}
  %kn = mul i64 %K, %N
  %kn.small = icmp slt i64 %kn, {MIN_PARALLEL_GEMV}
  %kn.one = icmp slt i64 %threads, 2
  %kn.alone = or i1 %kn.small, %kn.one
  %gemv.threads = select i1 %kn.alone, i64 1, i64 %threads
  %gctx = alloca %axiom.gemm
{"".join(_field(i, "%gctx", "store") for i in range(len(_FIELDS) - 1))}\
  %gemv.chunks = mul i64 %gemv.threads, {CHUNKS_PER_THREAD}
  call void @{PARALLEL_FOR_CHUNKS}(ptr @GEMV_CHUNK, ptr %gctx, i64 %strips, i64 %gemv.threads, \
i64 %gemv.chunks)
  ret void
gemm:
"""


def _gemv_text(gemm: str, mt: str) -> str:
    """The few-row product over packed B (gemv.py) and its chunk function over 16-column strips."""
    return f"""\
{gemv_body(gemm + "_gemv")}
define internal void @{mt}.gemv_chunk(ptr %ctx, i64 %lo, i64 %hi) {{
entry:
{"".join(_field(i, "%ctx", "load") for i in range(len(_FIELDS) - 1))}\
  call void @{gemm}_gemv(i64 %M, i64 %N, i64 %K, ptr %A, i64 %lda, ptr %B, ptr %C, i64 %ldc, ptr %bias, \
i32 %act, i32 %acc, i64 %lo, i64 %hi)
  ret void
}}

"""


def declare_sgemm_mt(declared: dict[str, str], a_packed: bool = False, b_packed: bool = False) -> str:
    """Add the threaded GEMM (and the GEMM and parallel-for it calls) to a module's ``declared``; its name.
    ``a_packed``/``b_packed``: that operand comes packed ahead of time (gemm.pack_a / gemm.pack_b)."""
    gemm = GEMM + ("_pa" if a_packed else "") + ("_pb" if b_packed else "")
    mt = gemm + "_mt"
    if mt not in declared:
        declared.update(gemm_declares())
        declared["%axiom.gemm"] = _TYPE
        declared[gemm] = gemm_body(gemm, a_packed, b_packed).replace(
            f"define void @{gemm}(", f"define internal void @{gemm}(")
        declare_parallel_for(declared)
        declare_parallel_for(declared, chunks=True)
        declared[mt] = _text(gemm, mt, a_packed, b_packed).replace("@GEMV_CHUNK", f"@{mt}.gemv_chunk")
    return mt
