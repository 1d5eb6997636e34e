"""Fused regions whose anchor is an f32 conv2d, matmul or linear followed by a bias, a residual and a
relu (the fuse pass's ``conv2d+add+relu``, ``matmul+add+add``, ``linear+relu``): one kernel, the tail
applied where the GEMM stores its product (its bias and relu epilogue, or the fill it accumulates
onto), so the output is written once instead of once per tail op.

``match`` says which regions qualify (``lowering.prepare`` keeps them whole; any other non-elementwise
region is inlined); ``fused_gemm`` emits the anchor's own kernel with a ``Tail``.
"""

from __future__ import annotations

from dataclasses import dataclass

from axiom.backends.llvm import k_elementwise
from axiom.backends.llvm.k_linalg import linear_gemm
from axiom.backends.llvm.kernel import Kernel, Tail
from axiom.ir.dtypes import f32
from axiom.ir.graph import Node, Value
from axiom.ir.opdef import get_facet

ANCHORS = ("conv2d", "matmul", "linear")


@dataclass(frozen=True)
class Epilogue:
    """A region's tail, by position among the fused node's operands."""

    bias: int | None = None  # an f32[N] added along the last axis (matmul, or a linear without one)
    residual: int | None = None  # an operand of the output's type, added
    relu: bool = False


def one_kernel(node: Node, outputs: frozenset[int] = frozenset()) -> bool:
    """Does one kernel run region ``node`` whole (an elementwise body, or a GEMM anchor with a tail)?
    ``outputs``: ids of the graph's outputs (a linear's weight among them cannot be packed)."""
    if node.region is None:
        return False
    return k_elementwise.fusable(node.region) or match(node, outputs) is not None


def match(node: Node, outputs: frozenset[int] = frozenset()) -> Epilogue | None:
    """The tail of ``node`` when it is a region this module runs, else None."""
    body = node.region
    if body is None or not body.nodes or len(body.outputs) != 1:
        return None
    anchor, params = body.nodes[0], {id(p): i for i, p in enumerate(body.inputs)}
    if anchor.op.name not in ANCHORS or not _anchor_ok(anchor, node, params, outputs):
        return None
    y, bias, residual, relu = anchor.results[0], None, None, False
    for n in body.nodes[1:]:
        if relu or n.region is not None or y not in n.inputs or len(n.inputs) != len(set(map(id, n.inputs))):
            return None
        if n.op.name == "relu":
            relu = True
        elif n.op.name == "add" and len(n.inputs) == 2:
            other = n.inputs[1] if n.inputs[0] is y else n.inputs[0]
            if id(other) not in params or other.dtype != f32 or n.results[0].shape != y.shape:
                return None
            if other.shape == y.shape and residual is None:
                residual = params[id(other)]
            elif _is_bias(anchor, other, y) and bias is None and residual is None:
                bias = params[id(other)]
            else:
                return None
        else:
            return None
        y = n.results[0]
    if body.outputs[0] is not y or y.dtype != f32:
        return None
    return Epilogue(bias, residual, relu)


def _anchor_ok(anchor: Node, node: Node, params: dict[int, int], outputs: frozenset[int]) -> bool:
    """f32 throughout, operands straight from the region's, and a shape the GEMM paths handle."""
    if any(v.dtype != f32 for v in [*anchor.inputs, *anchor.results]):
        return False
    if any(id(v) not in params for v in anchor.inputs):
        return False
    if anchor.op.name == "matmul":
        return all(v.rank >= 2 for v in anchor.inputs)
    if anchor.op.name == "linear":  # its weight must be a constant, packed transposed at load time
        w = node.inputs[params[id(anchor.inputs[1])]]
        return (w.producer is not None and w.producer.op.name == "const" and len(w.uses) == 1
                and id(w) not in outputs)
    return True


def _is_bias(anchor: Node, v: Value, y: Value) -> bool:
    """An f32[N] along the product's columns, where the anchor has no bias of its own."""
    if anchor.op.name == "conv2d" or (anchor.op.name == "linear" and len(anchor.inputs) > 2):
        return False
    return v.rank == 1 and v.shape[0] == y.shape[-1]


def fused_gemm(k: Kernel) -> None:
    """Emit the anchor's kernel with the region's tail (the anchor's operands and packed constants
    translated between the region's parameters and the fused node's operands)."""
    node = k.node
    body, tail = node.region, match(node)
    assert body is not None and tail is not None
    anchor = body.nodes[0]
    index = {id(p): i for i, p in enumerate(body.inputs)}
    outer = {id(p): node.inputs[i] for i, p in enumerate(body.inputs)}
    packable = frozenset(pid for pid, v in outer.items() if id(v) in k.packable)
    at = lambda i: None if i is None else k.ins[i]  # noqa: E731
    inner = Kernel(k.f, anchor, [k.ins[index[id(v)]] for v in anchor.inputs], k.outs, k.declared, k.threads,
                   packable, {}, Tail(at(tail.bias), at(tail.residual), tail.relu))
    emit = linear_gemm if anchor.op.name == "linear" else get_facet("llvm", anchor.op)
    emit(inner)  # type: ignore[operator]
    k.f, k.scratch_bytes = inner.f, inner.scratch_bytes
    for pid, how in inner.packed.items():
        k.packed[id(outer[pid])] = how
