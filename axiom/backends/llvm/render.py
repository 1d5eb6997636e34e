"""Render a graph as one LLVM module: a kernel function per node and ``axiom_main(ptr %bufs, ptr %dims,
ptr %status)``, which calls them in order. ``bufs[i]`` is the address of buffer slot ``i`` (graph inputs,
constants, node results; after them the scratch region the kernels share), ``dims[j]`` the value of
symbol ``j``; ``status`` is a word a kernel sets when its input is invalid (an out-of-range index),
checked by the runtime after the call."""

from __future__ import annotations

import re
from dataclasses import dataclass

import sympy

from axiom.backends.llvm import k_elementwise, k_epilogue
from axiom.backends.llvm.emit import Function
from axiom.backends.llvm.kernel import Kernel
from axiom.backends.llvm.parallel import PARALLEL_FOR, PARALLEL_FOR_CHUNKS, POOL_REST, POOL_WAKE
from axiom.ir.dims import Dim
from axiom.ir.errors import UnsupportedError
from axiom.ir.graph import Graph, Node, Value
from axiom.ir.opdef import get_facet

ENTRY = "axiom_main"


@dataclass
class Rendered:
    """The module text, the symbols in ``dims`` order, and the buffer slot of every value (by id)."""

    text: str
    symbols: list[str]
    slots: dict[int, int]
    values: list[Value]
    packed: dict[int, str]  # constant id -> packing (runtime.PACKERS) its kernel reads it in
    kernels: list[Node]  # the node of each kernel, in call order (the profile's rows)
    scratch: list[Dim]  # bytes of the scratch region (slot len(values)) each kernel uses
    profiled: bool = False  # status[1 + i] accumulates kernel i's nanoseconds


def graph_symbols(graph: Graph) -> list[str]:
    """Every symbol in the graph's value types, sorted: the order of the ``dims`` array."""
    values = [*graph.inputs, *(v for node in graph.nodes for v in (*node.inputs, *node.results))]
    return sorted({s.name for v in values for d in v.shape if isinstance(d, sympy.Basic)
                   for s in d.free_symbols})


def unsupported(graph: Graph) -> list[Node]:
    """The nodes no kernel can run (neither an llvm facet nor a fusable elementwise body)."""
    bad = []
    for node in graph.nodes:
        if node.op.name == "const":
            continue
        if node.region is not None:
            if not k_epilogue.one_kernel(node):
                bad.append(node)
        elif get_facet("llvm", node.op) is None:
            bad.append(node)
    return bad


_NOW = """\
declare i32 @clock_gettime(i32, ptr)

define internal i64 @axiom_now() {
entry:
  %ts = alloca { i64, i64 }
  call i32 @clock_gettime(i32 1, ptr %ts)
  %s = load i64, ptr %ts
  %pns = getelementptr inbounds { i64, i64 }, ptr %ts, i32 0, i32 1
  %ns = load i64, ptr %pns
  %sns = mul i64 %s, 1000000000
  %t = add i64 %sns, %ns
  ret i64 %t
}
"""


def _renumber(text: str, base: int) -> str:
    """``text`` with every metadata id ``!k`` shifted to ``!(base + k)``."""
    return re.sub(r"!(\d+)", lambda m: f"!{int(m.group(1)) + base}", text) if base else text


def render(graph: Graph, threads: int = 1, profile: bool = False) -> Rendered:
    """The module of ``graph``; with ``profile`` the entry also times each kernel (CLOCK_MONOTONIC) into
    ``status[1 + i]``, so ``status`` must then hold 1 + len(kernels) words."""
    symbols = graph_symbols(graph)
    index = {s: i for i, s in enumerate(symbols)}
    values: list[Value] = list(graph.inputs)
    for node in graph.nodes:
        values.extend(node.results)
    slots = {id(v): i for i, v in enumerate(values)}
    declared: dict[str, str] = {}
    outputs = {id(v) for v in graph.outputs}
    packable = frozenset(id(n.results[0]) for n in graph.nodes if n.op.name == "const"
                         and len(n.results[0].uses) == 1 and id(n.results[0]) not in outputs)
    packed: dict[int, str] = {}
    kernels, calls, nodes, scratch = [], [], [], []
    meta: list[str] = []  # metadata nodes of every kernel, numbered module-wide
    unique: dict[str, str] = {}  # kernel text (named _kernel_, metadata from !0) -> its function's name
    for n, node in enumerate(graph.nodes):
        if node.op.name == "const":
            continue
        outs = [f"%out{i}" for i in range(len(node.results))]
        ins = [f"%in{i}" for i in range(len(node.inputs))]
        local: list[str] = []
        params = [f"ptr {p}" for p in (*outs, *ins)] + ["ptr %dims", "ptr %status", "ptr %scratch"]
        f = Function("_kernel_", params, index, meta=local)
        k = Kernel(f, node, ins, outs, declared, threads, packable, packed)
        if node.region is None:
            emit = get_facet("llvm", node.op)
        else:
            emit = k_elementwise.fused if k_elementwise.fusable(node.region) else k_epilogue.fused_gemm
        try:
            emit(k)  # type: ignore[operator]
        except UnsupportedError as exc:
            where = f" at {node.loc}" if node.loc else ""
            raise UnsupportedError(f"llvm backend: {node.op.name}{where}: {exc}") from None
        # Nodes with the same op, attributes, types and packing get the same code: compile it once.
        key = f.text() + "\n".join(local)
        name = unique.get(key)
        if name is None:
            name = unique[key] = f"k{n}_{node.op.name}"
            base = len(meta)
            kernels.append(_renumber(f.text(), base).replace("@_kernel_", f"@{name}"))  # and its parts
            meta.extend([_renumber(line, base) for line in local])
        calls.append((name, [slots[id(r)] for r in node.results] + [slots[id(v)] for v in node.inputs]))
        nodes.append(node)
        scratch.append(k.scratch_bytes)
    main = Function(ENTRY, ["ptr %bufs", "ptr %dims", "ptr %status"], index, linkage="")
    threaded = PARALLEL_FOR in declared or PARALLEL_FOR_CHUNKS in declared
    if threaded:  # workers spin as the first kernels run
        declared[POOL_WAKE] = f"declare void @{POOL_WAKE}()"
        declared[POOL_REST] = f"declare void @{POOL_REST}()"
        main.raw(f"call void @{POOL_WAKE}()")
    at = main.op(f"getelementptr inbounds ptr, ptr %bufs, i64 {len(values)}", "p")
    work = main.op(f"load ptr, ptr {at}")  # the scratch region
    for i, (name, args) in enumerate(calls):
        ptrs = []
        for slot in args:
            p = main.op(f"getelementptr inbounds ptr, ptr %bufs, i64 {slot}", "p")
            ptrs.append(main.op(f"load ptr, ptr {p}", "b"))
        start = main.op("call i64 @axiom_now()") if profile else ""
        main.raw(f"call void @{name}(" + ", ".join(f"ptr {p}" for p in ptrs) + ", ptr %dims, ptr %status, "
                 f"ptr {work})")
        if profile:
            took = main.op(f"sub i64 {main.op('call i64 @axiom_now()')}, {start}")
            at = main.op(f"getelementptr inbounds i64, ptr %status, i64 {i + 1}", "p")
            before = main.op(f"load i64, ptr {at}")
            main.raw(f"store i64 {main.op(f'add i64 {before}, {took}')}, ptr {at}")
    if threaded:
        main.raw(f"call void @{POOL_REST}()")
    text = "\n".join([*declared.values(), *([_NOW] if profile else []), *kernels, main.text(), *meta])
    return Rendered(text, symbols, slots, values, packed, nodes, scratch, profile)
