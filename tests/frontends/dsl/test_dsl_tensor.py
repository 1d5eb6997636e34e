"""Traced tensors: annotations, operators and methods against numpy, outputs and declared return types."""
# ruff: noqa: F821  (dims such as "N" in Tensor[...] are names, not forward references)

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from axiom.frontends.dsl import Tensor, TraceError, model, ops
from axiom.frontends.dsl.tensor import TensorSpec
from axiom.ir import ShapeError, TensorType, boolean, f32, f64, i32, parse_dim


def rand(shape, dtype=np.float32, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def test_annotation_forms():
    assert Tensor[f32, "N", 784] == TensorSpec(TensorType(f32, ["N", 784]))
    assert Tensor["f64", ("B", "2*B")] == TensorSpec(TensorType(f64, ["B", parse_dim("2*B")]))
    assert Tensor[f32].type.shape == ()
    assert repr(Tensor[f32, "N", "H//2"]) == "Tensor[f32, N, H//2]"
    with pytest.raises(TypeError, match="starts with a dtype"):
        Tensor["N", 3]
    with pytest.raises(TypeError, match="bad dimension"):
        Tensor[f32, -1]


def test_inputs_named_after_parameters_with_expression_dims():
    @model
    def pair(a: Tensor[f32, "B", 3], b: Tensor[f32, "2*B", 3]):
        return ops.concat([a, a], axis=0) + b

    assert pair.graph.name == "pair"
    assert [v.name for v in pair.graph.inputs] == ["a", "b"]
    assert [str(t) for t in pair.input_types] == ["f32[B, 3]", "f32[2*B, 3]"]
    assert str(pair.output_types[0]) == "f32[2*B, 3]"
    a, b = rand((2, 3)), rand((4, 3), seed=1)
    np.testing.assert_allclose(pair(a, b), np.concatenate([a, a]) + b)


binary = [
    (lambda x, y: x + y, np.add), (lambda x, y: x - y, np.subtract), (lambda x, y: x * y, np.multiply),
    (lambda x, y: x / y, np.divide), (lambda x, y: x ** y, np.power),
    (lambda x, y: x < y, np.less), (lambda x, y: x <= y, np.less_equal), (lambda x, y: x > y, np.greater),
    (lambda x, y: x >= y, np.greater_equal), (lambda x, y: x == y, np.equal),
    (lambda x, y: x != y, np.not_equal),
]


@settings(max_examples=15, deadline=None)
@given(case=st.sampled_from(binary), rows=st.integers(1, 3), scalar=st.floats(0.5, 3.0), flip=st.booleans())
def test_binary_operators_with_tensors_and_scalars(case, rows, scalar, flip):
    fn, ref = case

    @model
    def m(x: Tensor[f32, "N", 4], y: Tensor[f32, 4]):
        return fn(x, y), (fn(scalar, x) if flip else fn(x, scalar))

    x, y = np.abs(rand((rows, 4))) + 0.1, np.abs(rand((4,), seed=1)) + 0.1
    got_xy, got_s = m(x, y)
    np.testing.assert_allclose(got_xy, ref(x, y), rtol=1e-6)
    want_s = ref(np.float32(scalar), x) if flip else ref(x, np.float32(scalar))
    np.testing.assert_allclose(got_s, want_s, rtol=1e-6)
    consts = [a for a in m.graph.constants.values()]
    assert all(a.dtype == np.float32 for a in consts)


def test_unary_matmul_and_logic():
    @model
    def m(x: Tensor[f32, "N", 3], w: Tensor[f32, 3, 2]):
        pos = x > 0
        return -x, abs(x), +x, x @ w, ~pos, pos & (x < 1), pos | (x < -1), pos ^ True

    x, w = rand((4, 3)), rand((3, 2), seed=1)
    neg, ab, same, mm, npos, band, bor, bxor = m(x, w)
    pos = x > 0
    np.testing.assert_array_equal(neg, -x)
    np.testing.assert_array_equal(ab, np.abs(x))
    np.testing.assert_array_equal(same, x)
    np.testing.assert_allclose(mm, x @ w, rtol=1e-6)
    np.testing.assert_array_equal(npos, ~pos)
    np.testing.assert_array_equal(band, pos & (x < 1))
    np.testing.assert_array_equal(bor, pos | (x < -1))
    np.testing.assert_array_equal(bxor, ~pos)


def test_numpy_array_operand_defers_to_tensor():
    bias = np.arange(3, dtype=np.float64)

    @model
    def m(x: Tensor[f32, "N", 3]):
        return bias + x

    assert m.graph.constants["lit"].dtype == np.float32
    x = rand((2, 3))
    np.testing.assert_allclose(m(x), x + bias.astype(np.float32))


def test_int_tensors_take_int_scalars_and_reject_fractions():
    @model
    def m(x: Tensor[i32, "N"]):
        return x * 3 + 1

    np.testing.assert_array_equal(m(np.array([1, -2], np.int32)), [4, -5])
    with pytest.raises(ShapeError, match="does not fit a i32 tensor"):
        @model
        def bad(x: Tensor[i32, "N"]):
            return x * 1.5


def test_methods_against_numpy():
    @model
    def m(x: Tensor[f32, "N", 3, 4]):
        flat = x.reshape(x.shape[0], -1)
        return (flat, x.transpose(), x.permute(0, 2, 1), flat[:, :5].T, x.sum(axis=1), x.mean((1, 2), True),
                x.max(axis=-1), x.min(), x.astype("f64"), x.astype(f32), x.flatten())

    x = rand((2, 3, 4))
    flat, tr, perm, t2, s, mean, mx, mn, as64, same, fl = m(x)
    np.testing.assert_array_equal(flat, x.reshape(2, -1))
    np.testing.assert_array_equal(tr, x.transpose())
    np.testing.assert_array_equal(perm, x.transpose(0, 2, 1))
    np.testing.assert_array_equal(t2, x.reshape(2, -1)[:, :5].T)
    np.testing.assert_allclose(s, x.sum(axis=1), rtol=1e-6)
    np.testing.assert_allclose(mean, x.mean(axis=(1, 2), keepdims=True), rtol=1e-6)
    np.testing.assert_array_equal(mx, x.max(axis=-1))
    np.testing.assert_array_equal(mn, x.min())
    assert as64.dtype == np.float64
    np.testing.assert_array_equal(same, x)
    np.testing.assert_array_equal(fl, x.reshape(2, 12))
    types = [str(t) for t in m.output_types]
    assert types[:3] == ["f32[N, 12]", "f32[4, 3, N]", "f32[N, 4, 3]"]
    assert types[4] == "f32[N, 4]" and types[7] == "f32[]"


def test_shape_dtype_and_ndim_while_tracing():
    seen = {}

    @model
    def m(x: Tensor[f32, "N", 28, 28]):
        seen.update(shape=x.shape, dtype=x.dtype, ndim=x.ndim, n=len(x.reshape(-1, 28)[0]))
        return x

    assert [str(d) for d in seen["shape"]] == ["N", "28", "28"]
    assert seen["dtype"] == f32 and seen["ndim"] == 3 and seen["n"] == 28


def test_reshape_infers_symbolic_hole():
    @model
    def m(x: Tensor[f32, "N", 64, 7, 7]):
        return x.reshape(-1, 3136), x.reshape((x.shape[0], 64, -1))

    assert [str(t) for t in m.output_types] == ["f32[N, 3136]", "f32[N, 64, 49]"]
    with pytest.raises(ShapeError, match="cannot infer the -1"):
        @model
        def bad(x: Tensor[f32, "N", 5]):
            return x.reshape(-1, 3)


@settings(max_examples=20, deadline=None)
@given(index=st.sampled_from([
    (0,), (-1,), (slice(1, None),), (slice(None, None, -1),), (Ellipsis, 1), (slice(None), None, 2),
    (1, slice(0, 3, 2)), (None,), (slice(-2, None), -1), (Ellipsis, slice(None, None, -2)),
]))
def test_basic_indexing_against_numpy(index):
    @model
    def m(x: Tensor[f32, 3, 4]):
        return x[index]

    x = rand((3, 4))
    np.testing.assert_array_equal(m(x), x[index])


def test_multiple_outputs_and_declared_tuple_type():
    @model
    def two(x: Tensor[f32, "N", 4]) -> tuple[Tensor[f32, "N", 4], Tensor[f32, "N"]]:
        return ops.relu(x), x.sum(axis=1)

    assert [str(t) for t in two.output_types] == ["f32[N, 4]", "f32[N]"]
    r, s = two(rand((2, 4)))
    assert r.shape == (2, 4) and s.shape == (2,)


def test_declared_return_type_mismatch_names_both_types():
    with pytest.raises(ShapeError) as info:
        @model
        def wrong(x: Tensor[f32, "N", 4]) -> Tensor[f32, "N", 5]:
            return x

    msg = str(info.value)
    assert "f32[N, 5]" in msg and "f32[N, 4]" in msg and "wrong" in msg
    assert "test_dsl_tensor.py:" in msg.splitlines()[0]
    with pytest.raises(ShapeError, match=r"has 1 result\(s\) but .* has 2"):
        @model
        def count(x: Tensor[f32, 4]) -> Tensor[f32, 4]:
            return x, x
    with pytest.raises(ShapeError, match="i32"):
        @model
        def dtype(x: Tensor[f32, 4]) -> Tensor[i32, 4]:
            return x


def test_tracing_misuse_is_reported():
    with pytest.raises(TraceError, match="needs a tensor type"):
        @model
        def untyped(x):
            return x
    with pytest.raises(TraceError, match="must return a Tensor"):
        @model
        def nothing(x: Tensor[f32, 4]):
            return None
    with pytest.raises(TypeError, match="truth value"):
        @model
        def branch(x: Tensor[f32, 4]):
            return x if x.sum() > 0 else -x
    with pytest.raises(TraceError, match="no model is being traced"):
        ops.constant(1.0)


def test_tensor_from_another_model_is_rejected():
    leaked = []

    @model
    def first(x: Tensor[f32, 4]):
        leaked.append(x)
        return x

    with pytest.raises(ShapeError, match="cannot cross models"):
        @model
        def second(y: Tensor[f32, 4]):
            return y + leaked[0]


def test_bool_inputs_and_where():
    @model
    def m(c: Tensor[boolean, "N"], x: Tensor[f32, "N"]):
        return ops.where(c, x, 0.0), ops.where(c, 1.0, x)

    c, x = np.array([True, False, True]), rand((3,))
    a, b = m(c, x)
    np.testing.assert_array_equal(a, np.where(c, x, 0))
    np.testing.assert_array_equal(b, np.where(c, 1, x).astype(np.float32))
