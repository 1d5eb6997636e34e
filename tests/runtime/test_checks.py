"""Call-time checks: every wrong input is named, symbolic dims bind consistently."""

import numpy as np
import pytest

from axiom.ir import Graph, InputError, TensorType, parse_dim, sym
from axiom.runtime.checks import bind_inputs, output_shape

N, M = sym("N"), sym("M")


def _inputs(*types):
    g = Graph("t")
    return [g.add_input(f"in{i}", t) for i, t in enumerate(types)]


def test_binds_symbols_and_returns_arrays():
    params = _inputs(TensorType("f32", [N, 4]), TensorType("f32", [4, N]))
    x, y = np.zeros((3, 4), np.float32), np.zeros((4, 3), np.float32)
    arrays, b = bind_inputs(params, [x, y])
    assert b == {"N": 3}
    assert arrays[0] is x


@pytest.mark.parametrize(
    "arg, pattern",
    [
        (np.zeros((3, 4), np.float64), r"input 'in0' must have dtype f32 .* got float64"),
        (np.zeros((3, 4, 1), np.float32), r"input 'in0' must have rank 2"),
        (np.zeros((3, 5), np.float32), r"input 'in0' must have shape \[N, 4\].*dim 1 is 5, expected 4"),
        ([[1.0, 2.0]], r"input 'in0' must be a numpy array"),
        (np.zeros((0, 4), np.float32), r"input 'in0': dim 0 \(N\) must be >= 1"),
    ],
)
def test_wrong_input_is_named(arg, pattern):
    (p,) = _inputs(TensorType("f32", [N, 4]))
    with pytest.raises(InputError, match=pattern):
        bind_inputs([p], [arg])


def test_inconsistent_symbol_across_inputs():
    params = _inputs(TensorType("f32", [N, 4]), TensorType("f32", [N]))
    with pytest.raises(InputError, match=r"input 'in1': dim 0 is N = 5, but an earlier input bound N = 3"):
        bind_inputs(params, [np.zeros((3, 4), np.float32), np.zeros(5, np.float32)])


def test_expression_dims_are_checked_and_solved():
    params = _inputs(TensorType("f32", [N]), TensorType("f32", [parse_dim("2*N")]))
    with pytest.raises(InputError, match=r"input 'in1': dim 0 must be 2\*N = 6"):
        bind_inputs(params, [np.zeros(3, np.float32), np.zeros(7, np.float32)])
    # M appears only inside an expression: solved from the size.
    (p,) = _inputs(TensorType("f32", [parse_dim("M + 1")]))
    _, b = bind_inputs([p], [np.zeros(5, np.float32)])
    assert b == {"M": 4}
    assert output_shape(TensorType("f32", [M, parse_dim("M//2")]), b) == (4, 2)


def test_wrong_count():
    params = _inputs(TensorType("f32", [N]))
    with pytest.raises(InputError, match=r"expected 1 inputs \(in0: f32\[N\]\), got 2"):
        bind_inputs(params, [np.zeros(1, np.float32)] * 2)


@pytest.mark.parametrize("dtype, value, ok", [
    ("i32", 3, True), ("i32", 3.7, False), ("i32", True, False), ("i32", 2**40, False),
    ("f32", 3, True), ("f32", 2.5, True), ("f32", True, False), ("bool", True, True), ("bool", 1, False),
])
def test_python_scalars_convert_only_exactly(dtype, value, ok):
    (p,) = _inputs(TensorType(dtype, []))
    if ok:
        arrays, _ = bind_inputs([p], [value])
        assert arrays[0].dtype == TensorType(dtype, []).dtype.np_dtype and arrays[0] == value
    else:
        with pytest.raises(InputError, match="input 'in0' has type .* does not convert to it exactly"):
            bind_inputs([p], [value])


def test_numpy_scalar_dtype_must_match():
    (p,) = _inputs(TensorType("i32", []))
    with pytest.raises(InputError, match="input 'in0' must have dtype i32"):
        bind_inputs([p], [np.float64(3.7)])
    assert bind_inputs([p], [np.int32(3)])[0][0] == 3


def test_unsolvable_expression_dim_names_the_input():
    (p,) = _inputs(TensorType("f32", [parse_dim("N//2")]))
    with pytest.raises(InputError, match="cannot determine N from a dim of size 3"):
        bind_inputs([p], [np.zeros(3, np.float32)])
