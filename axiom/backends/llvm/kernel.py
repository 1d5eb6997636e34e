"""What every kernel emitter gets (the node, its function, operand and result buffers) and the index
helpers they share: contiguous strides, nested loops over a shape, broadcast offsets.

A kernel is one LLVM function ``void @kN(ptr out0.., ptr in0.., ptr %dims, ptr %status, ptr %scratch)``;
emitters register as the ``"llvm"`` facet of their op (``register_facet("llvm", "add", emit)``).
``%scratch`` is the frame's scratch region, which the runtime sizes for the kernel that asks most of it
(``Kernel.scratch``): no kernel allocates memory while the model runs."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import sympy

from axiom.backends.llvm.emit import Function
from axiom.backends.llvm.scalar import Scalar
from axiom.ir.dims import Dim, dim_product
from axiom.ir.dtypes import i8
from axiom.ir.graph import Node, Value
from axiom.ir.opdef import register_facet


@dataclass(frozen=True)
class Tail:
    """What a GEMM kernel adds where it stores its product (k_epilogue.py): a per-column bias (pointer or
    None), a residual of the output's shape (pointer or None), then relu."""

    bias: str | None = None
    residual: str | None = None
    relu: bool = False


@dataclass
class Kernel:
    """One node being lowered: ``ins``/``outs`` are the ptr parameters of its operands and results."""

    f: Function
    node: Node
    ins: list[str]
    outs: list[str]
    declared: dict[str, str] = field(default_factory=dict)
    threads: int = 1  # how many threads a kernel may use (through the parallel-for)
    packable: frozenset[int] = frozenset()  # ids of the constants only one kernel reads
    packed: dict[int, str] = field(default_factory=dict)  # constant id -> how the runtime packs it
    tail: Tail = Tail()  # a fused region's tail, for the GEMM kernels that take one
    scratch_bytes: Dim = 0  # how much of the frame's scratch region this kernel uses (``scratch``)

    @property
    def scalar(self) -> Scalar:
        return Scalar(self.f, self.declared)

    def prepack(self, v: Value, how: str) -> bool:
        """Have the runtime hand constant ``v`` to this kernel packed by ``how`` (runtime.PACKERS), once at
        load time; False (nothing asked) unless ``v`` is a constant no other kernel or output reads."""
        if id(v) not in self.packable:
            return False
        self.packed[id(v)] = how
        return True

    def scratch(self, sizes: Sequence[Dim | None]) -> list[str]:
        """Pointers to regions of ``sizes`` bytes (dims in the graph's symbols; "null" for None) laid one
        after another in the scratch region, each 64-byte aligned; the runtime makes the region hold the
        largest such layout of any kernel. Regions asked for by separate calls overlap."""
        ptrs, at = [], sympy.Integer(0)
        for n in sizes:
            if n is None:
                ptrs.append("null")
                continue
            ptrs.append(self.f.gep(i8, "%scratch", self.f.dim(plain(at))))
            at = at + aligned(n)
        self.scratch_bytes = plain(sympy.Max(self.scratch_bytes, at))
        return ptrs

    def numel(self, v: Value) -> str:
        return self.f.dim(dim_product(v.shape))


def plain(d: Dim) -> Dim:
    """``d`` as a Python int when it has no symbols (sympy otherwise)."""
    return int(d) if isinstance(d, int) or d.is_Integer else d


def aligned(n: Dim) -> Dim:
    """``n`` bytes rounded up to whole 64-byte lines."""
    return -(-n // 64) * 64 if isinstance(n, int) else 64 * sympy.floor((sympy.sympify(n) + 63) / 64)


Emit = Callable[[Kernel], None]


def lowers(*ops: str) -> Callable[[Emit], Emit]:
    """Register the decorated emitter as the llvm facet of ``ops``."""

    def register(fn: Emit) -> Emit:
        for op in ops:
            register_facet("llvm", op, fn)
        return fn

    return register


def strides(f: Function, shape: Sequence[Dim]) -> list[str]:
    """Row-major element strides of ``shape`` as i64 operands."""
    out = ["1"] * len(shape)
    acc = "1"
    for k in range(len(shape) - 1, -1, -1):
        out[k] = acc
        acc = f.op(f"mul nsw i64 {acc}, {f.dim(shape[k])}") if acc != "1" else f.dim(shape[k])
    return out


def offset(f: Function, index: Sequence[str], strides_: Sequence[str]) -> str:
    """sum(index[k] * strides[k])."""
    acc = "0"
    for i, s in zip(index, strides_, strict=True):
        term = i if s == "1" else f.op(f"mul nsw i64 {i}, {s}")
        acc = term if acc == "0" else f.op(f"add nsw i64 {acc}, {term}")
    return acc


def broadcast_offset(f: Function, shape: Sequence[Dim], out_shape: Sequence[Dim],
                     index: Sequence[str]) -> str:
    """The offset in a buffer of ``shape`` broadcast (numpy rules, right-aligned) to ``out_shape``."""
    lead = len(out_shape) - len(shape)
    st = strides(f, shape)
    terms = [(index[lead + k], st[k]) for k, d in enumerate(shape)
             if not (d == 1 and out_shape[lead + k] != 1)]  # a broadcast axis does not move
    return offset(f, [i for i, _ in terms], [s for _, s in terms])


@contextmanager
def nest(f: Function, shape: Sequence[Dim], stem: str = "i", parallel: bool = False) -> Iterator[list[str]]:
    """Nested loops over every index of ``shape`` (outermost first); yields the index list. ``parallel``
    marks the innermost loop as free of cross-iteration dependences (Function.loop)."""
    with _nest(f, list(shape), stem, [], parallel) as idx:
        yield idx


@contextmanager
def _nest(f: Function, shape: list[Dim], stem: str, acc: list[str], parallel: bool) -> Iterator[list[str]]:
    if not shape:
        yield acc
        return
    inner = parallel and len(shape) == 1
    with f.loop(f.dim(shape[0]), stem, inner) as i, _nest(f, shape[1:], stem, [*acc, i], parallel) as idx:
        yield idx
