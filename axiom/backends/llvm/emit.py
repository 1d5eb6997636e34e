"""A small LLVM IR text builder: one function at a time, with fresh SSA names, blocks, counted loops,
element loads and stores by dtype, and symbolic dims (sympy expressions) computed as i64 values."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sympy

from axiom.ir.dims import Dim
from axiom.ir.dtypes import DType
from axiom.ir.errors import UnsupportedError

# How each dtype is held in memory, and the type its arithmetic runs in (half floats compute in f32).
STORAGE = {"f16": "half", "bf16": "bfloat", "f32": "float", "f64": "double", "i8": "i8", "u8": "i8",
           "i16": "i16", "u16": "i16", "i32": "i32", "u32": "i32", "i64": "i64", "u64": "i64", "bool": "i8"}
COMPUTE = {**STORAGE, "f16": "float", "bf16": "float", "bool": "i1"}


def storage_type(dt: DType) -> str:
    return STORAGE[dt.name]


def compute_type(dt: DType) -> str:
    return COMPUTE[dt.name]


class Function:
    """The body of one LLVM function under construction. ``symbols`` maps symbol names to the index of
    their value in the ``%dims`` i64 array parameter every kernel takes."""

    def __init__(self, name: str, params: Sequence[str], symbols: dict[str, int],
                 linkage: str = "internal", meta: list[str] | None = None) -> None:
        self.name, self.params, self.linkage = name, list(params), linkage
        self.symbols = symbols
        self.meta = [] if meta is None else meta  # the module's metadata lines (ids are their positions)
        self._groups: list[str] = []  # access groups of the enclosing parallel loops
        self.lines: list[str] = []
        self.allocas: list[str] = []  # entry-block allocas, emitted before everything else
        self.parts: list[str] = []  # functions split off this one (split.py), emitted after it
        self.counter = 0
        self.block = "entry"
        self._dims: dict[object, str] = {}

    # ---- names and instructions ------------------------------------------------------------------
    def fresh(self, stem: str = "t") -> str:
        self.counter += 1
        return f"%{stem}{self.counter}"

    def op(self, text: str, stem: str = "t") -> str:
        """Emit ``%name = text`` and return the name."""
        name = self.fresh(stem)
        self.lines.append(f"  {name} = {text}")
        return name

    def raw(self, text: str) -> None:
        self.lines.append(f"  {text}")

    def alloca(self, ty: str) -> str:
        """A stack slot allocated once in the entry block (mem2reg turns it into a register)."""
        name = self.fresh("slot")
        self.allocas.append(f"  {name} = alloca {ty}")
        return name

    def label(self, stem: str) -> str:
        self.counter += 1
        return f"{stem}{self.counter}"

    def start(self, label: str) -> None:
        self.lines.append(f"{label}:")
        self.block = label
        self._dims = {}  # values computed in another block may not dominate this one

    # ---- control flow ---------------------------------------------------------------------------
    def metadata(self, text: str) -> str:
        """A new module metadata node ``!N = text`` (``{id}`` in text stands for its own id); its name."""
        name = f"!{len(self.meta)}"
        self.meta.append(f"{name} = {text.replace('{id}', name)}")
        return name

    @contextmanager
    def loop(self, count: str, stem: str = "i", parallel: bool = False, unroll: bool = True) -> Iterator[str]:
        """``for (i = 0; i < count; i++)``: yields the i64 index; the body may open blocks of its own.
        ``parallel``: no iteration reads what another writes (an elementwise loop, whose result may share
        its operand's buffer index for index), so the loads and stores of the body join an access group
        and the vectorizer needs no run-time overlap checks. ``unroll=False`` keeps LLVM from unrolling a
        loop of known trip count completely (thousands of stores for a large fill: slow to compile)."""
        group = self.metadata("distinct !{}") if parallel else None
        if group:
            self._groups.append(group)
        head, body, exit_ = self.label(f"{stem}.head"), self.label(f"{stem}.body"), self.label(f"{stem}.exit")
        pre = self.block
        self.raw(f"br label %{head}")
        self.start(head)
        index, nxt = self.fresh(stem), self.fresh(f"{stem}.next")
        latch_at = len(self.lines)
        self.lines.append("")  # the phi, filled in once the latch block is known
        more = self.op(f"icmp slt i64 {index}, {count}")
        self.raw(f"br i1 {more}, label %{body}, label %{exit_}")
        self.start(body)
        yield index
        latch = self.block
        self.raw(f"{nxt} = add nuw nsw i64 {index}, 1")
        props = []
        if group:
            self._groups.pop()
            props.append(self.metadata(f'!{{!"llvm.loop.parallel_accesses", {group}}}'))
        if not unroll:
            props.append(self.metadata('!{!"llvm.loop.unroll.disable"}'))
        if props:
            ids = ", ".join(props)
            self.raw(f"br label %{head}, !llvm.loop {self.metadata(f'distinct !{{{{id}}, {ids}}}')}")
        else:
            self.raw(f"br label %{head}")
        self.lines[latch_at] = f"  {index} = phi i64 [ 0, %{pre} ], [ {nxt}, %{latch} ]"
        self.start(exit_)

    @contextmanager
    def when(self, cond: str) -> Iterator[None]:
        """``if (cond) { ... }`` on an i1."""
        then, done = self.label("then"), self.label("done")
        self.raw(f"br i1 {cond}, label %{then}, label %{done}")
        self.start(then)
        yield
        self.raw(f"br label %{done}")
        self.start(done)

    # ---- memory ---------------------------------------------------------------------------------
    def gep(self, dt: DType, base: str, index: str) -> str:
        return self.op(f"getelementptr inbounds {storage_type(dt)}, ptr {base}, i64 {index}", "p")

    def load(self, dt: DType, base: str, index: str) -> str:
        """Element ``index`` of a ``dt`` buffer, converted to its compute type."""
        st = "i16" if dt.name == "bf16" else storage_type(dt)
        v = self.op(f"load {st}, ptr {self.gep(dt, base, index)}{self._access()}")
        if dt.name == "bf16":  # the high half of an f32 (by hand: LLVM may turn bfloat into libcalls)
            wide = self.op(f"zext i16 {v} to i32")
            return self.op(f"bitcast i32 {self.op(f'shl i32 {wide}, 16')} to float")
        if dt.name == "f16":
            return self.op(f"fpext {st} {v} to float")
        if dt.is_bool:
            return self.op(f"icmp ne i8 {v}, 0")
        return v

    def store(self, dt: DType, value: str, base: str, index: str) -> None:
        """Store a compute-type ``value`` as element ``index`` of a ``dt`` buffer."""
        st = storage_type(dt)
        if dt.name == "bf16":
            value, st = self._to_bf16(value), "i16"
        elif dt.name == "f16":
            value = self.op(f"fptrunc float {value} to {st}")
        elif dt.is_bool:
            value = self.op(f"zext i1 {value} to i8")
        self.raw(f"store {st} {value}, ptr {self.gep(dt, base, index)}{self._access()}")

    def _to_bf16(self, value: str) -> str:
        """f32 to bf16 bits (an i16), rounding to nearest even by hand: LLVM lowers ``fptrunc to bfloat``
        (and may turn bfloat arithmetic) into calls of ``__truncsfbf2``, which the JIT cannot resolve. NaN
        stays a (quiet) NaN."""
        bits = self.op(f"bitcast float {value} to i32")
        odd = self.op(f"and i32 {self.op(f'lshr i32 {bits}, 16')}, 1")
        rounded = self.op(f"add i32 {self.op(f'add i32 {bits}, 32767')}, {odd}")
        nan = self.op(f"fcmp uno float {value}, 0.0")
        bits = self.op(f"select i1 {nan}, i32 {self.op(f'or i32 {bits}, 4194304')}, i32 {rounded}")
        return self.op(f"trunc i32 {self.op(f'lshr i32 {bits}, 16')} to i16")

    def _access(self) -> str:
        return f", !llvm.access.group {self._groups[-1]}" if self._groups else ""

    # ---- dims -----------------------------------------------------------------------------------
    def dim(self, d: Dim) -> str:
        """An i64 operand holding dim ``d`` (an int literal, or code computing a sympy expression)."""
        if isinstance(d, int):
            return str(d)
        key = sympy.srepr(d)
        if key not in self._dims:
            self._dims[key] = self._expr(sympy.sympify(d))
        return self._dims[key]

    def _expr(self, e: sympy.Expr) -> str:
        if e.is_Integer:
            return str(int(e))
        if e.is_Symbol:
            if e.name not in self.symbols:
                raise UnsupportedError(f"dim symbol {e.name} has no value at run time")
            p = self.op(f"getelementptr inbounds i64, ptr %dims, i64 {self.symbols[e.name]}", "p")
            return self.op(f"load i64, ptr {p}", "d")
        if isinstance(e, sympy.Add):
            return self._fold("add", e.args)
        if isinstance(e, sympy.Mul):
            return self._mul(e)
        if isinstance(e, sympy.floor):
            return self._floor(e.args[0])
        if isinstance(e, sympy.Mod):
            a, b = self._expr(e.args[0]), self._expr(e.args[1])
            r = self.op(f"srem i64 {a}, {b}")
            neg = self.op(f"icmp slt i64 {r}, 0")
            return self.op(f"select i1 {neg}, i64 {self.op(f'add i64 {r}, {b}')}, i64 {r}")
        if isinstance(e, (sympy.Max, sympy.Min)):
            pred = "sgt" if isinstance(e, sympy.Max) else "slt"
            acc = self._expr(e.args[0])
            for arg in e.args[1:]:
                v = self._expr(arg)
                acc = self.op(f"select i1 {self.op(f'icmp {pred} i64 {acc}, {v}')}, i64 {acc}, i64 {v}")
            return acc
        if isinstance(e, sympy.Pow) and e.exp.is_Integer and e.exp > 0:
            return self._fold("mul", [e.base] * int(e.exp))
        raise UnsupportedError(f"cannot compute the dim {e} in native code")

    def _fold(self, op: str, args: Sequence[sympy.Expr]) -> str:
        acc = self._expr(args[0])
        for a in args[1:]:
            acc = self.op(f"{op} i64 {acc}, {self._expr(a)}")
        return acc

    def _mul(self, e: sympy.Mul) -> str:
        num, den = sympy.fraction(e)
        if den != 1:  # a rational coefficient inside an exact product: (num / den) is an integer here
            return self.op(f"sdiv i64 {self._expr(num)}, {self._expr(den)}")
        return self._fold("mul", e.args)

    def _floor(self, arg: sympy.Expr) -> str:
        """floor(p / q) for an integer-valued p and positive integer q (the dims' floor divisions)."""
        num, den = sympy.fraction(sympy.together(arg))
        a, b = self._expr(sympy.expand(num)), self._expr(den)
        q = self.op(f"sdiv i64 {a}, {b}")
        r = self.op(f"srem i64 {a}, {b}")
        fix = self.op(f"icmp slt i64 {r}, 0")
        return self.op(f"select i1 {fix}, i64 {self.op(f'sub i64 {q}, 1')}, i64 {q}")

    # ---- output ---------------------------------------------------------------------------------
    def text(self) -> str:
        params = ", ".join(self.params)
        body = "\n".join([*self.allocas, *self.lines])
        linkage = f"{self.linkage} " if self.linkage else ""
        return "\n".join([f"define {linkage}void @{self.name}({params}) {{\nentry:\n{body}\n  ret void\n}}\n",
                          *self.parts])
