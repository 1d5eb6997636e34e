"""Elementwise kernels: one loop over the result, operands broadcast by index; a flat loop (which LLVM
vectorizes) when every operand has the result's shape or one element. Fused regions whose bodies are
elementwise become one such loop, the body's ops computed per element with no intermediate buffer."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from axiom.backends.llvm.kernel import Kernel, broadcast_offset, lowers, nest, offset, strides
from axiom.backends.llvm.scalar import SCALAR_OPS
from axiom.backends.llvm.split import range_over_threads
from axiom.ir.dims import dim_product, dims_equal
from axiom.ir.graph import Graph, Node, Value

CHUNK = 1 << 14  # elements of a flat loop per chunk handed to a thread


def _flat(operands: Sequence[Value], out: Value) -> bool:
    return all(dims_equal(v.shape, out.shape).proved or dim_product(v.shape) == 1 for v in operands)


def _loads(k: Kernel, operands: Sequence[Value], ptrs: Sequence[str], out: Value,
           index: str | list[str]) -> list[str]:
    """Each operand's element at the result's ``index`` (flat, or a multi-index with broadcasting)."""
    vals = []
    for v, p in zip(operands, ptrs, strict=True):
        if isinstance(index, str):
            at = index if dims_equal(v.shape, out.shape).proved else "0"
        else:
            at = broadcast_offset(k.f, v.shape, out.shape, index)
        vals.append(k.f.load(v.dtype, p, at))
    return vals


def _flat_index(k: Kernel, out: Value, index: list[str]) -> str:
    return offset(k.f, index, strides(k.f, out.shape))


@lowers(*sorted(SCALAR_OPS))
def elementwise(k: Kernel) -> None:
    node, out = k.node, k.node.results[0]
    with _each(k, _flat(node.inputs, out)) as index:
        args = _loads(k, node.inputs, k.ins, out, index)
        at = index if isinstance(index, str) else _flat_index(k, out, index)
        k.f.store(out.dtype, _apply(k, node, args), k.outs[0], at)


@contextmanager
def _each(k: Kernel, flat: bool) -> Iterator[str | list[str]]:
    """Every element of the result: a flat index (chunks of CHUNK split over threads), or a multi-index
    (the outermost axis split over threads) when operands broadcast. Yields inside the innermost loop."""
    out = k.node.results[0]
    f = k.f
    numel = k.numel(out)
    if flat:
        chunks = f.op(f"sdiv i64 {f.op(f'add nsw i64 {numel}, {CHUNK - 1}')}, {CHUNK}")
        with range_over_threads(k, chunks, numel) as c:
            f = k.f
            first = f.op(f"mul nsw i64 {c}, {CHUNK}")
            left = f.op(f"sub nsw i64 {k.numel(out)}, {first}")
            size = f.op(f"call i64 @llvm.smin.i64(i64 {CHUNK}, i64 {left})")
            k.declared["llvm.smin.i64"] = "declare i64 @llvm.smin.i64(i64, i64)"
            with f.loop(size, parallel=True) as i:
                yield f.op(f"add nsw i64 {first}, {i}")
        return
    if not out.shape:
        with nest(f, out.shape, parallel=True) as idx:
            yield idx
        return
    with range_over_threads(k, f.dim(out.shape[0]), numel) as i0, \
            nest(k.f, out.shape[1:], parallel=True) as idx:
        yield [i0, *idx]


def _apply(k: Kernel, node: Node, args: list[str]) -> str:
    dts = [v.dtype for v in node.inputs]
    return k.scalar.emit(node.op.name, node.attrs, args, dts, node.results[0].dtype)


def fusable(body: Graph) -> bool:
    """A region this module runs as one loop: elementwise ops only, every result of the result's shape."""
    if not body.outputs or not all(n.op.name in SCALAR_OPS for n in body.nodes):
        return False
    shape = body.outputs[0].shape
    return all(dims_equal(o.shape, shape).proved for o in body.outputs)


def fused(k: Kernel) -> None:
    """A fused elementwise region: load its operands per element, run the body's ops, store its results."""
    body, node = k.node.region, k.node
    assert body is not None
    out = node.results[0]
    flat = _flat(node.inputs, out)
    with _each(k, flat) as index:
        env = dict(zip((id(a) for a in body.inputs), _loads(k, node.inputs, k.ins, out, index), strict=True))
        for inner in body.nodes:
            env[id(inner.results[0])] = _apply(k, inner, [env[id(v)] for v in inner.inputs])
        at = index if flat else _flat_index(k, out, index)
        for r, o, p in zip(node.results, body.outputs, k.outs, strict=True):
            k.f.store(r.dtype, env[id(o)], p, at)
