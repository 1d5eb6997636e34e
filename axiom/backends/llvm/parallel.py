"""The parallel-for that generated code calls: ``axiom_parallel_for(fn, ctx, n, threads)`` runs
``fn(ctx, lo, hi)`` over ``[0, n)`` split into ``min(threads, n)`` even chunks and returns when every
chunk is done; ``axiom_parallel_for_chunks(fn, ctx, n, threads, chunks)`` cuts the range finer, into
``min(max(chunks, threads), n)`` chunks, which whichever thread is free claims. No Python runs meanwhile.

It is one process-wide pool of POSIX threads, compiled once (its own module, in the disk cache like
any other) and linked into every kernel module by symbol. Workers start on first use and then stay:
after a job a worker polls for the next one for about 2 microseconds, then sleeps on a futex. A
compiled call wakes the workers as it starts, so that they are on their way when its first large
kernel is posted, and tells them as it ends (``axiom_pool_rest``) to sleep without polling at all.

Why so short a spin: next to PyTorch in one process, its OpenMP worker spins for milliseconds after
each torch call. A worker of ours that spun for 0.5 ms between jobs stayed runnable through our
whole call, so it shared a core with that spinner, used up its time slice and was preempted while
holding a chunk; the caller then waited out the spinner's slice. In the CPU benchmark's rounds that
made the MNIST CNN at batch 32 3-4x slower in whole rows at random (one of two runs: 3.7 ms against
1.0). A worker that sleeps between jobs wakes with the scheduler's favour and finishes its chunk;
the same rounds with the short spin had row medians of 1.0-2.2 ms. A worker that wakes late takes no chunk:
the caller has claimed them all.

The calling thread takes chunks too, so a job finishes even when no worker could be started. One job
runs at a time: a call made while another is running (from a second Python thread, or from inside a
chunk) runs its range on the calling thread.

Claiming is lock-free: ``next`` packs (generation, chunk count, next chunk) in one word, so a worker
that wakes late for an earlier job can never claim a chunk of the current one. Workers get an 8 MiB
stack: the GEMM keeps its packing buffers (about 660 KiB) there, and a worker that lives on keeps
those pages mapped, where a thread started per call would fault them in every time.
"""

from __future__ import annotations

import functools
from typing import Any

PARALLEL_FOR = "axiom_parallel_for"
PARALLEL_FOR_CHUNKS = "axiom_parallel_for_chunks"
POOL_WAKE = "axiom_pool_wake"
POOL_REST = "axiom_pool_rest"
STACK_BYTES = 8 << 20
MAX_CHUNKS = 0xFFFF  # the chunk count and index fields of ``next`` are 16 bits
CHUNKS_PER_THREAD = 4  # what kernels ask of the chunked entry: a late or slowed thread leaves work to others
SPINS = 1 << 6  # polls of the generation word before a worker sleeps (about 2 us here)


def declare_parallel_for(declared: dict[str, str], chunks: bool = False) -> str:
    """Declare the pool's entry point in a kernel module (the runtime links it); its name. ``chunks``: the
    entry with a fifth argument, how many chunks to cut the range into (at least one per thread), so that
    a thread that starts late or runs slow (another process on its core) leaves its share to the others."""
    if chunks:
        declared[PARALLEL_FOR_CHUNKS] = f"declare void @{PARALLEL_FOR_CHUNKS}(ptr, ptr, i64, i64, i64)"
        return PARALLEL_FOR_CHUNKS
    declared[PARALLEL_FOR] = f"declare void @{PARALLEL_FOR}(ptr, ptr, i64, i64)"
    return PARALLEL_FOR


def _futex(triple: str) -> int | None:
    """The futex system call number on this Linux target, else None (workers then only spin/yield)."""
    if "linux" not in triple:
        return None
    return {"x86_64": 202, "aarch64": 98}.get(triple.split("-", 1)[0])


def pool_ir(triple: str) -> str:
    """The pool's module for ``triple``."""
    futex = _futex(triple)
    pause = "call void @llvm.x86.sse2.pause()" if triple.startswith("x86_64") else "call i32 @sched_yield()"
    if futex is not None:
        sleep = (f"call i64 (i64, ...) @syscall(i64 {futex}, ptr @pool.gen, i32 128, i32 %seen, ptr null)"
                 "  ; FUTEX_WAIT_PRIVATE")
        wake = f"call i64 (i64, ...) @syscall(i64 {futex}, ptr @pool.gen, i32 129, i32 2147483647)"
    else:
        sleep, wake = "call i32 @sched_yield()", "call i32 @sched_yield()"
    return _POOL.format(PARALLEL_FOR=PARALLEL_FOR, PARALLEL_FOR_CHUNKS=PARALLEL_FOR_CHUNKS,
                        POOL_WAKE=POOL_WAKE, POOL_REST=POOL_REST, STACK=STACK_BYTES, MAX_CHUNKS=MAX_CHUNKS,
                        SPINS=SPINS,
                        PAUSE=pause, SLEEP=sleep, WAKE=wake, LOCK_JOB=_try_lock("grow", "alone"),
                        LOCK_WAKE=_try_lock("post", "out"))


def _try_lock(won: str, lost: str) -> str:
    """Take the pool's lock if it is free: on to label ``won``, else to ``lost`` (without waiting)."""
    return (f"  %got = cmpxchg ptr @pool.lock, i32 0, i32 1 acquire monotonic\n"
            f"  %free = extractvalue {{ i32, i1 }} %got, 1\n"
            f"  br i1 %free, label %{won}, label %{lost}")


_POOL = """\
@pool.lock = internal global i32 0
@pool.gen = internal global i32 0
@pool.rest = internal global i32 0   ; 1: the call is over, idle workers sleep without spinning
@pool.next = internal global i64 0    ; gen << 32 | chunks << 16 | next chunk
@pool.done = internal global i64 0
@pool.workers = internal global i64 0
@pool.fn = internal global ptr null
@pool.ctx = internal global ptr null
@pool.n = internal global i64 0

declare i32 @pthread_create(ptr, ptr, ptr, ptr)
declare i32 @pthread_detach(i64)
declare i32 @pthread_attr_init(ptr)
declare i32 @pthread_attr_setstacksize(ptr, i64)
declare i32 @pthread_attr_destroy(ptr)
declare i32 @sched_yield()
declare i64 @syscall(i64, ...)
declare void @llvm.x86.sse2.pause()

; Claim and run chunks of job %g until none is left (or a newer job has replaced it).
define internal void @pool.work(i32 %g) {{
entry:
  %g64 = zext i32 %g to i64
  br label %claim
claim:
  %v = load atomic i64, ptr @pool.next acquire, align 8
  %vg = lshr i64 %v, 32
  %same = icmp eq i64 %vg, %g64
  br i1 %same, label %check, label %out
check:
  %idx = and i64 %v, 65535
  %cs = lshr i64 %v, 16
  %chunks = and i64 %cs, 65535
  %left = icmp ult i64 %idx, %chunks
  br i1 %left, label %take, label %out
take:
  %v1 = add i64 %v, 1
  %pair = cmpxchg ptr @pool.next, i64 %v, i64 %v1 acq_rel acquire
  %won = extractvalue {{ i64, i1 }} %pair, 1
  br i1 %won, label %run, label %claim
run:
  %fn = load ptr, ptr @pool.fn
  %ctx = load ptr, ptr @pool.ctx
  %n = load i64, ptr @pool.n
  %a = mul i64 %n, %idx
  %lo = udiv i64 %a, %chunks
  %idx1 = add i64 %idx, 1
  %b = mul i64 %n, %idx1
  %hi = udiv i64 %b, %chunks
  call void %fn(ptr %ctx, i64 %lo, i64 %hi)
  atomicrmw add ptr @pool.done, i64 1 release
  br label %claim
out:
  ret void
}}

; A worker: wait for a new generation (spin, then sleep), work on it, repeat.
define internal ptr @pool.worker(ptr %unused) {{
entry:
  br label %wait
wait:
  %seen = phi i32 [ 0, %entry ], [ %g, %work ]
  br label %spin
spin:
  %i = phi i32 [ 0, %wait ], [ %i1, %poll ], [ 0, %sleep ]
  %g = load atomic i32, ptr @pool.gen acquire, align 4
  %new = icmp ne i32 %g, %seen
  br i1 %new, label %work, label %poll
poll:
  {PAUSE}
  %i1 = add i32 %i, 1
  %spun = icmp sge i32 %i1, {SPINS}
  %rest = load atomic i32, ptr @pool.rest monotonic, align 4
  %resting = icmp ne i32 %rest, 0
  %tired = or i1 %spun, %resting
  br i1 %tired, label %sleep, label %spin
sleep:
  {SLEEP}
  br label %spin
work:
  call void @pool.work(i32 %g)
  br label %wait
}}

define void @{PARALLEL_FOR}(ptr %fn, ptr %ctx, i64 %n, i64 %threads) {{
entry:
  call void @{PARALLEL_FOR_CHUNKS}(ptr %fn, ptr %ctx, i64 %n, i64 %threads, i64 %threads)
  ret void
}}

define void @{PARALLEL_FOR_CHUNKS}(ptr %fn, ptr %ctx, i64 %n, i64 %threads, i64 %chunks) {{
entry:
  %fewer = icmp slt i64 %threads, %n
  %t0 = select i1 %fewer, i64 %threads, i64 %n
  %capped = icmp sgt i64 %t0, {MAX_CHUNKS}
  %t = select i1 %capped, i64 {MAX_CHUNKS}, i64 %t0
  %c.low = icmp slt i64 %chunks, %t
  %c0 = select i1 %c.low, i64 %t, i64 %chunks
  %c.high = icmp sgt i64 %c0, %n
  %c1 = select i1 %c.high, i64 %n, i64 %c0
  %c.cap = icmp sgt i64 %c1, {MAX_CHUNKS}
  %c = select i1 %c.cap, i64 {MAX_CHUNKS}, i64 %c1
  %one = icmp slt i64 %t, 2
  br i1 %one, label %alone, label %lock
lock:
{LOCK_JOB}
alone:
  call void %fn(ptr %ctx, i64 0, i64 %n)
  ret void
grow:
  %have = load i64, ptr @pool.workers
  %want = sub i64 %t, 1
  %short = icmp slt i64 %have, %want
  br i1 %short, label %start, label %post
start:
  %attr = alloca [64 x i8], align 16
  %id = alloca i64
  call i32 @pthread_attr_init(ptr %attr)
  call i32 @pthread_attr_setstacksize(ptr %attr, i64 {STACK})
  br label %start.loop
start.loop:
  %k = phi i64 [ %have, %start ], [ %k1, %started ]
  %more = icmp slt i64 %k, %want
  br i1 %more, label %start.one, label %start.done
start.one:
  %rc = call i32 @pthread_create(ptr %id, ptr %attr, ptr @pool.worker, ptr null)
  %ok = icmp eq i32 %rc, 0
  br i1 %ok, label %started, label %start.done
started:
  %tid = load i64, ptr %id
  call i32 @pthread_detach(i64 %tid)
  %k1 = add i64 %k, 1
  store i64 %k1, ptr @pool.workers
  br label %start.loop
start.done:
  call i32 @pthread_attr_destroy(ptr %attr)
  br label %post
post:
  %old = load atomic i32, ptr @pool.gen monotonic, align 4
  %g = add i32 %old, 1
  %g64 = zext i32 %g to i64
  %tag = shl i64 %g64, 32
  store atomic i64 %tag, ptr @pool.next release, align 8   ; no chunks: late workers stop here
  store ptr %fn, ptr @pool.fn
  store ptr %ctx, ptr @pool.ctx
  store i64 %n, ptr @pool.n
  store atomic i64 0, ptr @pool.done monotonic, align 8
  %cfield = shl i64 %c, 16
  %open = or i64 %tag, %cfield
  store atomic i64 %open, ptr @pool.next release, align 8
  store atomic i32 %g, ptr @pool.gen release, align 4
  {WAKE}
  call void @pool.work(i32 %g)
  br label %join
join:
  %j = phi i64 [ 0, %post ], [ %j1, %join.poll ], [ 0, %join.yield ]
  %done = load atomic i64, ptr @pool.done acquire, align 8
  %all = icmp uge i64 %done, %c
  br i1 %all, label %finish, label %join.poll
join.poll:
  {PAUSE}
  %j1 = add i64 %j, 1
  %long = icmp sgt i64 %j1, 4096
  br i1 %long, label %join.yield, label %join
join.yield:
  call i32 @sched_yield()
  br label %join
finish:
  store atomic i32 0, ptr @pool.lock release, align 4
  ret void
}}

; Wake sleeping workers with an empty job, so that they spin, ready, when the first parallel-for of a
; call comes (a futex wake takes tens of microseconds to get a worker running).
define void @{POOL_WAKE}() {{
entry:
  store atomic i32 0, ptr @pool.rest monotonic, align 4
  %have = load i64, ptr @pool.workers
  %none = icmp eq i64 %have, 0
  br i1 %none, label %out, label %lock
lock:
{LOCK_WAKE}
post:
  %old = load atomic i32, ptr @pool.gen monotonic, align 4
  %g = add i32 %old, 1
  %g64 = zext i32 %g to i64
  %tag = shl i64 %g64, 32
  store atomic i64 %tag, ptr @pool.next release, align 8   ; a job of no chunks
  store atomic i32 %g, ptr @pool.gen release, align 4
  {WAKE}
  store atomic i32 0, ptr @pool.lock release, align 4
  br label %out
out:
  ret void
}}

; The end of a call: idle workers sleep now rather than spin on, so that they do not hold a core while
; the caller (or another library in the process) runs something else.
define void @{POOL_REST}() {{
entry:
  store atomic i32 1, ptr @pool.rest monotonic, align 4
  ret void
}}
"""


@functools.lru_cache(maxsize=1)
def _pool() -> Any:
    """Compile the pool once per process and make its entry point resolvable by every later module."""
    import llvmlite.binding as llvm

    from axiom.backends.llvm.target import compile_module, host

    compiled = compile_module(pool_ir(host().triple), PARALLEL_FOR)
    llvm.add_symbol(PARALLEL_FOR, compiled.address)
    for name in (PARALLEL_FOR_CHUNKS, POOL_WAKE, POOL_REST):
        llvm.add_symbol(name, compiled.engine.get_function_address(name))
    return compiled  # kept alive for the life of the process


def ensure_pool() -> None:
    """Make ``axiom_parallel_for`` available to modules about to be loaded."""
    _pool()
