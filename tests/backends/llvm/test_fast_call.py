"""The llvm run function's shortcut for a call like the last checked one (NativeRun.fast): it is taken
only for numpy arrays of exactly the last checked call's dtypes and shapes, C-contiguous, and gives the
checked path's results; anything else falls back to the checked path, with its errors."""

from __future__ import annotations

import numpy as np
import pytest

import axiom
from axiom.ir import Builder, Graph, TensorType
from axiom.ir.dtypes import f32, i32
from axiom.ir.errors import AxiomError

RNG = np.random.default_rng(0)


def _model(outputs: str = "one"):  # noqa: ANN202
    """y = relu(x @ w) (and y + 1, or y twice, or x itself, as further outputs) with a symbolic batch."""
    g = Graph("fast")
    x = g.add_input("x", TensorType(f32, ("B", 5)))
    b = Builder(g)
    y = b.op("relu", b.op("matmul", x, g.add_constant(RNG.standard_normal((5, 3)).astype(np.float32), "w")))
    outs = {"one": [y], "two": [y, b.op("add", y, g.add_constant(np.ones(3, np.float32), "one"))],
            "twice": [y, y], "input": [y, x]}[outputs]
    g.set_outputs(outs)
    return axiom.compile(g, backend="llvm"), g


def _oracle(g: Graph, x: np.ndarray) -> list[np.ndarray]:
    return [np.asarray(v) for v in axiom.compile(g, backend="numpy")(x)] if len(g.outputs) > 1 else \
        [axiom.compile(g, backend="numpy")(x)]


@pytest.mark.parametrize("outputs", ["one", "two", "twice", "input"])
def test_repeated_calls_match_the_oracle_and_never_share_outputs(outputs) -> None:  # noqa: ANN001
    exe, g = _model(outputs)
    x = RNG.standard_normal((4, 5)).astype(np.float32)
    first = exe(x)
    takes_fast = outputs in ("one", "two")  # a value returned twice, or an input returned, is copied
    assert (exe.run.fast((x,)) is not None) == takes_fast
    for _ in range(3):
        again = exe(x)
        got = list(again) if isinstance(again, tuple) else [again]
        for a, want in zip(got, _oracle(g, x), strict=True):
            np.testing.assert_allclose(a, want, rtol=1e-6)
        kept = list(first) if isinstance(first, tuple) else [first]
        assert all(a is not k and not np.shares_memory(a, k) for a in got for k in kept)
        if outputs == "twice":
            assert not np.shares_memory(got[0], got[1])


def test_other_shapes_dtypes_and_layouts_take_the_checked_path() -> None:
    exe, g = _model()
    x4 = RNG.standard_normal((4, 5)).astype(np.float32)
    exe(x4)
    x7 = RNG.standard_normal((7, 5)).astype(np.float32)
    assert exe.run.fast((x7,)) is None  # another batch: checked first, then fast
    np.testing.assert_allclose(exe(x7), _oracle(g, x7)[0], rtol=1e-6)
    assert exe.run.fast((x7,)) is not None
    wide = RNG.standard_normal((7, 10)).astype(np.float32)[:, ::2]  # not contiguous
    assert exe.run.fast((wide,)) is None
    np.testing.assert_allclose(exe(wide), _oracle(g, np.ascontiguousarray(wide))[0], rtol=1e-6)
    big_endian = x7.astype(">f4")
    assert exe.run.fast((big_endian,)) is None
    with pytest.raises(AxiomError, match="x"):
        exe(x7.astype(np.float64))
    with pytest.raises(AxiomError, match="x"):
        exe(RNG.standard_normal((7, 6)).astype(np.float32))
    with pytest.raises(AxiomError):
        exe(x7, x7)
    assert exe.run.fast((x7.tolist(),)) is None


def test_read_only_and_empty_inputs() -> None:
    exe, g = _model()
    x = RNG.standard_normal((3, 5)).astype(np.float32)
    exe(x)
    ro = x.copy()
    ro.flags.writeable = False
    np.testing.assert_allclose(exe(ro), _oracle(g, x)[0], rtol=1e-6)
    g2 = Graph("empty")
    v = g2.add_input("v", TensorType(i32, (0, 4)))
    g2.set_outputs([Builder(g2).op("add", v, v)])
    exe2 = axiom.compile(g2, backend="llvm")
    e = np.zeros((0, 4), np.int32)
    for _ in range(2):
        assert exe2(e).shape == (0, 4)
