"""print -> parse -> print is the identity on random well-typed graphs, and the parsed graph
computes exactly what the original does (the numpy interpreter is the oracle)."""

from __future__ import annotations

import os
import tempfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from random_graphs import graphs

from axiom.backends.numpy.interpreter import run_graph
from axiom.ir import Graph, parse_graph, print_graph, verify
from axiom.ir.dims import evaluate_dim

SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@settings(SETTINGS, max_examples=40)
@given(graphs())
def test_print_parse_print_is_identity(g: Graph) -> None:
    verify(g)
    inline_text = print_graph(g, constants="inline")
    inline = parse_graph(inline_text)
    verify(inline)
    assert print_graph(inline, constants="inline") == inline_text
    assert inline.missing_constants() == []
    for name, array in g.constants.items():
        assert same_bits(inline.constants[name], array), name
    text = print_graph(g)
    elided = parse_graph(text)
    assert print_graph(elided) == text
    assert sorted(elided.missing_constants()) == sorted(n for n, a in g.constants.items() if a.size > 16)


@settings(SETTINGS, max_examples=15)
@given(graphs(max_nodes=4))
def test_weights_file_restores_every_constant(g: Graph) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "w.npz")
        text = print_graph(g, constants="file", weights=path)
        parsed = parse_graph(text, weights=path)
    assert parsed.missing_constants() == []
    assert print_graph(parsed, constants="inline") == print_graph(g, constants="inline")
    for name, array in g.constants.items():
        assert same_bits(parsed.constants[name], array), name


def _random_input(rng: np.random.Generator, v, bindings: dict[str, int]) -> np.ndarray:  # noqa: ANN001
    shape = tuple(evaluate_dim(d, bindings) for d in v.shape)
    dt = v.dtype.np_dtype
    if v.dtype.is_bool:
        return rng.integers(0, 2, shape).astype(dt)
    if v.dtype.is_int:
        return rng.integers(0 if v.dtype.kind == "uint" else -3, 4, shape).astype(dt)
    return rng.uniform(-2, 2, shape).astype(dt)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # random data overflows some ops, alike in both
@settings(SETTINGS, max_examples=25)
@given(graphs(max_nodes=6), st.integers(1, 3), st.integers(0, 2**32 - 1))
def test_parsed_graph_computes_the_same(g: Graph, size: int, seed: int) -> None:
    names = {s.name for v in g.inputs for s in v.type.symbols}
    bindings = {n: size + i % 2 for i, n in enumerate(sorted(names))}
    rng = np.random.default_rng(seed)
    inputs = [_random_input(rng, v, bindings) for v in g.inputs]
    parsed = parse_graph(print_graph(g, constants="inline"))
    try:
        want = run_graph(g, inputs)
    except Exception as exc:  # noqa: BLE001 - e.g. a gather index out of range: both must fail alike
        try:
            run_graph(parsed, inputs)
        except Exception as again:  # noqa: BLE001
            assert type(again) is type(exc)
            return
        raise AssertionError(f"the original raised {exc!r}, the parsed graph did not") from None
    got = run_graph(parsed, inputs)
    assert len(got) == len(want)
    for a, b in zip(got, want, strict=True):
        assert same_bits(np.asarray(a), np.asarray(b))
