"""Data movement: reshape-like ops copy the buffer as is; transpose, expand, slice, concat, split, pad
and gather compute each result element's source index. gather checks its indices: an out-of-range
index sets the run's status word (the runtime raises) and reads nothing."""

from __future__ import annotations

from axiom.backends.llvm.emit import compute_type
from axiom.backends.llvm.kernel import Kernel, broadcast_offset, lowers, nest, offset, strides
from axiom.ir.ops.shape import _slice_bounds, _slice_plan

STATUS_GATHER = 1  # status word values the runtime turns into errors


@lowers("reshape", "flatten", "squeeze", "unsqueeze", "dropout")
def copy(k: Kernel) -> None:
    x, out = k.node.inputs[0], k.node.results[0]
    with k.f.loop(k.numel(out)) as i:
        k.f.store(out.dtype, k.f.load(x.dtype, k.ins[0], i), k.outs[0], i)


def _copy_by_index(k: Kernel, source) -> None:  # noqa: ANN001 - Callable[[list[str]], str]
    """out[idx] = x[source(idx)] over every index of the result."""
    x, out = k.node.inputs[0], k.node.results[0]
    with nest(k.f, out.shape) as idx:
        v = k.f.load(x.dtype, k.ins[0], source(idx))
        k.f.store(out.dtype, v, k.outs[0], offset(k.f, idx, strides(k.f, out.shape)))


@lowers("transpose")
def transpose(k: Kernel) -> None:
    x = k.node.inputs[0]
    perm = list(k.node.attrs.perm) if k.node.attrs.perm is not None else list(range(x.rank))[::-1]
    perm = [p % x.rank for p in perm]
    xs = strides(k.f, x.shape)
    _copy_by_index(k, lambda idx: offset(k.f, idx, [xs[p] for p in perm]))


@lowers("expand")
def expand(k: Kernel) -> None:
    x, out = k.node.inputs[0], k.node.results[0]
    _copy_by_index(k, lambda idx: broadcast_offset(k.f, x.shape, out.shape, idx))


@lowers("slice")
def slice_(k: Kernel) -> None:
    x = k.node.inputs[0]
    start, step = [0] * x.rank, [1] * x.rank
    for axis, s, e, st in _slice_plan(x.type, k.node.attrs):
        start[axis] = _slice_bounds(x.shape[axis], axis, s, e, st)[0]
        step[axis] = st
    xs = strides(k.f, x.shape)

    def source(idx: list[str]) -> str:
        moves = zip(idx, start, step, strict=True)
        pos = [i if (b, s) == (0, 1) else _affine(k, i, s, b) for i, b, s in moves]
        return offset(k.f, pos, xs)

    _copy_by_index(k, source)


def _affine(k: Kernel, i: str, scale: int, shift: object) -> str:
    """shift + i * scale, as i64."""
    return k.f.op(f"add nsw i64 {k.f.dim(shift)}, {k.f.op(f'mul nsw i64 {i}, {scale}')}")


@lowers("concat")
def concat(k: Kernel) -> None:
    """Each operand copied into its band of the result along the axis."""
    out = k.node.results[0]
    axis = k.node.attrs.axis % out.rank
    os_ = strides(k.f, out.shape)
    base: object = 0
    for v, p in zip(k.node.inputs, k.ins, strict=True):
        with nest(k.f, v.shape) as idx:
            at = list(idx)
            at[axis] = k.f.op(f"add nsw i64 {idx[axis]}, {k.f.dim(base)}")
            val = k.f.load(v.dtype, p, offset(k.f, idx, strides(k.f, v.shape)))
            k.f.store(out.dtype, val, k.outs[0], offset(k.f, at, os_))
        base = base + v.shape[axis]


@lowers("split")
def split(k: Kernel) -> None:
    x = k.node.inputs[0]
    axis = k.node.attrs.axis % x.rank
    xs = strides(k.f, x.shape)
    base = 0
    for r, p, size in zip(k.node.results, k.outs, k.node.attrs.sizes, strict=True):
        with nest(k.f, r.shape) as idx:
            at = list(idx)
            at[axis] = k.f.op(f"add nsw i64 {idx[axis]}, {base}")
            val = k.f.load(x.dtype, k.ins[0], offset(k.f, at, xs))
            k.f.store(r.dtype, val, p, offset(k.f, idx, strides(k.f, r.shape)))
        base += size


@lowers("pad")
def pad(k: Kernel) -> None:
    """Constant mode: the fill where the source index falls outside x; edge: the nearest element of x;
    reflect: x mirrored about its first and last element (pads are shorter than the axis)."""
    x, out, a = k.node.inputs[0], k.node.results[0], k.node.attrs
    f = k.f
    xs = strides(f, x.shape)
    with nest(f, out.shape) as idx:
        inside, src = "true", []
        for i, (d, lo) in enumerate(zip(x.shape, a.pads[:x.rank], strict=True)):
            s = f.op(f"sub nsw i64 {idx[i]}, {lo}") if lo else idx[i]
            n = f.dim(d)
            below, above = f.op(f"icmp slt i64 {s}, 0"), f.op(f"icmp sge i64 {s}, {n}")
            ok = f.op(f"xor i1 {f.op(f'or i1 {below}, {above}')}, true")
            inside = f.op(f"and i1 {inside}, {ok}")
            if a.mode == "edge":
                low, high = "0", f.op(f"sub nsw i64 {n}, 1")
            elif a.mode == "reflect":  # -s before the start, 2 (n - 1) - s past the end
                low = f.op(f"sub nsw i64 0, {s}")
                high = f.op(f"sub nsw i64 {f.op(f'mul nsw i64 {n}, 2')}, {f.op(f'add nsw i64 {s}, 2')}")
            else:
                low = high = "0"
            s = f.op(f"select i1 {below}, i64 {low}, i64 {s}")
            src.append(f.op(f"select i1 {above}, i64 {high}, i64 {s}"))
        v = f.load(x.dtype, k.ins[0], offset(f, src, xs))
        if a.mode == "constant":
            v = f.op(f"select i1 {inside}, {_ty(out)} {v}, {_ty(out)} {k.scalar.const(a.value, _ty(out))}")
        f.store(out.dtype, v, k.outs[0], offset(f, idx, strides(f, out.shape)))


def _ty(v) -> str:  # noqa: ANN001
    return compute_type(v.dtype)


@lowers("gather")
def gather(k: Kernel) -> None:
    """out[pre, j.., post] = x[pre, idx[j..], post]; negative indices count from the end."""
    x, ind = k.node.inputs
    out = k.node.results[0]
    axis = k.node.attrs.axis % x.rank
    f = k.f
    xs, ins_ = strides(f, x.shape), strides(f, ind.shape)
    d = f.dim(x.shape[axis])
    with nest(f, out.shape) as idx:
        j = idx[axis:axis + ind.rank]
        raw = f.load(ind.dtype, k.ins[1], offset(f, j, ins_))
        raw = f.op(f"sext i32 {raw} to i64") if ind.dtype.name == "i32" else raw
        neg = f.op(f"icmp slt i64 {raw}, 0")
        pos = f.op(f"select i1 {neg}, i64 {f.op(f'add nsw i64 {raw}, {d}')}, i64 {raw}")
        ok = f.op(f"and i1 {f.op(f'icmp sge i64 {pos}, 0')}, {f.op(f'icmp slt i64 {pos}, {d}')}")
        with f.when(f.op(f"xor i1 {ok}, true")):
            f.raw(f"store i64 {STATUS_GATHER}, ptr %status")
        safe = f.op(f"select i1 {ok}, i64 {pos}, i64 0")
        src = [*idx[:axis], safe, *idx[axis + ind.rank:]]
        v = f.load(x.dtype, k.ins[0], offset(f, src, xs))
        f.store(out.dtype, v, k.outs[0], offset(f, idx, strides(f, out.shape)))
