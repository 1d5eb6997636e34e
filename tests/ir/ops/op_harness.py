"""Shared by the op tests: run one op through a graph and the reference interpreter."""

from __future__ import annotations

import numpy as np

from axiom.backends.numpy.interpreter import run_graph
from axiom.ir import Builder, Graph, TensorType, get_op
from axiom.ir.dtypes import dtype_from_numpy


def run_op_all(name: str, arrays: list[np.ndarray], **attrs: object) -> list[np.ndarray]:
    """Every result of a one-node graph; each must match its inferred shape and dtype."""
    g = Graph(name)
    xs = [g.add_input(f"x{i}", TensorType(dtype_from_numpy(a.dtype), a.shape)) for i, a in enumerate(arrays)]
    out = Builder(g).op(name, *xs, **attrs)
    outs = list(out) if isinstance(out, tuple) else [out]
    g.set_outputs(outs)
    results = run_graph(g, arrays)
    for v, r in zip(outs, results, strict=True):
        assert r.shape == tuple(v.shape), f"{name}: reference gave {r.shape}, type rule {v.type}"
        assert r.dtype == v.dtype.np_dtype, f"{name}: reference gave {r.dtype}, type rule {v.type}"
    return results


def run_op(name: str, arrays: list[np.ndarray], **attrs: object) -> np.ndarray:
    """The single result of a one-node graph (checked against its inferred type)."""
    (out,) = run_op_all(name, arrays, **attrs)
    return out


def infer_all(name: str, *types: TensorType, **attrs: object) -> list[TensorType]:
    op = get_op(name)
    return op.infer_types(list(types), op.make_attrs(attrs))


def infer(name: str, *types: TensorType, **attrs: object) -> TensorType:
    return infer_all(name, *types, **attrs)[0]
