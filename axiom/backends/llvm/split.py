"""Run part of a kernel over threads: the code emitted inside ``over_threads`` becomes a function of its
own, ``fn(ctx, lo, hi)``, which the parallel-for (parallel.py) calls on chunks of a range; the kernel's
parameters reach it through ``ctx`` under their own names, so emitters write the body as usual.

Thresholds are in units of work that take roughly a nanosecond each (an element streamed, a
multiply-add): handing chunks to spinning workers costs about a microsecond, to sleeping ones tens.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from axiom.backends.llvm.emit import Function
from axiom.backends.llvm.kernel import Kernel
from axiom.backends.llvm.parallel import CHUNKS_PER_THREAD, declare_parallel_for

MIN_PARALLEL_WORK = 1 << 16  # elements from which a streaming kernel splits over threads
MIN_SPLIT_MACS = 1 << 20  # multiply-adds of a batch of small products worth splitting by item
SPLIT_ITEMS_BELOW = 1 << 22  # products smaller than this split by item (one dispatch, not one per item)


def threads_for(k: Kernel, work: str, minimum: int = MIN_PARALLEL_WORK) -> str:
    """An i64 operand: the kernel's threads when ``work`` (an i64 operand) reaches ``minimum``, else 1."""
    if k.threads < 2 or work == "0":
        return "1"
    big = k.f.op(f"icmp sge i64 {work}, {minimum}")
    return k.f.op(f"select i1 {big}, i64 {k.threads}, i64 1")


@contextmanager
def over_threads(k: Kernel, count: str, threads: str) -> Iterator[tuple[str, str]]:
    """Emit the body into a new function run over chunks [lo, hi) of [0, count) on ``threads`` threads
    (an i64 operand; 1 runs the whole range on the calling thread); yields (lo, hi). Values computed
    before the body belong to the kernel's function and cannot be used inside it: recompute them, or
    pass them in with ``carrying``."""
    with carrying(k, count, threads, []) as (lo, hi, _):
        yield lo, hi


@contextmanager
def carrying(k: Kernel, count: str, threads: str,
             values: Sequence[tuple[str, str]]) -> Iterator[tuple[str, str, list[str]]]:
    """``over_threads`` that also hands the body ``values`` ((type, operand) pairs, ``ptr`` or ``i64``,
    computed by the kernel before it); yields (lo, hi, the values as the body sees them)."""
    if threads == "1":  # one thread whatever the size: no function of its own
        yield "0", count, [v for _, v in values]
        return
    outer = k.f
    body = Function(f"{outer.name}.part{len(outer.parts)}", ["ptr %ctx", "i64 %lo", "i64 %hi"],
                    outer.symbols, meta=outer.meta)
    params = [p.split()[-1] for p in outer.params]
    slots = [("ptr", p) for p in params] + list(values)
    inside = []
    for i, (ty, _) in enumerate(slots):
        at = body.op(f"getelementptr inbounds ptr, ptr %ctx, i64 {i}")
        if i < len(params):  # the kernel's parameters keep their names
            body.raw(f"{params[i]} = load ptr, ptr {at}")
            continue
        v = body.op(f"load ptr, ptr {at}")
        inside.append(v if ty == "ptr" else body.op(f"ptrtoint ptr {v} to i64"))
    k.f = body
    try:
        yield "%lo", "%hi", inside
    finally:
        k.f = outer
    outer.parts.append(body.text())
    ctx = outer.alloca(f"[{len(slots)} x ptr]")
    for i, (ty, v) in enumerate(slots):
        v = v if ty == "ptr" else outer.op(f"inttoptr i64 {v} to ptr")
        outer.raw(f"store ptr {v}, ptr {outer.op(f'getelementptr inbounds ptr, ptr {ctx}, i64 {i}')}")
    chunks = outer.op(f"mul nsw i64 {threads}, {CHUNKS_PER_THREAD}")
    outer.raw(f"call void @{declare_parallel_for(k.declared, chunks=True)}(ptr @{body.name}, ptr {ctx}, "
              f"i64 {count}, i64 {threads}, i64 {chunks})")


def unflatten(f: Function, q: str, shape: list[str]) -> list[str]:
    """The multi-index (outermost first) of flat row-major index ``q`` in ``shape`` (i64 operands)."""
    idx = []
    for d in reversed(shape[1:]):
        idx.append(f.op(f"srem i64 {q}, {d}"))
        q = f.op(f"sdiv i64 {q}, {d}")
    return [q, *reversed(idx)] if shape else []


@contextmanager
def range_over_threads(k: Kernel, count: str, work: str, minimum: int = MIN_PARALLEL_WORK,
                       stem: str = "s") -> Iterator[str]:
    """``for i in range(count)`` with the iterations split over the kernel's threads when ``work`` (an
    i64 operand, for the whole range) reaches ``minimum``; yields i (inside the split-off function)."""
    threads = threads_for(k, work, minimum)
    with over_threads(k, count, threads) as (lo, hi):
        f = k.f
        with f.loop(f.op(f"sub nsw i64 {hi}, {lo}"), stem) as j:
            yield f.op(f"add nsw i64 {lo}, {j}")
