"""The thread pool's parallel-for: every index of the range is visited exactly once, over many jobs in a
row (a worker late for one job must not take chunks of the next), for any thread count, when two
Python threads call at once (one of them then runs alone) and across calls that send the workers to
sleep as they end; chunks really run on other threads."""

from __future__ import annotations

import ctypes
import functools
import threading

import numpy as np
import pytest

pytest.importorskip("llvmlite.binding")

from axiom.backends.llvm.parallel import declare_parallel_for, ensure_pool  # noqa: E402
from axiom.backends.llvm.target import compile_module  # noqa: E402

# chunk(ctx, lo, hi): ctx = [counts ptr, thread ids ptr]; counts[i] += 1 for i in [lo, hi), and the
# chunk's first slot records which thread ran it. Ranges past 100000 also spin a few milliseconds, so
# the calling thread cannot finish every chunk before a worker wakes.
_BODY = """
declare i64 @pthread_self()
define internal void @chunk(ptr %ctx, i64 %lo, i64 %hi) {
entry:
  %counts = load ptr, ptr %ctx
  %pids = getelementptr inbounds ptr, ptr %ctx, i64 1
  %ids = load ptr, ptr %pids
  %self = call i64 @pthread_self()
  %slot = getelementptr inbounds i64, ptr %ids, i64 %lo
  store i64 %self, ptr %slot
  br label %head
head:
  %i = phi i64 [ %lo, %entry ], [ %i1, %body ]
  %more = icmp slt i64 %i, %hi
  br i1 %more, label %body, label %done
body:
  %p = getelementptr inbounds i32, ptr %counts, i64 %i
  %c = load i32, ptr %p
  %c1 = add i32 %c, 1
  store i32 %c1, ptr %p
  %i1 = add i64 %i, 1
  br label %head
done:
  %slow = icmp sgt i64 %hi, 100000
  br i1 %slow, label %wait, label %out
wait:
  %w = phi i64 [ 0, %done ], [ %w1, %wait ]
  store volatile i64 %w, ptr %slot
  %w1 = add i64 %w, 1
  %waiting = icmp slt i64 %w1, 3000000
  br i1 %waiting, label %wait, label %restore
restore:
  store i64 %self, ptr %slot
  br label %out
out:
  ret void
}
define void @run(ptr %ctx, i64 %n, i64 %threads) {
entry:
  call void @axiom_parallel_for(ptr @chunk, ptr %ctx, i64 %n, i64 %threads)
  ret void
}
declare void @axiom_pool_wake()
declare void @axiom_pool_rest()
define void @call(ptr %ctx, i64 %n, i64 %threads) {
entry:
  call void @axiom_pool_wake()
  call void @axiom_parallel_for(ptr @chunk, ptr %ctx, i64 %n, i64 %threads)
  call void @axiom_pool_rest()
  ret void
}
"""
_keep: list[object] = []


@functools.cache
def _run(entry: str = "run"):  # noqa: ANN202
    """``run`` (one parallel-for) or ``call`` (as a compiled model's entry: wake, parallel-for, rest)."""
    ensure_pool()
    declared: dict[str, str] = {}
    declare_parallel_for(declared)
    compiled = compile_module("\n".join([*declared.values(), _BODY]), "run", use_cache=False)
    _keep.append(compiled)
    address = compiled.engine.get_function_address(entry)
    return ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64)(address)


def _job(n: int, threads: int, entry: str = "run") -> tuple[np.ndarray, np.ndarray]:
    counts, ids = np.zeros(max(n, 1), np.int32), np.zeros(max(n, 1), np.int64)
    ctx = (ctypes.c_void_p * 2)(counts.ctypes.data, ids.ctypes.data)
    _run(entry)(ctx, n, threads)
    return counts[:n], ids


@pytest.mark.parametrize("threads", [1, 2, 3, 5])
def test_every_index_once_over_many_jobs(threads: int) -> None:
    for job in range(300):
        n = [0, 1, 2, 7, 64, 1000][job % 6]
        counts, _ = _job(n, threads)
        assert (counts == 1).all(), (job, n, threads, counts)


@pytest.mark.parametrize("threads", [2, 3])
def test_workers_sent_to_rest_come_back(threads: int) -> None:
    """Calls that end by sending the workers to sleep (axiom_pool_rest) and start by waking them: every
    index once, call after call, with plain jobs in between (which must wake them on their own)."""
    for job in range(300):
        n = [1, 7, 64, 1000, 5000][job % 5]
        counts, _ = _job(n, threads, "call" if job % 3 else "run")
        assert (counts == 1).all(), (job, n, threads, counts)


@pytest.mark.parametrize("entry", ["run", "call"])
def test_chunks_run_on_other_threads(entry: str) -> None:
    starts = [0, 100_000, 200_000]  # n * k // 3
    seen = set()
    for _ in range(50):  # the caller takes chunks too: on a busy machine it may take all of one job's
        _, ids = _job(300_000, 3, entry)
        seen = {int(ids[s]) for s in starts}
        if len(seen) > 1:
            break
    assert len(seen) > 1


def test_two_callers_at_once() -> None:
    errors: list[str] = []

    def caller() -> None:
        for _ in range(200):
            counts, _ = _job(5000, 2)
            if not (counts == 1).all():
                errors.append("an index was not visited exactly once")

    workers = [threading.Thread(target=caller) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not errors
