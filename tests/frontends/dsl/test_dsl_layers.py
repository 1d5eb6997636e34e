"""Each DSL layer against PyTorch eager, with the layer's own parameters copied into torch."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from axiom.frontends.dsl import (
    GELU,
    AvgPool,
    BatchNorm,
    Conv2d,
    Dense,
    Dropout,
    Embedding,
    Flatten,
    GlobalAvgPool,
    Identity,
    LayerNorm,
    LeakyReLU,
    LogSoftmax,
    MaxPool,
    ReLU,
    Sigmoid,
    Softmax,
    Softplus,
    Tanh,
    Tensor,
    model,
)
from axiom.frontends.dsl.tensor import TensorSpec
from axiom.ir import TensorType, f32, f64, i32, i64


def apply(layer, spec, seed=0):
    """A one-layer model on inputs of type ``spec`` (a TensorType)."""

    def fn(x):
        return x | layer

    fn.__annotations__ = {"x": TensorSpec(spec)}
    return model(fn, seed=seed)


def rand(shape, dtype=np.float32, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def t(a):
    return torch.from_numpy(np.array(a))


def close(ours, ref, tol=1e-5):
    np.testing.assert_allclose(ours, ref.detach().numpy(), atol=tol, rtol=tol)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("dtype", [f32, f64])
def test_dense_vs_linear(bias, dtype):
    m = apply(Dense(7, 5, bias=bias), TensorType(dtype, ["N", 3, 7]))
    x = rand((2, 3, 7), dtype.np_dtype)
    p = m.params
    assert p["dense_0.weight"].shape == (5, 7) and p["dense_0.weight"].dtype == dtype.np_dtype
    assert ("dense_0.bias" in p) == bias
    close(m(x), F.linear(t(x), t(p["dense_0.weight"]), t(p["dense_0.bias"]) if bias else None))


conv_configs = st.fixed_dictionaries({
    "groups": st.sampled_from([1, 2]), "k": st.sampled_from([1, 2, 3]),
    "stride": st.sampled_from([1, 2, (1, 2)]),
    "padding": st.sampled_from([0, 1, (1, 0), (0, 1, 2, 1)]), "dilation": st.sampled_from([1, 2]),
    "bias": st.booleans(), "hw": st.tuples(st.integers(6, 9), st.integers(6, 9)),
})


@settings(max_examples=12, deadline=None)
@given(conv_configs)
def test_conv2d_vs_torch(c):
    layer = Conv2d(4, 6, c["k"], stride=c["stride"], padding=c["padding"], dilation=c["dilation"],
                   groups=c["groups"], bias=c["bias"])
    h, w = c["hw"]
    m = apply(layer, TensorType(f32, ["N", 4, h, w]))
    x = rand((2, 4, h, w))
    p = m.params
    pad = c["padding"]
    top, left, bottom, right = ((pad,) * 4 if isinstance(pad, int) else
                                (pad[0], pad[1], pad[0], pad[1]) if len(pad) == 2 else pad)
    xt = F.pad(t(x), (left, right, top, bottom))
    ref = F.conv2d(xt, t(p["conv2d_0.weight"]), t(p["conv2d_0.bias"]) if c["bias"] else None,
                   stride=c["stride"], dilation=c["dilation"], groups=c["groups"])
    close(m(x), ref, 1e-4)


def test_conv2d_same_padding_keeps_size():
    m = apply(Conv2d(3, 4, (3, 4), padding="same", dilation=(1, 2)), TensorType(f32, ["N", 3, "H", "W"]))
    assert str(m.output_types[0]) == "f32[N, 4, H, W]"
    x = rand((1, 3, 7, 9))
    p = m.params
    ref = F.conv2d(t(x), t(p["conv2d_0.weight"]), t(p["conv2d_0.bias"]), padding="same", dilation=(1, 2))
    close(m(x), ref, 1e-4)


@settings(max_examples=12, deadline=None)
@given(k=st.sampled_from([2, 3]), stride=st.sampled_from([None, 1, 2]), padding=st.sampled_from([0, 1]),
       ceil=st.booleans(), hw=st.integers(5, 9))
def test_pools_vs_torch(k, stride, padding, ceil, hw):
    x = rand((2, 3, hw, hw + 1))
    mp = apply(MaxPool(k, stride, padding, ceil_mode=ceil), TensorType(f32, ["N", 3, hw, hw + 1]))
    close(mp(x), F.max_pool2d(t(x), k, stride, padding, ceil_mode=ceil))
    for include in (True, False):
        ap = apply(AvgPool(k, stride, padding, ceil_mode=ceil, count_include_pad=include),
                   TensorType(f32, ["N", 3, hw, hw + 1]))
        close(ap(x), F.avg_pool2d(t(x), k, stride, padding, ceil_mode=ceil, count_include_pad=include))


def test_global_avg_pool():
    m = apply(GlobalAvgPool(), TensorType(f32, ["N", 3, 5, 4]))
    assert str(m.output_types[0]) == "f32[N, 3, 1, 1]"
    x = rand((2, 3, 5, 4))
    close(m(x), F.adaptive_avg_pool2d(t(x), 1))


def test_batch_norm_vs_torch():
    m = apply(BatchNorm(3, eps=1e-3), TensorType(f32, ["N", 3, 4, 4]))
    assert {k: v.tolist() for k, v in m.params.items()} == {
        "batch_norm_0.weight": [1.0] * 3, "batch_norm_0.bias": [0.0] * 3,
        "batch_norm_0.running_mean": [0.0] * 3, "batch_norm_0.running_var": [1.0] * 3}
    stats = {k: np.abs(rand((3,), seed=i)) + 0.5 for i, k in enumerate(m.params)}
    m.load_params(stats)
    x = rand((2, 3, 4, 4))
    s = {k.split(".")[1]: t(v) for k, v in stats.items()}
    ref = F.batch_norm(t(x), s["running_mean"], s["running_var"], s["weight"], s["bias"], False, 0.0, 1e-3)
    close(m(x), ref)


@pytest.mark.parametrize("shape", [4, (3, 4)])
def test_layer_norm_vs_torch(shape):
    m = apply(LayerNorm(shape), TensorType(f32, ["N", 3, 4]))
    new = {k: rand(v.shape, seed=i) for i, (k, v) in enumerate(m.params.items())}
    m.load_params(new)
    x = rand((2, 3, 4))
    norm = (shape,) if isinstance(shape, int) else shape
    close(m(x), F.layer_norm(t(x), norm, t(new["layer_norm_0.weight"]), t(new["layer_norm_0.bias"])))


@pytest.mark.parametrize("index_dtype", [i32, i64])
def test_embedding_vs_torch(index_dtype):
    m = apply(Embedding(10, 4), TensorType(index_dtype, ["N", 3]))
    assert str(m.output_types[0]) == "f32[N, 3, 4]"
    idx = np.array([[0, 9, 3], [5, 5, 1]], index_dtype.np_dtype)
    close(m(idx), F.embedding(t(idx).long(), t(m.params["embedding_0.weight"])))


activations = [
    (ReLU(), F.relu), (LeakyReLU(0.2), lambda x: F.leaky_relu(x, 0.2)), (GELU(), F.gelu),
    (GELU("tanh"), lambda x: F.gelu(x, approximate="tanh")), (Sigmoid(), torch.sigmoid), (Tanh(), torch.tanh),
    (Softplus(), F.softplus), (Softmax(), lambda x: F.softmax(x, -1)),
    (Softmax(1), lambda x: F.softmax(x, 1)),
    (LogSoftmax(), lambda x: F.log_softmax(x, -1)), (LogSoftmax(0), lambda x: F.log_softmax(x, 0)),
    (Identity(), lambda x: x), (Dropout(0.3), lambda x: F.dropout(x, 0.3, training=False)),
    (Flatten(), lambda x: torch.flatten(x, 1)), (Flatten(2), lambda x: x.reshape(2 * 3, -1)),
]


@pytest.mark.parametrize("layer, ref", activations, ids=[repr(a) for a, _ in activations])
def test_parameter_free_layers_vs_torch(layer, ref):
    m = apply(layer, TensorType(f32, [2, 3, 4, 5]))
    x = rand((2, 3, 4, 5)) * 4
    assert m.params == {}
    close(m(x), ref(t(x)))


def test_layer_params_follow_input_float_dtype():
    m = apply(Dense(3, 2), TensorType(f64, ["N", 3]))
    assert m.params["dense_0.weight"].dtype == np.float64
    m = apply(Dense(3, 2, dtype="f32"), TensorType(f32, ["N", 3]))
    assert m.params["dense_0.weight"].dtype == np.float32


def test_named_layers_and_weight_sharing():
    shared = Dense(4, 4, name="shared")

    @model
    def twice(x: Tensor[f32, "N", 4]):  # noqa: F821
        return x | shared | ReLU() | shared | Dense(4, 2)

    assert list(twice.params) == ["shared.weight", "shared.bias", "dense_0.weight", "dense_0.bias"]
    x = rand((3, 4))
    p = {k: t(v) for k, v in twice.params.items()}
    h = F.linear(F.relu(F.linear(t(x), p["shared.weight"], p["shared.bias"])), p["shared.weight"],
                 p["shared.bias"])
    close(twice(x), F.linear(h, p["dense_0.weight"], p["dense_0.bias"]))


def test_automatic_name_skips_an_explicit_one():
    @model
    def two(x: Tensor[f32, "N", 4]):  # noqa: F821
        return x | Dense(4, 4, name="dense_0") | Dense(4, 2)

    assert list(two.params) == ["dense_0.weight", "dense_0.bias", "dense_1.weight", "dense_1.bias"]
    assert str(two.output_types[0]) == "f32[N, 2]"


def test_kaiming_uniform_bounds_like_pytorch():
    m = apply(Conv2d(8, 16, 3) | Flatten() | Dense(16 * 4, 10), TensorType(f32, [1, 8, 4, 4]))
    conv_bound, dense_bound = 1 / np.sqrt(8 * 9), 1 / np.sqrt(64)
    for name, bound in [("conv2d_0.weight", conv_bound), ("conv2d_0.bias", conv_bound),
                        ("dense_0.weight", dense_bound), ("dense_0.bias", dense_bound)]:
        a = m.params[name]
        assert np.abs(a).max() <= bound
        assert np.abs(a).max() > 0.8 * bound  # drawn over the whole range, not a narrower one
    assert abs(m.params["dense_0.weight"].std() - dense_bound / np.sqrt(3)) < 0.1 * dense_bound
