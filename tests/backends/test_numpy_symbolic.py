"""The interpreter binds symbols from the inputs, so symbolic dims attributes evaluate."""

import numpy as np
import pytest

from axiom.api import compile as axiom_compile
from axiom.backends.numpy import EvaluationError, run_graph
from axiom.ir import Builder, Graph, TensorType, sym

N, M = sym("N"), sym("M")


def _graph():
    g = Graph("two_symbols")
    x = g.add_input("x", TensorType("f32", [N, M, 4]))
    y = g.add_input("y", TensorType("f32", [1, 4]))
    b = Builder(g)
    flat = b.op("reshape", x, shape=[N * M, 4])
    wide = b.op("expand", y, shape=[M, 4])
    g.set_outputs([b.op("reshape", flat, shape=[N, M, 4]), wide])
    return g


def test_reshape_and_expand_with_two_symbols():
    x = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    y = np.arange(4, dtype=np.float32).reshape(1, 4)
    back, wide = run_graph(_graph(), [x, y])
    np.testing.assert_array_equal(back, x)
    np.testing.assert_array_equal(wide, np.broadcast_to(y, (3, 4)))
    back, wide = axiom_compile(_graph(), backend="numpy")(x, y)
    assert wide.shape == (3, 4)


def test_unbound_symbol_is_named():
    g = Graph("unbound")
    y = g.add_input("y", TensorType("f32", [1, 4]))
    g.set_outputs([Builder(g).op("expand", y, shape=[M, 4])])
    with pytest.raises(EvaluationError, match="symbol M, which no graph input binds"):
        run_graph(g, [np.zeros((1, 4), np.float32)])
