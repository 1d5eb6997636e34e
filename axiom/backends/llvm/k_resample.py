"""Resampling kernels: resize (every mode and coordinate mode of the IR op) and conv_transpose (1-3
spatial dims), each output element computed on its own, with no scatter and no scratch buffer.

resize takes each resized axis' taps and weights from the reference's own ``axis_weights`` at compile
time (module constants) and sums axis by axis in f64, in the reference's order and with fused multiply-adds
as its dgemm does, so the two agree to rounding for every mode without the coordinate rules written twice."""

from __future__ import annotations

import hashlib
from contextlib import ExitStack

import numpy as np

from axiom.backends.llvm.emit import compute_type
from axiom.backends.llvm.k_reduce import _Acc
from axiom.backends.llvm.kernel import Kernel, lowers, nest, offset, strides
from axiom.ir.errors import UnsupportedError
from axiom.ir.ops.conv_transpose import window
from axiom.ir.ops.resample import axis_weights


class _Table:
    """One resized axis: ``taps`` (input position, weight) pairs per output position, as module constants
    (i64 positions ``at``, double weights ``w``), and which outputs lie outside a crop (i8 ``outside``)."""

    def __init__(self, k: Kernel, axis: int, w: np.ndarray, outside: np.ndarray | None) -> None:
        rows = [np.flatnonzero(r) for r in w]
        self.axis, self.taps = axis, max(1, max((len(r) for r in rows), default=0))
        at = np.zeros((len(rows), self.taps), np.int64)
        wt = np.zeros((len(rows), self.taps))
        for i, r in enumerate(rows):
            at[i, :len(r)], wt[i, :len(r)] = r, w[i, r]
        self.at, self.w = _global(k, "i64", at.ravel()), _global(k, "double", wt.ravel())
        self.outside = None if outside is None else _global(k, "i8", outside.astype(np.int8))


def _global(k: Kernel, ty: str, values: np.ndarray) -> str:
    """A constant array in the module, kept with the declarations (module-level lines). It is named by its
    contents: kernels that differ only in their tables differ in text, equal ones share one global."""
    text = ", ".join(f"{ty} {k.scalar.const(float(v) if ty == 'double' else int(v), ty)}" for v in values)
    text = f"[{text}]" if text else "zeroinitializer"  # an axis resized to 0
    name = f"@axiom.table.{hashlib.sha256(f'{ty} {text}'.encode()).hexdigest()[:20]}"
    k.declared[name] = f"{name} = internal unnamed_addr constant [{len(values)} x {ty}] {text}"
    return name


def _tables(k: Kernel) -> list[_Table]:
    """The axes the reference resizes (it skips an axis at scale 1, same size, whole roi)."""
    x, a = k.node.inputs[0], k.node.attrs
    tables = []
    for axis, (size, out, scale) in enumerate(zip(x.shape, a.sizes, a.scales, strict=True)):
        roi = None if a.roi is None else (a.roi[axis], a.roi[axis + x.rank])
        same = not isinstance(out, int) or out == size  # a symbolic size is the input's own dim
        if np.isclose(scale, 1.0) and same and (roi is None or np.allclose(roi, (0.0, 1.0))):
            continue
        if not isinstance(size, int) or not isinstance(out, int):
            raise UnsupportedError(f"resize of the symbolic axis {axis} of {x.type} needs its size at "
                                   "compile time; hint: give the input a static shape")
        tables.append(_Table(k, axis, *axis_weights(a, size, out, scale, roi)))
    return tables


@lowers("resize")
def resize(k: Kernel) -> None:
    x, out, a = k.node.inputs[0], k.node.results[0], k.node.attrs
    f = k.f
    tables = _tables(k)
    xs = strides(f, x.shape)
    extrapolate = k.scalar.const(a.extrapolation_value, "double")

    def level(i: int, oidx: list[str], src: list[str]) -> str:
        """The f64 value at ``src`` after resizing axes ``tables[:i + 1]``: the last resized axis sums
        outermost, as the reference applies the axes in turn (and masks a crop's outside after each)."""
        if i < 0:
            return _to_double(k, f.load(x.dtype, k.ins[0], offset(f, src, xs)))
        t = tables[i]
        acc = _Acc(f, "double", k.scalar.const(0.0, "double"))
        row = f.op(f"mul nsw i64 {oidx[t.axis]}, {t.taps}")
        with f.loop(str(t.taps), f"t{t.axis}") as j:
            e = f.op(f"add nsw i64 {row}, {j}")
            at = _element(k, t.at, "i64", e)
            w = _element(k, t.w, "double", e)
            inner = level(i - 1, oidx, [at if n == t.axis else s for n, s in enumerate(src)])
            acc.set(k.scalar.call("llvm.fma", "double", w, inner, acc.get()))  # as the reference's dgemm
        if t.outside is None:
            return acc.get()
        flag = f.op(f"icmp ne i8 {_element(k, t.outside, 'i8', oidx[t.axis])}, 0")
        return f.op(f"select i1 {flag}, double {extrapolate}, double {acc.get()}")

    with nest(f, out.shape) as oidx:
        y = level(len(tables) - 1, oidx, list(oidx))
        f.store(out.dtype, _from_double(k, out.dtype, y), k.outs[0], offset(f, oidx, strides(f, out.shape)))


def _element(k: Kernel, table: str, ty: str, index: str) -> str:
    p = k.f.op(f"getelementptr inbounds {ty}, ptr {table}, i64 {index}", "p")
    return k.f.op(f"load {ty}, ptr {p}")


def _to_double(k: Kernel, v: str) -> str:
    dt = k.node.inputs[0].dtype
    ty = compute_type(dt)
    if dt.is_float:
        return v if ty == "double" else k.f.op(f"fpext {ty} {v} to double")
    return k.f.op(f"{'uitofp' if dt.kind == 'uint' else 'sitofp'} {ty} {v} to double")


def _from_double(k: Kernel, dt, v: str) -> str:  # noqa: ANN001
    """The f64 result in ``dt``'s compute type: floats round (half floats through f32), integers round
    half to even and saturate, as the reference's np.round, clip and astype."""
    ty = compute_type(dt)
    if dt.is_float:
        return v if ty == "double" else k.f.op(f"fptrunc double {v} to {ty}")
    r = k.scalar.call("llvm.roundeven", "double", v)
    name = f"llvm.fpto{'u' if dt.kind == 'uint' else 's'}i.sat.{ty}.f64"
    return k.scalar.callf(name, ty, [("double", r)])


@lowers("conv_transpose")
def conv_transpose(k: Kernel) -> None:
    """out[n, o, p] = bias[o] + sum over kernel offsets q (row-major) of sum over the group's channels c of
    x[n, c, i] * w[c, o mod O/groups, q], for every i with i * stride + q * dilation = p + padding."""
    x, w = k.node.inputs[0], k.node.inputs[1]
    out, a, f = k.node.results[0], k.node.attrs, k.f
    d = x.rank - 2
    stride, padding, dilation, _ = window(a, d)
    ty = compute_type(out.dtype)
    xs, ws, os_ = strides(f, x.shape), strides(f, w.shape), strides(f, out.shape)
    sizes = [f.dim(s) for s in x.shape[2:]]
    per_group_out, per_group_in = f.dim(w.shape[1]), f.op(f"sdiv i64 {f.dim(x.shape[1])}, {a.groups}")
    zero = k.scalar.const(0.0, ty)
    with nest(f, out.shape, "o") as (n, o, *p):
        group = f.op(f"sdiv i64 {o}, {per_group_out}")
        local = f.op(f"sub nsw i64 {o}, {f.op(f'mul nsw i64 {group}, {per_group_out}')}")
        first = f.op(f"mul nsw i64 {group}, {per_group_in}")
        acc = _Acc(f, ty, zero)
        with ExitStack() as stack:
            taps, at = [], []
            for ax in range(d):
                q = stack.enter_context(f.loop(str(w.shape[2 + ax]), f"q{ax}"))
                reach = f.op(f"sub nsw i64 {f.op(f'add nsw i64 {p[ax]}, {padding[ax]}')}, "
                             f"{f.op(f'mul nsw i64 {q}, {dilation[ax]}')}")
                i, ok = _source(k, reach, stride[ax], sizes[ax])
                stack.enter_context(f.when(ok))
                taps.append(q)
                at.append(i)
            tap = _Acc(f, ty, zero)
            with f.loop(per_group_in, "c") as c:
                channel = f.op(f"add nsw i64 {first}, {c}")
                xv = f.load(x.dtype, k.ins[0], offset(f, [n, channel, *at], xs))
                wv = f.load(w.dtype, k.ins[1], offset(f, [channel, local, *taps], ws))
                tap.set(f.op(f"fadd {ty} {tap.get()}, {f.op(f'fmul {ty} {xv}, {wv}')}"))
            acc.set(f.op(f"fadd {ty} {acc.get()}, {tap.get()}"))
        y = acc.get()
        if len(k.ins) > 2:
            y = f.op(f"fadd {ty} {y}, {f.load(k.node.inputs[2].dtype, k.ins[2], o)}")
        f.store(out.dtype, y, k.outs[0], offset(f, [n, o, *p], os_))


def _source(k: Kernel, reach: str, stride: int, size: str) -> tuple[str, str]:
    """(reach / stride, whether that is a whole input position in [0, size))."""
    f = k.f
    ok = f.op(f"icmp sge i64 {reach}, 0")
    if stride == 1:
        i = reach
    else:
        i = f.op(f"sdiv i64 {reach}, {stride}")
        whole = f.op(f"icmp eq i64 {f.op(f'srem i64 {reach}, {stride}')}, 0")
        ok = f.op(f"and i1 {ok}, {whole}")
    return i, f.op(f"and i1 {ok}, {f.op(f'icmp slt i64 {i}, {size}')}")
