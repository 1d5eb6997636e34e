"""matmul (numpy semantics: 1-D operands, broadcast batch dims) and linear (x @ w^T + bias): loops in
i-k-j order so that the innermost loop runs along contiguous rows of B and C and vectorizes."""

from __future__ import annotations

from axiom.backends.llvm.emit import compute_type
from axiom.backends.llvm.gemm_mt import declare_sgemm_mt
from axiom.backends.llvm.k_reduce import _Acc
from axiom.backends.llvm.kernel import Kernel, broadcast_offset, lowers, nest, offset, strides
from axiom.backends.llvm.split import MIN_SPLIT_MACS, SPLIT_ITEMS_BELOW, range_over_threads, unflatten
from axiom.ir.dims import Dim, dim_product
from axiom.ir.dtypes import f32


def _as_matrices(a_shape: tuple, b_shape: tuple) -> tuple[list[Dim], list[Dim], list[Dim], Dim, Dim, Dim]:
    """(batch of a, batch of b, broadcast batch, M, K, N) with 1-D operands made matrices."""
    a = list(a_shape) if len(a_shape) > 1 else [1, a_shape[0]]
    b = list(b_shape) if len(b_shape) > 1 else [b_shape[0], 1]
    ab, bb = a[:-2], b[:-2]
    rank = max(len(ab), len(bb))
    pa, pb = [1] * (rank - len(ab)) + ab, [1] * (rank - len(bb)) + bb
    batch = [y if x == 1 else x for x, y in zip(pa, pb, strict=True)]
    return ab, bb, batch, a[-2], a[-1], b[-1]


def sgemm_call(k: Kernel, a0: str, b0: str, c0: str, m: str, kk: str, n: str, b_packed: bool,
               bias: str | None = None) -> None:
    """C[c0..] = A[a0..] @ B[b0..] through the tuned f32 GEMM (packing, blocking, 6x16 FMA micro-kernel),
    over the kernel's threads when the product is large; ``b_packed``: B is a constant packed at load.
    The kernel's tail (k_epilogue.py) rides along: a residual is copied into C first and accumulated
    onto, the bias (``bias`` or the tail's, per column) and relu are the GEMM's epilogue."""
    gemm = declare_sgemm_mt(k.declared, b_packed=b_packed)
    f = k.f
    pa, pb, pc = (f.gep(f32, p, o) for p, o in ((k.ins[0], a0), (k.ins[1], b0), (k.outs[0], c0)))
    bias = bias or k.tail.bias
    if k.tail.residual is not None:
        src = f.gep(f32, k.tail.residual, c0)
        with f.loop(f.op(f"mul nsw i64 {m}, {n}"), "res", unroll=False) as i:
            f.store(f32, f.load(f32, src, i), pc, i)
    f.raw(f"call void @{gemm}(i64 {m}, i64 {n}, i64 {kk}, ptr {pa}, i64 {kk}, ptr {pb}, i64 {n}, "
          f"ptr {pc}, i64 {n}, ptr {bias or 'null'}, i32 {int(k.tail.relu)}, "
          f"i32 {int(k.tail.residual is not None)}, i64 {k.threads})")


@lowers("matmul")
def matmul(k: Kernel) -> None:
    a, b = k.node.inputs
    out = k.node.results[0]
    ab, bb, batch, m, kk, n = _as_matrices(a.shape, b.shape)
    f, ty = k.f, compute_type(out.dtype)
    b_packed = out.dtype == f32 and b.rank == 2 and k.prepack(b, "gemm_b")
    # Products below the GEMM's own threading threshold: the batch goes over the threads instead.
    macs = f.op(f"mul nsw i64 {f.op(f'mul nsw i64 {f.dim(m)}, {f.dim(kk)}')}, {f.dim(n)}")
    small = f.op(f"icmp slt i64 {macs}, {SPLIT_ITEMS_BELOW}")
    count = f.dim(dim_product(batch))
    work = f.op(f"select i1 {small}, i64 {f.op(f'mul nsw i64 {macs}, {count}')}, i64 0") if batch else "0"
    with range_over_threads(k, count, work, MIN_SPLIT_MACS, "b") as q:
        f = k.f
        bidx = unflatten(f, q, [f.dim(d) for d in batch])
        mk, kn, mn = (f.op(f"mul nsw i64 {f.dim(x)}, {f.dim(y)}") for x, y in ((m, kk), (kk, n), (m, n)))
        a0 = f.op(f"mul nsw i64 {broadcast_offset(f, ab, batch, bidx)}, {mk}")
        b0 = f.op(f"mul nsw i64 {broadcast_offset(f, bb, batch, bidx)}, {kn}")
        c0 = f.op(f"mul nsw i64 {offset(f, bidx, strides(f, batch))}, {mn}")
        if out.dtype == f32:
            sgemm_call(k, a0, b0, c0, f.dim(m), f.dim(kk), f.dim(n), b_packed)
            return
        if out.dtype.name in ("f16", "bf16"):  # sum in f32 and round once, as the reference does
            _dot_loops(k, a0, b0, c0, m, kk, n)
            return
        with f.loop(f.dim(m), "i") as i:
            crow = f.op(f"add nsw i64 {c0}, {f.op(f'mul nsw i64 {i}, {f.dim(n)}')}")
            with f.loop(f.dim(n), "z") as j:
                f.store(out.dtype, k.scalar.const(0, ty), k.outs[0], f.op(f"add nsw i64 {crow}, {j}"))
            with f.loop(f.dim(kk), "k") as p:
                arow = f.op(f"add nsw i64 {a0}, {f.op(f'mul nsw i64 {i}, {f.dim(kk)}')}")
                av = f.load(a.dtype, k.ins[0], f.op(f"add nsw i64 {arow}, {p}"))
                brow = f.op(f"add nsw i64 {b0}, {f.op(f'mul nsw i64 {p}, {f.dim(n)}')}")
                with f.loop(f.dim(n), "j") as j:
                    bv = f.load(b.dtype, k.ins[1], f.op(f"add nsw i64 {brow}, {j}"))
                    at = f.op(f"add nsw i64 {crow}, {j}")
                    cv = f.load(out.dtype, k.outs[0], at)
                    prod = k.scalar.emit("mul", None, [av, bv], [a.dtype] * 2, out.dtype)
                    f.store(out.dtype, k.scalar.emit("add", None, [cv, prod], [out.dtype] * 2, out.dtype),
                            k.outs[0], at)


def _dot_loops(k: Kernel, a0: str, b0: str, c0: str, m: Dim, kk: Dim, n: Dim) -> None:
    """C = A @ B one output at a time, each summed in a register of the compute type."""
    a, b = k.node.inputs
    out = k.node.results[0]
    f, ty = k.f, compute_type(out.dtype)
    with f.loop(f.dim(m), "i") as i, f.loop(f.dim(n), "j") as j:
        acc = _Acc(f, ty, k.scalar.const(0, ty))
        arow = f.op(f"add nsw i64 {a0}, {f.op(f'mul nsw i64 {i}, {f.dim(kk)}')}")
        with f.loop(f.dim(kk), "k") as p:
            av = f.load(a.dtype, k.ins[0], f.op(f"add nsw i64 {arow}, {p}"))
            brow = f.op(f"add nsw i64 {b0}, {f.op(f'mul nsw i64 {p}, {f.dim(n)}')}")
            bv = f.load(b.dtype, k.ins[1], f.op(f"add nsw i64 {brow}, {j}"))
            acc.set(f.op(f"fadd {ty} {acc.get()}, {f.op(f'fmul {ty} {av}, {bv}')}"))
        crow = f.op(f"add nsw i64 {c0}, {f.op(f'mul nsw i64 {i}, {f.dim(n)}')}")
        at = f.op(f"add nsw i64 {crow}, {j}")
        f.store(out.dtype, acc.get(), k.outs[0], at)


def linear_gemm(k: Kernel) -> None:
    """y = x @ w^T (+ bias) in f32 with a constant w, packed transposed at load time into the GEMM's B
    strips; the bias is the GEMM's epilogue (k_epilogue.match checked that w is such a constant)."""
    x, w = k.node.inputs[0], k.node.inputs[1]
    f = k.f
    assert k.prepack(w, "gemm_bt")
    bias = k.ins[2] if len(k.ins) > 2 else None
    sgemm_call(k, "0", "0", "0", f.dim(dim_product(x.shape[:-1])), f.dim(x.shape[-1]), f.dim(w.shape[0]),
               True, bias)


@lowers("linear")
def linear(k: Kernel) -> None:
    """y[r, o] = sum_i x[r, i] * w[o, i] (+ bias[o]): through the GEMM in f32 with a constant weight only
    this node reads, else a dot product per output, along contiguous rows."""
    x, w = k.node.inputs[0], k.node.inputs[1]
    out = k.node.results[0]
    if all(v.dtype == f32 for v in [*k.node.inputs, out]) and id(w) in k.packable:
        linear_gemm(k)
        return
    f, ty = k.f, compute_type(out.dtype)
    rows = x.shape[:-1]
    n_in, n_out = f.dim(x.shape[-1]), f.dim(w.shape[0])
    with nest(f, rows, "r") as ridx:
        r = offset(f, ridx, strides(f, rows))
        xrow = f.op(f"mul nsw i64 {r}, {n_in}")
        yrow = f.op(f"mul nsw i64 {r}, {n_out}")
        with f.loop(n_out, "o") as o:
            wrow = f.op(f"mul nsw i64 {o}, {n_in}")
            acc = _Acc(f, ty, k.scalar.const(0, ty))
            with f.loop(n_in, "i") as i:
                xv = f.load(x.dtype, k.ins[0], f.op(f"add nsw i64 {xrow}, {i}"))
                wv = f.load(w.dtype, k.ins[1], f.op(f"add nsw i64 {wrow}, {i}"))
                acc.set(f.op(f"fadd {ty} {acc.get()}, {f.op(f'fmul {ty} {xv}, {wv}')}"))
            y = acc.get()
            if len(k.ins) > 2:
                y = f.op(f"fadd {ty} {y}, {f.load(k.node.inputs[2].dtype, k.ins[2], o)}")
            f.store(out.dtype, y, k.outs[0], f.op(f"add nsw i64 {yrow}, {o}"))
