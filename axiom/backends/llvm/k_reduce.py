"""Reductions (sum, mean, max, min, prod, argmax, argmin) and the normalisations built on them (softmax,
log_softmax, layer_norm): for each kept index, loops over the reduced axes accumulate in a register.
Half floats accumulate in f32; max/min propagate NaN and give their identity over an empty axis.

Float sums and products carry LLVM's ``reassoc`` flag (and nothing else): the vectorizer may then add
in lanes, a different order from the sequential one, as numpy's pairwise summation also is. Every
partial sum is still rounded as f32 (or f64) arithmetic; no other fast-math assumption is made."""

from __future__ import annotations

import numpy as np

from axiom.backends.llvm.emit import Function, compute_type
from axiom.backends.llvm.kernel import Kernel, lowers, nest, offset, strides
from axiom.ir.dims import dim_product
from axiom.ir.dtypes import DType
from axiom.ir.ops.reduction import normalize_axes


def _identity(op: str, dt: DType, s) -> str:  # noqa: ANN001 - Scalar
    ty = compute_type(dt)
    if op in ("sum", "mean"):
        return s.const(0, ty)
    if op == "prod":
        return s.const(1, ty)
    if dt.is_bool:
        return "false" if op == "max" else "true"
    if dt.is_float:
        return s.const(-np.inf if op == "max" else np.inf, ty)
    info = np.iinfo(dt.np_dtype)
    return str(int(info.min if op == "max" else info.max))


def _combine(k: Kernel, op: str, dt: DType, acc: str, x: str) -> str:
    if dt.is_float and op in ("sum", "mean", "prod"):
        return k.f.op(f"{'fmul' if op == 'prod' else 'fadd'} reassoc {compute_type(dt)} {acc}, {x}")
    name = {"sum": "add", "mean": "add", "prod": "mul", "max": "maximum", "min": "minimum"}[op]
    return k.scalar.emit(name, None, [acc, x], [dt, dt], dt)


class _Acc:
    """A scalar accumulator kept in an entry-block alloca (promoted to a register by mem2reg)."""

    def __init__(self, f: Function, ty: str, init: str) -> None:
        self.f, self.ty = f, ty
        self.ptr = f.alloca(ty)
        f.raw(f"store {ty} {init}, ptr {self.ptr}")

    def get(self) -> str:
        return self.f.op(f"load {self.ty}, ptr {self.ptr}")

    def set(self, v: str) -> None:
        self.f.raw(f"store {self.ty} {v}, ptr {self.ptr}")


def _split(x, axes: tuple[int, ...]):  # noqa: ANN001, ANN202
    kept = [d for i, d in enumerate(x.shape) if i not in axes]
    red = [x.shape[i] for i in axes]
    return kept, red


def _in_offset(k: Kernel, x, axes: tuple[int, ...], kept_idx: list[str], red_idx: list[str]) -> str:  # noqa: ANN001
    full, ki, ri = [], iter(kept_idx), iter(red_idx)
    for i in range(x.rank):
        full.append(next(ri) if i in axes else next(ki))
    return offset(k.f, full, strides(k.f, x.shape))


@lowers("sum", "mean", "max", "min", "prod")
def reduce(k: Kernel) -> None:
    x, out = k.node.inputs[0], k.node.results[0]
    op = k.node.op.name
    axes = normalize_axes(op, x.type, k.node.attrs.axes)
    kept, red = _split(x, axes)
    ty = compute_type(x.dtype)
    with nest(k.f, kept, "o") as kidx:
        acc = _Acc(k.f, ty, _identity(op, x.dtype, k.scalar))
        with nest(k.f, red, "r") as ridx:
            v = k.f.load(x.dtype, k.ins[0], _in_offset(k, x, axes, kidx, ridx))
            acc.set(_combine(k, op, x.dtype, acc.get(), v))
        result = acc.get()
        if op == "mean":
            n = k.f.op(f"sitofp i64 {k.f.dim(dim_product(red))} to {ty}")
            result = k.f.op(f"fdiv {ty} {result}, {n}")
        k.f.store(out.dtype, result, k.outs[0], offset(k.f, kidx, strides(k.f, kept)))


@lowers("argmax", "argmin")
def arg_reduce(k: Kernel) -> None:
    """The first index of the extreme (the last with select_last_index); NaN is the extreme, as numpy."""
    x, out, a = k.node.inputs[0], k.node.results[0], k.node.attrs
    axis = a.axis % x.rank
    kept, red = _split(x, (axis,))
    ty, f = compute_type(x.dtype), k.f
    last = bool(a.select_last_index)
    beats = ("gt" if k.node.op.name == "argmax" else "lt") if not last else \
        ("ge" if k.node.op.name == "argmax" else "le")
    with nest(f, kept, "o") as kidx:
        best = _Acc(f, ty, f.load(x.dtype, k.ins[0], _in_offset(k, x, (axis,), kidx, ["0"])))
        where = _Acc(f, "i64", "0")
        with f.loop(f.dim(red[0]), "r") as j:
            v, b = f.load(x.dtype, k.ins[0], _in_offset(k, x, (axis,), kidx, [j])), best.get()
            if x.dtype.is_float:
                wins = f.op(f"fcmp o{beats} {ty} {v}, {b}")
                v_nan, b_nan = f.op(f"fcmp uno {ty} {v}, {v}"), f.op(f"fcmp uno {ty} {b}, {b}")
                # once a NaN is held only a later NaN replaces it (and only for select_last_index)
                after_nan = f.op(f"and i1 {v_nan}, {'true' if last else 'false'}")
                wins = f.op(f"select i1 {b_nan}, i1 {after_nan}, i1 {f.op(f'or i1 {wins}, {v_nan}')}")
            else:
                sign = "u" if x.dtype.kind in ("uint", "bool") else "s"
                wins = f.op(f"icmp {sign}{beats} {ty} {v}, {b}")
            best.set(f.op(f"select i1 {wins}, {ty} {v}, {ty} {b}"))
            where.set(f.op(f"select i1 {wins}, i64 {j}, i64 {where.get()}"))
        f.store(out.dtype, where.get(), k.outs[0], offset(f, kidx, strides(f, kept)))


@lowers("softmax", "log_softmax")
def softmax(k: Kernel) -> None:
    """max, then sum of exp(x - max), then exp(x - max) / sum (or x - max - log(sum))."""
    x, out = k.node.inputs[0], k.node.results[0]
    axis = k.node.attrs.axis % x.rank
    kept, red = _split(x, (axis,))
    ty, s = compute_type(x.dtype), k.scalar
    log = k.node.op.name == "log_softmax"
    # softmax keeps each exp(x - max) in the output for the last loop (one exp per element); not in a
    # half float, which would round it
    kept_e = not log and out.dtype.name not in ("f16", "bf16")
    with nest(k.f, kept, "o") as kidx:
        at = lambda j: _in_offset(k, x, (axis,), kidx, [j])  # noqa: E731
        top = _Acc(k.f, ty, s.const(-np.inf, ty))
        with k.f.loop(k.f.dim(red[0]), "r") as j:
            v = k.f.load(x.dtype, k.ins[0], at(j))
            top.set(s.emit("maximum", None, [top.get(), v], [x.dtype] * 2, x.dtype))
        m = top.get()
        total = _Acc(k.f, ty, s.const(0.0, ty))
        with k.f.loop(k.f.dim(red[0]), "r") as j:
            e = s.call("llvm.exp", ty, k.f.op(f"fsub {ty} {k.f.load(x.dtype, k.ins[0], at(j))}, {m}"))
            total.set(k.f.op(f"fadd reassoc {ty} {total.get()}, {e}"))
            if kept_e:
                k.f.store(out.dtype, e, k.outs[0], at(j))
        z = total.get()
        logz = s.call("llvm.log", ty, z) if log else None
        with k.f.loop(k.f.dim(red[0]), "w") as j:
            if kept_e:
                y = k.f.op(f"fdiv {ty} {k.f.load(out.dtype, k.outs[0], at(j))}, {z}")
            else:
                shifted = k.f.op(f"fsub {ty} {k.f.load(x.dtype, k.ins[0], at(j))}, {m}")
                y = k.f.op(f"fsub {ty} {shifted}, {logz}") if log else \
                    k.f.op(f"fdiv {ty} {s.call('llvm.exp', ty, shifted)}, {z}")
            k.f.store(out.dtype, y, k.outs[0], at(j))


@lowers("layer_norm")
def layer_norm(k: Kernel) -> None:
    """Mean and (biased) variance over axes axis..rank-1, then (x - mean) / sqrt(var + eps) * scale + bias."""
    x, out = k.node.inputs[0], k.node.results[0]
    axis = k.node.attrs.axis % x.rank
    axes = tuple(range(axis, x.rank))
    kept, red = _split(x, axes)
    ty, s = compute_type(x.dtype), k.scalar
    n = k.f.op(f"sitofp i64 {k.f.dim(dim_product(red))} to {ty}")
    inner = strides(k.f, red)
    with nest(k.f, kept, "o") as kidx:
        base = offset(k.f, kidx, strides(k.f, kept))
        base = k.f.op(f"mul nsw i64 {base}, {k.f.dim(dim_product(red))}")
        total = _Acc(k.f, ty, s.const(0.0, ty))
        with nest(k.f, red, "r") as ridx:
            v = k.f.load(x.dtype, k.ins[0], k.f.op(f"add nsw i64 {base}, {offset(k.f, ridx, inner)}"))
            total.set(k.f.op(f"fadd reassoc {ty} {total.get()}, {v}"))
        mean = k.f.op(f"fdiv {ty} {total.get()}, {n}")
        sq = _Acc(k.f, ty, s.const(0.0, ty))
        with nest(k.f, red, "r") as ridx:
            v = k.f.load(x.dtype, k.ins[0], k.f.op(f"add nsw i64 {base}, {offset(k.f, ridx, inner)}"))
            d = k.f.op(f"fsub {ty} {v}, {mean}")
            sq.set(k.f.op(f"fadd reassoc {ty} {sq.get()}, {k.f.op(f'fmul {ty} {d}, {d}')}"))
        var = k.f.op(f"fdiv {ty} {sq.get()}, {n}")
        eps = s.const(k.node.attrs.epsilon, ty)
        root = s.call("llvm.sqrt", ty, k.f.op(f"fadd {ty} {var}, {eps}"))
        inv = k.f.op(f"fdiv {ty} {s.const(1.0, ty)}, {root}")
        with nest(k.f, red, "w") as ridx:
            local = offset(k.f, ridx, inner)
            at = k.f.op(f"add nsw i64 {base}, {local}")
            y = k.f.op(f"fmul {ty} {k.f.op(f'fsub {ty} {k.f.load(x.dtype, k.ins[0], at)}, {mean}')}, {inv}")
            if len(k.ins) > 1:
                y = k.f.op(f"fmul {ty} {y}, {k.f.load(k.node.inputs[1].dtype, k.ins[1], local)}")
            if len(k.ins) > 2:
                y = k.f.op(f"fadd {ty} {y}, {k.f.load(k.node.inputs[2].dtype, k.ins[2], local)}")
            k.f.store(out.dtype, y, k.outs[0], at)
