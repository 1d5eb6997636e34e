"""Shared by the llvm backend tests: compile a graph on llvm and compare it with the numpy oracle."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

import axiom
from axiom.backends.numpy.interpreter import run_graph
from axiom.ir import Builder, Graph, TensorType
from axiom.ir.dtypes import dtype_from_numpy


def one_op(name: str, arrays: Sequence[np.ndarray], **attrs: object) -> Graph:
    """A graph of a single ``name`` node over inputs shaped and typed like ``arrays``."""
    g = Graph(name)
    xs = [g.add_input(f"x{i}", TensorType(dtype_from_numpy(a.dtype), a.shape)) for i, a in enumerate(arrays)]
    out = Builder(g).op(name, *xs, **attrs)
    g.set_outputs(list(out) if isinstance(out, tuple) else [out])
    return g


def assert_matches(graph: Graph, arrays: Sequence[np.ndarray], rtol: float = 1e-5, atol: float = 1e-6,
                   opt_level: int = 0, threads: int | None = None) -> None:
    """llvm (on ``threads`` threads; None: the backend's default) and numpy agree on ``graph`` at
    ``arrays``: same shapes and dtypes, values within tolerance (NaN where the oracle has NaN; integers
    and bools exactly)."""
    # llvm first: its results could otherwise land in memory the oracle just freed, holding the right
    # values where a kernel wrote nothing.
    got = axiom.compile(graph, backend="llvm", opt_level=opt_level, threads=threads)(*arrays)
    want = run_graph(graph, list(arrays))
    got = list(got) if isinstance(got, tuple) else [got]
    for g, w in zip(got, want, strict=True):
        assert g.shape == w.shape and g.dtype == w.dtype, (g.shape, g.dtype, w.shape, w.dtype)
        if w.dtype.kind == "f" or w.dtype.kind == "V":
            np.testing.assert_allclose(g.astype(np.float64), w.astype(np.float64), rtol=rtol, atol=atol)
        else:
            np.testing.assert_array_equal(g, w)
