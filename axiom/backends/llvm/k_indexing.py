"""Indexing kernels: gather_elements, gather_nd, scatter_elements, scatter_nd, cumsum, cumprod, topk and
trilu. Every index is checked before it is used: negative ones count from the end, and an out-of-range
one sets the run's status word (the runtime raises, naming the op) and is neither read nor written."""

from __future__ import annotations

from axiom.backends.llvm.emit import compute_type
from axiom.backends.llvm.k_reduce import _Acc
from axiom.backends.llvm.kernel import Kernel, lowers, nest, offset, strides
from axiom.backends.llvm.runtime import STATUS_MESSAGES
from axiom.ir.dims import dim_product
from axiom.ir.dtypes import DType
from axiom.ir.graph import Value

# Status word values, apart from the runtime's own (1, 2, ...); the runtime raises with these messages.
STATUS = {"gather_elements": 16, "gather_nd": 17, "scatter_elements": 18, "scatter_nd": 19}
_TWICE = sorted(set(STATUS.values()) & set(STATUS_MESSAGES))
if _TWICE:  # fail fast: two meanings for one code
    raise RuntimeError(f"llvm status codes taken twice: {_TWICE}")
STATUS_MESSAGES.update({code: f"{op}: an index is out of range for its axis" for op, code in STATUS.items()})
COMBINE = {"add": "add", "mul": "mul", "max": "maximum", "min": "minimum"}


def _position(k: Kernel, ind: Value, ptr: str, at: str, size: str, code: int | None) -> tuple[str, str]:
    """Index element ``at`` as (a safe position on an axis of ``size``, whether it was in range). A negative
    index counts from the end; an out-of-range one sets the status word to ``code`` (when given) and
    becomes position 0, so the caller may read with it but must not write."""
    f = k.f
    raw = f.load(ind.dtype, ptr, at)
    raw = f.op(f"sext i32 {raw} to i64") if ind.dtype.name == "i32" else raw
    neg = f.op(f"icmp slt i64 {raw}, 0")
    pos = f.op(f"select i1 {neg}, i64 {f.op(f'add i64 {raw}, {size}')}, i64 {raw}")
    ok = f.op(f"icmp ult i64 {pos}, {size}")  # unsigned: a position still negative fails too
    if code is not None:
        with f.when(f.op(f"xor i1 {ok}, true")):
            f.raw(f"store i64 {code}, ptr %status")
    return f.op(f"select i1 {ok}, i64 {pos}, i64 0"), ok


def _copy(k: Kernel, src: Value, ptr: str) -> None:
    """The result is ``src`` to begin with (the scatters write into a copy of x)."""
    out = k.node.results[0]
    with k.f.loop(k.numel(out)) as i:
        k.f.store(out.dtype, k.f.load(src.dtype, ptr, i), k.outs[0], i)


def _combine(k: Kernel, reduction: str, dt: DType, acc: str, v: str) -> str:
    return k.scalar.emit(COMBINE[reduction], None, [acc, v], [dt, dt], dt)


def _per_output(dt: DType, reduction: str) -> bool:
    """Half floats combine duplicates at f32 and round once, as the reference does: each result element
    then gathers its updates instead of each update being scattered (and rounded) in turn."""
    return reduction != "none" and dt.name in ("f16", "bf16")


@lowers("gather_elements")
def gather_elements(k: Kernel) -> None:
    """out[i] = x[i with i[axis] replaced by idx[i]]."""
    x, ind = k.node.inputs
    out, f = k.node.results[0], k.f
    axis = k.node.attrs.axis % x.rank
    xs, os_ = strides(f, x.shape), strides(f, out.shape)
    size = f.dim(x.shape[axis])
    with nest(f, out.shape) as idx:
        at = offset(f, idx, os_)  # the indices have the result's shape
        pos, _ = _position(k, ind, k.ins[1], at, size, STATUS["gather_elements"])
        v = f.load(x.dtype, k.ins[0], offset(f, [*idx[:axis], pos, *idx[axis + 1:]], xs))
        f.store(out.dtype, v, k.outs[0], at)


@lowers("gather_nd")
def gather_nd(k: Kernel) -> None:
    """out[b.., j.., r..] = x[b.., idx[b.., j.., :], r..] (b: the batch_dims shared axes)."""
    x, ind = k.node.inputs
    out, f = k.node.results[0], k.f
    b, m, lead = k.node.attrs.batch_dims, ind.shape[-1], ind.rank - 1
    xs, ins_, os_ = strides(f, x.shape), strides(f, ind.shape), strides(f, out.shape)
    sizes = [f.dim(x.shape[b + j]) for j in range(m)]
    with nest(f, out.shape) as idx:
        first = offset(f, idx[:lead], ins_[:lead])
        pos = [_position(k, ind, k.ins[1], f.op(f"add nsw i64 {first}, {j}"), sizes[j],
                         STATUS["gather_nd"])[0] for j in range(m)]
        v = f.load(x.dtype, k.ins[0], offset(f, [*idx[:b], *pos, *idx[lead:]], xs))
        f.store(out.dtype, v, k.outs[0], offset(f, idx, os_))


def _update(k: Kernel, target: str, at: str) -> None:
    """out[target] = upd[at], or combined with out[target] by the node's reduction."""
    x, upd, out = k.node.inputs[0], k.node.inputs[2], k.node.results[0]
    v = k.f.load(upd.dtype, k.ins[2], at)
    if k.node.attrs.reduction != "none":
        v = _combine(k, k.node.attrs.reduction, x.dtype, k.f.load(out.dtype, k.outs[0], target), v)
    k.f.store(out.dtype, v, k.outs[0], target)


@lowers("scatter_elements")
def scatter_elements(k: Kernel) -> None:
    """A copy of x, then for each index in order: out[i with i[axis] = idx[i]] = upd[i] (or combined)."""
    x, ind, _ = k.node.inputs
    f, red = k.f, k.node.attrs.reduction
    axis = k.node.attrs.axis % x.rank
    xs, ins_ = strides(f, x.shape), strides(f, ind.shape)
    size, code = f.dim(x.shape[axis]), STATUS["scatter_elements"]
    if _per_output(x.dtype, red):
        _scatter_elements_gathered(k, axis)
        return
    _copy(k, x, k.ins[0])
    with nest(f, ind.shape) as idx:
        at = offset(f, idx, ins_)  # the updates have the indices' shape
        pos, ok = _position(k, ind, k.ins[1], at, size, code)
        with f.when(ok):
            _update(k, offset(f, [*idx[:axis], pos, *idx[axis + 1:]], xs), at)


def _scatter_elements_gathered(k: Kernel, axis: int) -> None:
    """Each result element: x's, combined in index order with every update aimed at it, rounded once."""
    x, ind, upd = k.node.inputs
    out, f, red = k.node.results[0], k.f, k.node.attrs.reduction
    xs, ins_ = strides(f, x.shape), strides(f, ind.shape)
    size, ty = f.dim(x.shape[axis]), compute_type(x.dtype)
    with nest(f, ind.shape, "v") as idx:  # check every index once
        _position(k, ind, k.ins[1], offset(f, idx, ins_), size, STATUS["scatter_elements"])
    with nest(f, x.shape) as idx:
        at = offset(f, idx, xs)
        acc = _Acc(f, ty, f.load(x.dtype, k.ins[0], at))
        inside = "true"  # the other axes of the indices may be shorter than x's
        for i, d in enumerate(ind.shape):
            if i != axis:
                inside = f.op(f"and i1 {inside}, {f.op(f'icmp slt i64 {idx[i]}, {f.dim(d)}')}")
        with f.when(inside), f.loop(f.dim(ind.shape[axis]), "j") as j:
            src = offset(f, [*idx[:axis], j, *idx[axis + 1:]], ins_)
            pos, ok = _position(k, ind, k.ins[1], src, size, None)
            hit = f.op(f"and i1 {ok}, {f.op(f'icmp eq i64 {pos}, {idx[axis]}')}")
            with f.when(hit):
                acc.set(_combine(k, red, x.dtype, acc.get(), f.load(upd.dtype, k.ins[2], src)))
        f.store(out.dtype, acc.get(), k.outs[0], at)


@lowers("scatter_nd")
def scatter_nd(k: Kernel) -> None:
    """A copy of x, then for each index tuple t in order: out[t, r..] = upd[t's place, r..] (or combined)."""
    x, ind, _ = k.node.inputs
    f, red = k.f, k.node.attrs.reduction
    m = ind.shape[-1]
    rest = x.shape[m:]
    xs, rs = strides(f, x.shape), strides(f, rest)
    width = f.dim(dim_product(rest))
    sizes = [f.dim(d) for d in x.shape[:m]]
    tuples = f.dim(dim_product(ind.shape[:-1]))
    code = STATUS["scatter_nd"]
    if _per_output(x.dtype, red):
        _scatter_nd_gathered(k, m)
        return
    _copy(k, x, k.ins[0])
    with f.loop(tuples, "t") as t:
        first = f.op(f"mul nsw i64 {t}, {m}")
        found = [_position(k, ind, k.ins[1], f.op(f"add nsw i64 {first}, {j}"), sizes[j], code)
                 for j in range(m)]
        ok = "true"
        for _, good in found:
            ok = f.op(f"and i1 {ok}, {good}")
        with f.when(ok):
            base = offset(f, [p for p, _ in found], xs[:m])
            row = f.op(f"mul nsw i64 {t}, {width}")
            with nest(f, rest, "r") as ri:
                local = offset(f, ri, rs)
                _update(k, f.op(f"add nsw i64 {base}, {local}"), f.op(f"add nsw i64 {row}, {local}"))


def _scatter_nd_gathered(k: Kernel, m: int) -> None:
    """Each result element: x's, combined in tuple order with every update slice aimed at it, rounded once."""
    x, ind, upd = k.node.inputs
    out, f, red = k.node.results[0], k.f, k.node.attrs.reduction
    rest = x.shape[m:]
    sizes = [f.dim(d) for d in x.shape[:m]]
    tuples = f.dim(dim_product(ind.shape[:-1]))
    width, ty = f.dim(dim_product(rest)), compute_type(x.dtype)
    with f.loop(tuples, "v") as t:  # check every index once
        first = f.op(f"mul nsw i64 {t}, {m}")
        for j in range(m):
            _position(k, ind, k.ins[1], f.op(f"add nsw i64 {first}, {j}"), sizes[j], STATUS["scatter_nd"])
    with nest(f, x.shape) as idx:
        at = offset(f, idx, strides(f, x.shape))
        local = offset(f, idx[m:], strides(f, rest))
        acc = _Acc(f, ty, f.load(x.dtype, k.ins[0], at))
        with f.loop(tuples, "t") as t:
            first = f.op(f"mul nsw i64 {t}, {m}")
            hit = "true"
            for j in range(m):
                pos, ok = _position(k, ind, k.ins[1], f.op(f"add nsw i64 {first}, {j}"), sizes[j], None)
                same = f.op(f"icmp eq i64 {pos}, {idx[j]}")
                hit = f.op(f"and i1 {hit}, {f.op(f'and i1 {ok}, {same}')}")
            with f.when(hit):
                src = f.op(f"add nsw i64 {f.op(f'mul nsw i64 {t}, {width}')}, {local}")
                acc.set(_combine(k, red, x.dtype, acc.get(), f.load(upd.dtype, k.ins[2], src)))
        f.store(out.dtype, acc.get(), k.outs[0], at)


@lowers("cumsum", "cumprod")
def cumulative(k: Kernel) -> None:
    """A running sum or product along the axis in one pass per row, from the end when reverse; exclusive
    stores the total before the row's own element joins it. Half floats accumulate in f32."""
    x, out, a = k.node.inputs[0], k.node.results[0], k.node.attrs
    f = k.f
    axis = a.axis % x.rank
    op = "add" if k.node.op.name == "cumsum" else "mul"
    ty = compute_type(x.dtype)
    xs = strides(f, x.shape)
    n = f.dim(x.shape[axis])
    last = f.op(f"sub i64 {n}, 1")
    kept = [d for i, d in enumerate(x.shape) if i != axis]
    with nest(f, kept, "o") as kidx:
        acc = _Acc(f, ty, k.scalar.const(0 if op == "add" else 1, ty))
        with f.loop(n, "r") as j:
            p = f.op(f"sub i64 {last}, {j}") if a.reverse else j
            at = offset(f, [*kidx[:axis], p, *kidx[axis:]], xs)
            v = f.load(x.dtype, k.ins[0], at)
            if a.exclusive:
                f.store(out.dtype, acc.get(), k.outs[0], at)
            acc.set(k.scalar.emit(op, None, [acc.get(), v], [x.dtype] * 2, x.dtype))
            if not a.exclusive:
                f.store(out.dtype, acc.get(), k.outs[0], at)


def _before(k: Kernel, dt: DType, largest: bool, a: str, ia: str, b: str, ib: str) -> str:
    """Whether (a, at index ia) comes before (b, at ib) in topk's order: larger (smaller) first, equal values
    by lower index, NaN above every number (so first when largest, last when smallest), as the reference's
    stable argsort puts them."""
    f, ty = k.f, compute_type(dt)
    lower = f.op(f"icmp slt i64 {ia}, {ib}")
    if not dt.is_float:
        pred = ("u" if dt.kind in ("uint", "bool") else "s") + ("gt" if largest else "lt")
        wins = f.op(f"icmp {pred} {ty} {a}, {b}")
        tie = f.op(f"and i1 {f.op(f'icmp eq {ty} {a}, {b}')}, {lower}")
        return f.op(f"or i1 {wins}, {tie}")
    tie = f.op(f"and i1 {f.op(f'fcmp oeq {ty} {a}, {b}')}, {lower}")
    pred = "ogt" if largest else "olt"
    ordered = f.op(f"or i1 {f.op(f'fcmp {pred} {ty} {a}, {b}')}, {tie}")
    a_nan, b_nan = f.op(f"fcmp uno {ty} {a}, {a}"), f.op(f"fcmp uno {ty} {b}, {b}")
    win, lose = ("true", "false") if largest else ("false", "true")
    with_nan = f.op(f"select i1 {b_nan}, i1 {lower}, i1 {win}")
    return f.op(f"select i1 {a_nan}, i1 {with_nan}, i1 {f.op(f'select i1 {b_nan}, i1 {lose}, i1 {ordered}')}")


@lowers("topk")
def topk(k: Kernel) -> None:
    """Selection per row: the r-th result is the first, in topk's order, of the elements after the (r-1)-th;
    k passes over the row and no scratch memory."""
    x, (vals, inds), a = k.node.inputs[0], k.node.results, k.node.attrs
    f = k.f
    axis = a.axis % x.rank
    ty = compute_type(x.dtype)
    xs, vs = strides(f, x.shape), strides(f, vals.shape)
    kept = [d for i, d in enumerate(x.shape) if i != axis]
    zero = k.scalar.const(0, ty)
    with nest(f, kept, "o") as kidx:
        prev_v, prev_i = _Acc(f, ty, zero), _Acc(f, "i64", "-1")
        with f.loop(str(a.k), "r") as r:
            best_v, best_i = _Acc(f, ty, zero), _Acc(f, "i64", "-1")
            with f.loop(f.dim(x.shape[axis]), "j") as j:
                v = f.load(x.dtype, k.ins[0], offset(f, [*kidx[:axis], j, *kidx[axis:]], xs))
                pv, pi, bv, bi = prev_v.get(), prev_i.get(), best_v.get(), best_i.get()
                after = _before(k, x.dtype, a.largest, pv, pi, v, j)
                after = f.op(f"or i1 {f.op(f'icmp slt i64 {pi}, 0')}, {after}")  # nothing taken yet
                better = _before(k, x.dtype, a.largest, v, j, bv, bi)
                better = f.op(f"or i1 {f.op(f'icmp slt i64 {bi}, 0')}, {better}")  # nothing found yet
                take = f.op(f"and i1 {after}, {better}")
                best_v.set(f.op(f"select i1 {take}, {ty} {v}, {ty} {bv}"))
                best_i.set(f.op(f"select i1 {take}, i64 {j}, i64 {bi}"))
            at = offset(f, [*kidx[:axis], r, *kidx[axis:]], vs)
            f.store(vals.dtype, best_v.get(), k.outs[0], at)
            f.store(inds.dtype, best_i.get(), k.outs[1], at)
            prev_v.set(best_v.get())
            prev_i.set(best_i.get())


@lowers("trilu")
def trilu(k: Kernel) -> None:
    """Keep x where the diagonal offset j - i of the last two axes is >= k (upper) or <= k (lower), else 0."""
    x, out, a = k.node.inputs[0], k.node.results[0], k.node.attrs
    f, ty = k.f, compute_type(x.dtype)
    xs = strides(f, x.shape)
    with nest(f, x.shape) as idx:
        diagonal = f.op(f"sub nsw i64 {idx[-1]}, {idx[-2]}")
        keep = f.op(f"icmp {'sge' if a.upper else 'sle'} i64 {diagonal}, {a.k}")
        at = offset(f, idx, xs)
        v = f.load(x.dtype, k.ins[0], at)
        f.store(out.dtype, f.op(f"select i1 {keep}, {ty} {v}, {ty} {k.scalar.const(0, ty)}"), k.outs[0], at)
