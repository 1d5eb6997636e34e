"""The functional ops (axiom.ops) against numpy/PyTorch, and layer composition with | and Sequential."""
# ruff: noqa: F821  (dims such as "N" in Tensor[...] are names, not forward references)

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from axiom.frontends.dsl import (
    Conv2d,
    Dense,
    Flatten,
    MaxPool,
    ReLU,
    Sequential,
    Softmax,
    Tensor,
    functional,
    model,
    ops,
)
from axiom.ir import all_ops, f32, i64


def rand(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def test_every_registered_op_has_a_wrapper():
    names = [op.name for op in all_ops() if op.name != "const" and "region" not in op.traits]
    missing = [n for n in names if n not in vars(functional)]
    assert missing == [], f"ops without a friendly wrapper in axiom.ops: {missing}"
    with pytest.raises(AttributeError):
        _ = ops.const
    with pytest.raises(AttributeError):
        _ = ops.no_such_op


def test_generic_fallback_builds_any_registered_op():
    fallback = functional.__getattr__("leaky_relu")

    @model
    def m(x: Tensor[f32, 4]):
        return fallback(x, alpha=0.5)

    x = rand((4,))
    np.testing.assert_allclose(m(x), np.where(x >= 0, x, 0.5 * x))


def test_elementwise_and_reduction_wrappers():
    @model
    def m(x: Tensor[f32, "N", 3]):
        return (ops.clip(x, min=-0.5), ops.exp(ops.neg(x)), ops.maximum(x, 0.25), ops.cast(x > 0, i64),
                ops.argmax(x, axis=1), ops.prod(x, axis=0, keepdims=True), ops.sum(x), ops.leaky_relu(x, 0.1),
                ops.gelu(x, "tanh"), ops.sub(1.0, x))

    x = rand((4, 3))
    clip, e, mx, c, am, pr, s, lr, ge, sb = m(x)
    np.testing.assert_array_equal(clip, np.maximum(x, -0.5))
    np.testing.assert_allclose(e, np.exp(-x), rtol=1e-6)
    np.testing.assert_array_equal(mx, np.maximum(x, 0.25))
    np.testing.assert_array_equal(c, (x > 0).astype(np.int64))
    np.testing.assert_array_equal(am, x.argmax(axis=1))
    np.testing.assert_allclose(pr, x.prod(axis=0, keepdims=True), rtol=1e-6)
    np.testing.assert_allclose(s, x.sum(), rtol=1e-5)
    np.testing.assert_allclose(lr, F.leaky_relu(torch.from_numpy(x), 0.1).numpy())
    np.testing.assert_allclose(ge, F.gelu(torch.from_numpy(x), approximate="tanh").numpy(), atol=1e-6)
    np.testing.assert_allclose(sb, 1 - x)


def test_shape_wrappers_against_numpy():
    idx = np.array([2, 0, -1], np.int64)

    @model
    def m(x: Tensor[f32, "N", 4], i: Tensor[i64, 3]):
        a, b = ops.split(x, 2, axis=1)
        c, d, e = ops.split(x, [1, 2, 1], axis=1)
        return (ops.concat([b, a], axis=1), e, ops.gather(x, i, axis=1), ops.unsqueeze(x, [0, 3]),
                ops.squeeze(ops.unsqueeze(x, 1), 1), ops.expand(ops.unsqueeze(x, 1), ["N", 2, 4]),
                ops.pad(x, [0, 1, 0, 2], mode="constant", value=9.0), ops.slice(x, [1], [3], axes=[1]),
                ops.transpose(x, [1, 0]), ops.reshape(x, [-1]))

    x = rand((2, 4))
    cat, e, g, un, sq, ex, pd, sl, tr, rs = m(x, idx)
    np.testing.assert_array_equal(cat, np.concatenate([x[:, 2:], x[:, :2]], axis=1))
    np.testing.assert_array_equal(e, x[:, 3:])
    np.testing.assert_array_equal(g, x[:, idx])
    np.testing.assert_array_equal(un, x[None, :, :, None])
    np.testing.assert_array_equal(sq, x)
    np.testing.assert_array_equal(ex, np.broadcast_to(x[:, None], (2, 2, 4)))
    np.testing.assert_array_equal(pd, np.pad(x, [(0, 0), (1, 2)], constant_values=9.0))
    np.testing.assert_array_equal(sl, x[:, 1:3])
    np.testing.assert_array_equal(tr, x.T)
    np.testing.assert_array_equal(rs, x.reshape(-1))


def test_nn_wrappers_against_torch():
    w, b = rand((4, 3, 3, 3), 1), rand((4,), 2)

    @model
    def m(x: Tensor[f32, "N", 3, 8, 8]):
        y = ops.conv2d(x, ops.constant(w), ops.constant(b), stride=1, padding="same")
        z = ops.max_pool2d(y, 3, stride=2, padding=1, ceil_mode=True)
        v = ops.avg_pool2d(y, (2, 2), padding=(1, 0))
        n = ops.layer_norm(y, bias=ops.constant(np.full((8,), 0.5, np.float32)))
        return y, z, v, ops.log_softmax(ops.flatten(z), axis=1), n

    x = rand((2, 3, 8, 8))
    y, z, v, ls, n = m(x)
    ty = F.conv2d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b), padding="same")
    tz = F.max_pool2d(ty, 3, 2, 1, ceil_mode=True)
    np.testing.assert_allclose(y, ty.numpy(), atol=1e-5)
    np.testing.assert_allclose(z, tz.numpy(), atol=1e-5)
    np.testing.assert_allclose(v, F.avg_pool2d(ty, 2, padding=(1, 0)).numpy(), atol=1e-5)
    np.testing.assert_allclose(ls, F.log_softmax(tz.flatten(1), 1).numpy(), atol=1e-5)
    np.testing.assert_allclose(n, (F.layer_norm(ty, (8,)) + 0.5).numpy(), atol=1e-5)


def signature(graph):
    """Everything about a graph but object identity: ops, attrs, operands, types, constants and data."""
    ids = {id(v): f"in{i}" for i, v in enumerate(graph.inputs)}
    rows = []
    for k, node in enumerate(graph.nodes):
        for j, r in enumerate(node.results):
            ids[id(r)] = f"{k}.{j}"
        rows.append((node.op.name, dict(node.attrs), [ids[id(v)] for v in node.inputs],
                     [str(r.type) for r in node.results]))
    consts = {k: v.tobytes() for k, v in graph.constants.items()}
    return rows, [ids[id(v)] for v in graph.outputs], consts


def test_pipe_and_sequential_compose_the_same_graph():
    def layers():
        return [Conv2d(1, 4, 3, padding=1), ReLU(), MaxPool(2), Flatten(), Dense(36, 5), Softmax()]

    @model
    def piped(x: Tensor[f32, "N", 1, 6, 6]):
        a, b, c, d, e, f = layers()
        return x | a | b | c | d | e | f

    @model
    def composed(x: Tensor[f32, "N", 1, 6, 6]):
        a, b, c, d, e, f = layers()
        return x | (a | b | c) | (d | e | f)

    @model
    def sequential(x: Tensor[f32, "N", 1, 6, 6]):
        return Sequential(*layers())(x)

    @model
    def nested(x: Tensor[f32, "N", 1, 6, 6]):
        a, b, c, d, e, f = layers()
        return Sequential(Sequential(a, b), c, Sequential(d, Sequential(e, f)))(x)

    ref = signature(piped.graph)
    assert [r[0] for r in ref[0] if r[0] != "const"] == ["conv2d", "relu", "max_pool2d", "flatten", "linear",
                                                          "softmax"]
    for other in (composed, sequential, nested):
        assert signature(other.graph) == ref


def test_layer_pipe_builds_flat_sequential():
    a, b, c = Dense(2, 2), ReLU(), Dense(2, 2)
    seq = a | b | c
    assert isinstance(seq, Sequential) and list(seq) == [a, b, c]
    assert list(a | Sequential(b, c)) == [a, b, c]
    assert repr(seq) == "Sequential(Dense(2, 2), ReLU(), Dense(2, 2))"


def test_where_of_two_scalars_takes_their_kind_not_the_conditions():
    @model
    def w(x: Tensor[f32, 3]):
        return ops.where(x > 0, 1.0, 0.0), ops.where(x > 0, 2, 3)

    assert [str(t) for t in w.output_types] == ["f32[3]", "i64[3]"]
    ones, ints = w(np.array([1.0, -1.0, 2.0], np.float32))
    np.testing.assert_array_equal(ones, [1.0, 0.0, 1.0])
    np.testing.assert_array_equal(ints, [2, 3, 2])


def test_true_division_of_integer_tensors_is_refused():
    from axiom.ir import ShapeError, i32

    with pytest.raises(ShapeError, match="'/' on a i32\\[3\\] tensor: Python's '/' is true division"):
        @model
        def d(x: Tensor[i32, 3]):
            return x / 2

    @model
    def ok(x: Tensor[i32, 3]):
        return ops.div(x, 2)

    np.testing.assert_array_equal(ok(np.array([-7, 7, 3], np.int32)), [-3, 3, 1])


def test_argmax_needs_an_axis():
    with pytest.raises(TypeError, match="axis"):
        @model
        def a(x: Tensor[f32, 3]):
            return ops.argmax(x)
