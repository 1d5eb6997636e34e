"""Products with a few rows (1 <= M <= 4) against a B packed ahead of time (gemm.pack_b): a linear layer
at batch 1. The 6x16 micro-kernel would waste (6 - M)/6 of its multiply-adds there, and the product is
bound by streaming B from memory anyway, so each 16-column strip of B is read once, straight from its
packed layout, into M x 2 accumulators per phase.

``gemv_body(name)`` defines (C ABI, row-major f32, the sgemm's contract on columns [16*s0, 16*s1))::

    void name(i64 M, i64 N, i64 K, ptr A, i64 lda, ptr Bp, ptr C, i64 ldc, ptr bias, i32 act,
              i32 accumulate, i64 s0, i64 s1)

The k loop runs P = 4/M phases (k, k+1, ...) into separate accumulators, so that even M = 1 keeps eight
independent FMA chains in flight; the phases are summed at the end. Edge columns (past N) are zero in
the packed B and masked off when C is written, so nothing outside C[:M, :N] is touched.
"""

from __future__ import annotations

from axiom.backends.llvm.gemm import NR, V8, VW, _Fn, _load, relu_v8

MAX_ROWS = 4

_ZERO8 = "zeroinitializer"


def _rows(name: str, rows: int) -> str:
    """``name.rows{rows}``: the product for exactly ``rows`` rows over strips [s0, s1)."""
    phases = max(1, MAX_ROWS // rows)
    halves = NR // VW
    f = _Fn()
    slots = [[[f.op(f"alloca {V8}, align 32", "acc") for _ in range(halves)] for _ in range(rows)]
             for _ in range(phases)]
    arows = [f.gep("float", "%A", f.op(f"mul nsw i64 {r}, %lda")) for r in range(rows)]
    kmain = f.op(f"sub nsw i64 %K, {f.op(f'srem i64 %K, {phases}')}", "kmain")
    with f.loop("s", "%s0", "%s1", 1) as s:
        for slot in (x for phase in slots for row in phase for x in row):
            f.do(f"store {V8} {_ZERO8}, ptr {slot}, align 32")
        strip = f.gep("float", "%B", f.op(f"mul nsw i64 {s}, {f.op(f'mul nsw i64 %K, {NR}')}"), "strip")
        with f.loop("k", "0", kmain, phases) as k:
            for p in range(phases):
                _step(f, strip, arows, f.op(f"add nsw i64 {k}, {p}"), slots[p])
        with f.loop("kt", kmain, "%K", 1) as k:
            _step(f, strip, arows, k, slots[0])
        col = f.op(f"mul nsw i64 {s}, {NR}", "col")
        left = f.op(f"sub nsw i64 %N, {col}", "left")
        masks = [f.lane_mask(left, VW * h) for h in range(halves)]
        for r in range(rows):
            crow = f.gep("float", "%C", f.op(f"add nsw i64 {f.op(f'mul nsw i64 {r}, %ldc')}, {col}"))
            for h in range(halves):
                v = f.op(f"load {V8}, ptr {slots[0][r][h]}, align 32", "v")
                for p in range(1, phases):
                    v = f.op(f"fadd {V8} {v}, {f.op(f'load {V8}, ptr {slots[p][r][h]}, align 32')}", "v")
                _store(f, v, f.gep("float", crow, str(VW * h)), f.gep("float", "%bias", f"{col}"), h,
                       masks[h])
    f.do("ret void")
    return f.text(f"define internal void @{name}.rows{rows}(i64 %N, i64 %K, ptr %A, i64 %lda, ptr %B, "
                  "ptr %C, i64 %ldc, ptr %bias, i1 %relu, i1 %accum, i64 %s0, i64 %s1)")


def _step(f: _Fn, strip: str, arows: list[str], k: str, acc: list[list[str]]) -> None:
    """acc[r][h] += A[r, k] * Bp[strip, k, 8h:8h+8] for every row r and half h."""
    brow = f.gep("float", strip, f.op(f"mul nsw i64 {k}, {NR}"), "brow")
    bvec = [f.op(f"load {V8}, ptr {f.gep('float', brow, str(VW * h))}, align 32", "b")
            for h in range(len(acc[0]))]
    for r, arow in enumerate(arows):
        av = f.splat("float", V8, f.op(f"load float, ptr {f.gep('float', arow, k)}, align 4", "a"))
        for h, b in enumerate(bvec):
            old = f.op(f"load {V8}, ptr {acc[r][h]}, align 32", "o")
            new = f.op(f"call {V8} @llvm.fma.v8f32({V8} {av}, {V8} {b}, {V8} {old})", "n")
            f.do(f"store {V8} {new}, ptr {acc[r][h]}, align 32")


def _store(f: _Fn, v: str, at: str, bias_col: str, h: int, mask: str) -> None:
    """C[at] = act((accumulate ? C[at] : 0) + v + bias), masked to the columns below N; the C and bias
    loads are branches, so a null bias is never read."""
    for cond, ptr, stem in (("%accum", at, "c"), (f.op("icmp ne ptr %bias, null"), None, "b")):
        src = ptr or f.gep("float", bias_col, str(VW * h))
        then, join = f.fresh(f"{stem}.then")[1:], f.fresh(f"{stem}.join")[1:]
        pred = f.block
        f.do(f"br i1 {cond}, label %{then}, label %{join}")
        f.label(then)
        added = f.op(f"fadd {V8} {v}, {_load(f, src, mask)}", "v")
        f.do(f"br label %{join}")
        f.label(join)
        v = f.op(f"phi {V8} [ {added}, %{then} ], [ {v}, %{pred} ]", "v")
    v = relu_v8(f, v, "%relu")
    f.do(f"call void @llvm.masked.store.v8f32.p0({V8} {v}, ptr align 4 {at}, <8 x i1> {mask})")


def gemv_body(name: str) -> str:
    """The definitions of ``name`` (dispatching on M, 1 to 4) and its per-row-count helpers."""
    cases = "\n".join(f"""\
rows{r}:
  call void @{name}.rows{r}(i64 %N, i64 %K, ptr %A, i64 %lda, ptr %B, ptr %C, i64 %ldc, ptr %bias, \
i1 %relu, i1 %accum, i64 %s0, i64 %s1)
  ret void""" for r in range(1, MAX_ROWS + 1))
    switch = " ".join(f"i64 {r}, label %rows{r}" for r in range(2, MAX_ROWS + 1))
    entry = f"""\
define internal void @{name}(i64 %M, i64 %N, i64 %K, ptr %A, i64 %lda, ptr %B, ptr %C, i64 %ldc, \
ptr %bias, i32 %act, i32 %accumulate, i64 %s0, i64 %s1) {{
entry:
  %relu = icmp eq i32 %act, 1
  %accum = icmp ne i32 %accumulate, 0
  switch i64 %M, label %rows1 [ {switch} ]
{cases}
}}
"""
    return "\n".join([*(_rows(name, r) for r in range(1, MAX_ROWS + 1)), entry])
