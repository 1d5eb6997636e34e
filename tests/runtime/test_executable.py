"""Executable: compile a graph, call it with numpy and torch, read its IR."""

import numpy as np
import pytest

from axiom.api import compile as axiom_compile
from axiom.compiler.levels import pipeline_for
from axiom.ir import Builder, Graph, InputError, TensorType, sym
from axiom.ir.printer import print_graph

N = sym("N")


def _mlp_graph() -> Graph:
    rng = np.random.default_rng(0)
    g = Graph("affine")
    x = g.add_input("x", TensorType("f32", [N, 3]))
    b = Builder(g)
    w = b.constant(rng.standard_normal((3,)).astype(np.float32), "w")
    g.set_outputs([b.tanh(b.mul(x, w)), b.relu(x)])
    return g


def test_runs_at_two_batch_sizes_against_numpy():
    g = _mlp_graph()
    exe = axiom_compile(g, backend="numpy")
    w = g.constants["w"]
    for n in (1, 5):
        x = np.linspace(-2, 2, n * 3, dtype=np.float32).reshape(n, 3)
        y, r = exe(x)
        np.testing.assert_allclose(y, np.tanh(x * w), rtol=1e-6)
        np.testing.assert_array_equal(r, np.maximum(x, 0))


def test_keyword_arguments_and_errors_name_the_input():
    exe = axiom_compile(_mlp_graph(), backend="numpy")
    x = np.ones((2, 3), np.float32)
    np.testing.assert_array_equal(exe(x=x)[1], x)
    with pytest.raises(InputError, match="unknown input"):
        exe(y=x)
    with pytest.raises(InputError, match="input 'x' must have dtype f32"):
        exe(x.astype(np.float64))


def test_torch_in_torch_out():
    torch = pytest.importorskip("torch")
    exe = axiom_compile(_mlp_graph(), backend="numpy")
    x = torch.randn(4, 3)
    y, r = exe(x)
    assert isinstance(y, torch.Tensor)
    torch.testing.assert_close(r, torch.relu(x))


def test_ir_and_text_and_compile_does_not_mutate():
    g = _mlp_graph()
    before = print_graph(g)
    exe = axiom_compile(g, backend="best", opt_level=1)
    assert exe.as_text() == before
    assert exe.ir is not g
    assert exe.passes == ["canonicalize", "dce"]  # the O1 pipeline
    o2 = axiom_compile(g, backend="best")
    assert o2.passes == [p.split("{")[0] for p in pipeline_for(2).split(",")]
    assert "fuse" in o2.passes and o2.context.memory_plan is not None
    assert print_graph(g) == before


def test_unknown_backend():
    from axiom.ir import UnsupportedError

    with pytest.raises(UnsupportedError, match="unknown backend 'tpu'; available: numpy"):
        axiom_compile(_mlp_graph(), backend="tpu")


def test_wrong_torch_dtype_gets_a_torch_hint():
    torch = pytest.importorskip("torch")
    exe = axiom_compile(_mlp_graph(), backend="numpy")
    with pytest.raises(InputError, match=r"input 'x' must have dtype f32 .* got float64; convert it with "
                                         r"\.to\(torch\.float32\)"):
        exe(torch.zeros(2, 3, dtype=torch.float64))


def test_an_input_given_twice_or_too_many_is_refused():
    exe = axiom_compile(_mlp_graph(), backend="numpy")
    x = np.ones((2, 3), np.float32)
    with pytest.raises(InputError, match=r"input\(s\) \['x'\] given both by position and by name"):
        exe(x, x=x)
    with pytest.raises(InputError, match="expected 1 inputs"):
        exe(x, x)
