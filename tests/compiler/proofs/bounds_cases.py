"""Shared by the interval tests: one-op graphs, random boxes, and the soundness check against the
numpy oracle at sampled points of a box (every intermediate value, not just the outputs)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from axiom.backends.numpy.interpreter import evaluate_node
from axiom.compiler.proofs.ibp import propagate
from axiom.compiler.proofs.interval import Interval
from axiom.ir import Builder, Graph, TensorType
from axiom.ir.dtypes import dtype_from_numpy
from axiom.ir.printer import name_values


def one_op(name: str, inputs: Sequence[np.ndarray | tuple[tuple[int, ...], np.dtype]],
           consts: Sequence[np.ndarray] = (), **attrs: object) -> Graph:
    """A graph of one ``name`` node: graph inputs shaped as ``inputs`` (arrays or (shape, dtype)),
    then ``consts`` as constant operands."""
    g = Graph(name)
    xs = []
    for i, a in enumerate(inputs):
        shape, dt = (a.shape, a.dtype) if isinstance(a, np.ndarray) else a
        xs.append(g.add_input(f"x{i}", TensorType(dtype_from_numpy(np.dtype(dt)), shape)))
    b = Builder(g)
    xs += [b.constant(c, f"c{i}") for i, c in enumerate(consts)]
    out = b.op(name, *xs, **attrs)
    g.set_outputs(list(out) if isinstance(out, tuple) else [out])
    return g


def random_box(rng: np.random.Generator, shape: tuple[int, ...], dtype: np.dtype = np.float32,
               scale: float = 4.0, center: float = 0.0) -> Interval:
    """A box with bounds representable in ``dtype``: random centres and widths, some of width 0."""
    mid = center + scale * rng.standard_normal(shape)
    width = scale * rng.random(shape) * (rng.random(shape) < 0.9)
    lo, hi = (mid - width).astype(dtype), (mid + width).astype(dtype)
    return Interval.of(np.minimum(lo, hi), np.maximum(lo, hi))


def sample(rng: np.random.Generator, box: Interval, dtype: np.dtype) -> np.ndarray:
    """A point of the box in ``dtype``: each element at a bound, or uniform between them."""
    dtype = np.dtype(dtype)
    u = rng.random(box.shape)
    x = box.lo + (box.hi - box.lo) * u
    pick = rng.random(box.shape)
    x = np.where(pick < 0.2, box.lo, np.where(pick < 0.4, box.hi, x))
    if dtype.kind in "iub":
        return np.clip(np.round(x), np.ceil(box.lo), np.floor(box.hi)).astype(dtype)
    return np.clip(x.astype(dtype), box.lo.astype(dtype), box.hi.astype(dtype))


def assert_sound(graph: Graph, box: Sequence[Interval], points: int = 64,
                 seed: int = 0) -> dict[int, Interval]:
    """Every value of ``graph`` at ``points`` sampled inputs lies within its propagated bounds."""
    bounds = propagate(graph, box)
    rng = np.random.default_rng(seed)
    names = name_values(graph)
    for _ in range(points):
        env = {id(v): sample(rng, iv, v.type.dtype.np_dtype) for v, iv in zip(graph.inputs, box, strict=True)}
        for node in graph.nodes:
            with np.errstate(all="ignore"):
                outs = evaluate_node(graph, node, [env[id(v)] for v in node.inputs])
            for r, o in zip(node.results, outs, strict=True):
                env[id(r)] = o
                iv = bounds[id(r)]
                ok = iv.contains(o)
                if not ok.all():
                    i = tuple(int(k) for k in np.argwhere(~ok)[0])
                    raise AssertionError(
                        f"%{names[id(r)]} = {node.op.name}(...) at {i}: value {o[i]!r} outside "
                        f"[{iv.lo[i]!r}, {iv.hi[i]!r}] (nan allowed: {bool(iv.nan[i])}); inputs "
                        + ", ".join(f"{env[id(v)]!r}" for v in graph.inputs))
    return bounds
