"""lower(graph): make the graph one the kernels cover (open non-elementwise regions, decompose ops
without a kernel), list every node still without one at once, render, compile, wrap for the runtime."""

from __future__ import annotations

import hashlib
import os

import numpy as np

from axiom.backends.llvm import k_epilogue
from axiom.backends.llvm.conv_direct import DIRECT, ensure_direct
from axiom.backends.llvm.parallel import PARALLEL_FOR, ensure_pool
from axiom.backends.llvm.render import ENTRY, render, unsupported
from axiom.backends.llvm.runtime import NativeRun
from axiom.backends.llvm.target import assembly, compile_module
from axiom.ir.builder import Builder
from axiom.ir.dtypes import f32
from axiom.ir.errors import UnsupportedError
from axiom.ir.graph import Graph
from axiom.ir.opdef import all_ops, get_facet

# Ops with a decomposition and no kernel of their own: the level pipelines decompose them before fusion.
DECOMPOSE: tuple[str, ...] = tuple(sorted(
    op.name for op in all_ops() if op.decompose is not None and get_facet("llvm", op) is None))


def prepare(graph: Graph) -> Graph:
    """A copy every node of which has a kernel, as far as decompositions allow."""
    from axiom.compiler.passes.unfuse import inline
    from axiom.compiler.pipeline import run_pipeline

    graph = graph.copy()
    outputs = frozenset(id(v) for v in graph.outputs)
    for node in list(graph.nodes):
        if node.region is not None and not k_epilogue.one_kernel(node, outputs):
            inline(graph, node)
    _prepack_linear_weights(graph)
    todo = sorted({n.op.name for n in graph.nodes if n.op.name in DECOMPOSE})
    if todo:
        graph = run_pipeline(graph, "decompose{ops=" + "+".join(todo) + "}").graph
    return graph


def _prepack_linear_weights(graph: Graph) -> None:
    """linear(x, w, b) with a constant f32 w that other nodes read too becomes matmul(x, w^T) (+ b): w is
    transposed once, now, into the [in, out] layout the GEMM streams, instead of at every call. (A weight
    only the linear reads is packed for it at load time: k_linalg.linear_gemm.)"""
    outputs = {id(v) for v in graph.outputs}
    for node in list(graph.nodes):
        if node.op.name != "linear" or node.results[0].dtype != f32:
            continue
        w = graph.constant_of(node.inputs[1])
        if w is None or (len(node.inputs[1].uses) == 1 and id(node.inputs[1]) not in outputs):
            continue
        b = Builder(graph, before=node, loc=node.loc)
        name = f"{node.inputs[1].name or 'w'}.T"
        wt = graph.add_constant(np.ascontiguousarray(w.T), name, node.loc, before=node)
        y = b.op("matmul", node.inputs[0], wt)
        if len(node.inputs) > 2:
            y = b.op("add", y, node.inputs[2])
        graph.replace_all_uses(node.results[0], y)
        graph.erase(node)


def default_threads() -> int:
    """``$AXIOM_NUM_THREADS`` when set, else the number of CPUs this process may run on."""
    env = os.environ.get("AXIOM_NUM_THREADS")
    if env:
        return _check_threads(int(env) if env.strip().isdigit() else env)
    return max(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1, 1)


def _check_threads(threads: object) -> int:
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise UnsupportedError(f"threads must be a positive integer, got {threads!r}")
    return threads


def lower(graph: Graph, threads: int | None = None, profile: bool = False) -> NativeRun:
    """Compile ``graph`` for this CPU; large kernels use ``threads`` threads (default: every CPU this
    process may use, or ``$AXIOM_NUM_THREADS``). ``profile`` times every kernel (``run.kernel_ns``)."""
    missing = graph.missing_constants()
    if missing:
        raise UnsupportedError(f"graph @{graph.name} has constants without data: {', '.join(missing)}")
    graph = prepare(graph)
    bad = unsupported(graph)
    if bad:
        lines = [f"  {n.op.name}{' at ' + str(n.loc) if n.loc else ''}" for n in bad]
        raise UnsupportedError(f"the llvm backend has no kernel for {len(bad)} node(s) of @{graph.name}:\n"
                               + "\n".join(lines))
    rendered = render(graph, default_threads() if threads is None else _check_threads(threads), profile)
    # Each module's entry gets its own name: MCJIT resolves symbols process-wide, so a second module's
    # `axiom_main` could otherwise resolve to the first one's code.
    entry = f"{ENTRY}_{hashlib.sha256(rendered.text.encode()).hexdigest()[:16]}"
    rendered.text = rendered.text.replace(f"@{ENTRY}(", f"@{entry}(")
    if f"@{PARALLEL_FOR}" in rendered.text:  # either entry
        ensure_pool()
    if f"@{DIRECT}(" in rendered.text:
        ensure_direct()
    return NativeRun(graph, rendered, compile_module(rendered.text, entry))


def source(graph: Graph, threads: int | None = None) -> dict[str, str]:
    """The module of ``graph`` as LLVM IR (``"ll"``) and host assembly after O3 (``"s"``)."""
    text = render(prepare(graph), default_threads() if threads is None else _check_threads(threads)).text
    return {"ll": text, "s": assembly(text)}
