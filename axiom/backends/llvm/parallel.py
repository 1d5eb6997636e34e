"""The parallel-for that generated code calls: ``axiom_parallel_for(fn, ctx, n, threads)`` runs
``fn(ctx, lo, hi)`` over ``[0, n)`` split into ``min(threads, n)`` even chunks, one per POSIX thread,
the calling thread taking the first; it returns when every chunk is done. No Python runs meanwhile.

Threads are started per call (about 50 us for a start and a join here), so callers use it only for
work that takes far longer than that. A thread that cannot be started runs its chunk on the caller
instead, so the result never depends on the thread count. Workers get an 8 MiB stack: the GEMM keeps
its packing buffers (about 660 KiB) on the stack.
"""

from __future__ import annotations

PARALLEL_FOR = "axiom_parallel_for"
STACK_BYTES = 8 << 20

_DECLARES = {
    "pthread_create": "declare i32 @pthread_create(ptr, ptr, ptr, ptr)",
    "pthread_join": "declare i32 @pthread_join(i64, ptr)",
    "pthread_attr_init": "declare i32 @pthread_attr_init(ptr)",
    "pthread_attr_setstacksize": "declare i32 @pthread_attr_setstacksize(ptr, i64)",
    "pthread_attr_destroy": "declare i32 @pthread_attr_destroy(ptr)",
}

# A task is { fn, ctx, lo, hi }; pthread_t is an unsigned long, pthread_attr_t at most 64 bytes (glibc).
_BODY = f"""\
%axiom.task = type {{ ptr, ptr, i64, i64 }}

define internal ptr @axiom_task_run(ptr %t) {{
entry:
  %fn = load ptr, ptr %t
  %pctx = getelementptr inbounds %axiom.task, ptr %t, i32 0, i32 1
  %ctx = load ptr, ptr %pctx
  %plo = getelementptr inbounds %axiom.task, ptr %t, i32 0, i32 2
  %lo = load i64, ptr %plo
  %phi = getelementptr inbounds %axiom.task, ptr %t, i32 0, i32 3
  %hi = load i64, ptr %phi
  call void %fn(ptr %ctx, i64 %lo, i64 %hi)
  ret ptr null
}}

define internal void @{PARALLEL_FOR}(ptr %fn, ptr %ctx, i64 %n, i64 %threads) {{
entry:
  %fewer = icmp slt i64 %threads, %n
  %t = select i1 %fewer, i64 %threads, i64 %n
  %serial = icmp slt i64 %t, 2
  br i1 %serial, label %alone, label %spawn
alone:
  call void %fn(ptr %ctx, i64 0, i64 %n)
  ret void
spawn:
  %attr = alloca [64 x i8], align 16
  %tasks = alloca %axiom.task, i64 %t
  %ids = alloca i64, i64 %t
  %started = alloca i1, i64 %t
  call i32 @pthread_attr_init(ptr %attr)
  call i32 @pthread_attr_setstacksize(ptr %attr, i64 {STACK_BYTES})
  br label %start.head
start.head:
  %i = phi i64 [ 1, %spawn ], [ %i.next, %start.latch ]
  %more = icmp slt i64 %i, %t
  br i1 %more, label %start.body, label %start.done
start.body:
  %a = mul i64 %n, %i
  %lo = udiv i64 %a, %t
  %i.next = add i64 %i, 1
  %b = mul i64 %n, %i.next
  %hi = udiv i64 %b, %t
  %task = getelementptr inbounds %axiom.task, ptr %tasks, i64 %i
  store ptr %fn, ptr %task
  %pctx = getelementptr inbounds %axiom.task, ptr %task, i32 0, i32 1
  store ptr %ctx, ptr %pctx
  %plo = getelementptr inbounds %axiom.task, ptr %task, i32 0, i32 2
  store i64 %lo, ptr %plo
  %phi = getelementptr inbounds %axiom.task, ptr %task, i32 0, i32 3
  store i64 %hi, ptr %phi
  %id = getelementptr inbounds i64, ptr %ids, i64 %i
  %rc = call i32 @pthread_create(ptr %id, ptr %attr, ptr @axiom_task_run, ptr %task)
  %ok = icmp eq i32 %rc, 0
  %flag = getelementptr inbounds i1, ptr %started, i64 %i
  store i1 %ok, ptr %flag
  br i1 %ok, label %start.latch, label %start.inline
start.inline:
  call void %fn(ptr %ctx, i64 %lo, i64 %hi)
  br label %start.latch
start.latch:
  br label %start.head
start.done:
  %first = udiv i64 %n, %t
  call void %fn(ptr %ctx, i64 0, i64 %first)
  br label %join.head
join.head:
  %j = phi i64 [ 1, %start.done ], [ %j.next, %join.latch ]
  %jmore = icmp slt i64 %j, %t
  br i1 %jmore, label %join.body, label %join.done
join.body:
  %jflag = getelementptr inbounds i1, ptr %started, i64 %j
  %was = load i1, ptr %jflag
  br i1 %was, label %join.wait, label %join.latch
join.wait:
  %jid = getelementptr inbounds i64, ptr %ids, i64 %j
  %tid = load i64, ptr %jid
  call i32 @pthread_join(i64 %tid, ptr null)
  br label %join.latch
join.latch:
  %j.next = add i64 %j, 1
  br label %join.head
join.done:
  call i32 @pthread_attr_destroy(ptr %attr)
  ret void
}}
"""


def declare_parallel_for(declared: dict[str, str]) -> str:
    """Add ``axiom_parallel_for`` (internal to the module) and what it calls to ``declared``; its name."""
    if PARALLEL_FOR not in declared:
        declared.update(_DECLARES)
        declared[PARALLEL_FOR] = _BODY
    return PARALLEL_FOR
