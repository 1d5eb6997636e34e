"""Parameters: seeded and stable, saved and loaded (.npz), checked on load; Model calls check their inputs."""
# ruff: noqa: F821  (dims such as "N" in Tensor[...] are names, not forward references)

import ml_dtypes
import numpy as np
import pytest
import torch

from axiom.frontends.dsl import (
    BatchNorm,
    Conv2d,
    Dense,
    Flatten,
    ParamError,
    ReLU,
    Tensor,
    load_params,
    model,
    save_params,
)
from axiom.ir import InputError, f32, i64


def make(seed=0, extra=False):
    @model(seed=seed)
    def net(x: Tensor[f32, "N", 2, 6, 6]):
        h = x | Conv2d(2, 3, 3) | ReLU() | Flatten()
        if extra:
            h = h | Dense(48, 48)
        return h | Dense(48, 5) | BatchNorm(5)

    return net


def test_same_seed_same_params_other_seed_other_params():
    a, b, c = make(0), make(0), make(1)
    assert list(a.params) == list(c.params)
    for name in a.params:
        np.testing.assert_array_equal(a.params[name], b.params[name])
    differ = [n for n in a.params if not np.array_equal(a.params[n], c.params[n])]
    assert differ == ["conv2d_0.weight", "conv2d_0.bias", "dense_0.weight", "dense_0.bias"]


def test_bare_decorator_uses_seed_zero():
    @model
    def bare(x: Tensor[f32, "N", 3]):
        return x | Dense(3, 2)

    @model(seed=0)
    def seeded(x: Tensor[f32, "N", 3]):
        return x | Dense(3, 2)

    assert bare.seed == 0
    np.testing.assert_array_equal(bare.params["dense_0.weight"], seeded.params["dense_0.weight"])


def test_values_depend_on_the_name_not_on_creation_order():
    plain, extra = make(0), make(0, extra=True)
    np.testing.assert_array_equal(plain.params["conv2d_0.weight"], extra.params["conv2d_0.weight"])
    assert list(extra.params)[2:6] == ["dense_0.weight", "dense_0.bias", "dense_1.weight", "dense_1.bias"]


def test_params_are_graph_constants_and_outputs_change_with_them():
    net = make()
    x = np.random.default_rng(0).standard_normal((2, 2, 6, 6)).astype(np.float32)
    before = net(x)
    for name, arr in net.params.items():
        assert net.graph.constants[name] is arr
    new = {k: (v * 2 if k.startswith("dense_0") else v) for k, v in net.params.items()}
    net.load_params(new)
    assert not np.allclose(net(x), before)
    np.testing.assert_array_equal(net.params["dense_0.bias"], new["dense_0.bias"])


def test_save_load_round_trip(tmp_path):
    a, b = make(0), make(7)
    path = tmp_path / "net.npz"
    a.save_params(path)
    loaded = load_params(path)
    assert list(loaded) == list(a.params)
    b.load_params(loaded)
    x = np.ones((1, 2, 6, 6), np.float32)
    np.testing.assert_array_equal(a(x), b(x))


def test_save_load_keeps_bf16(tmp_path):
    params = {"w.weight": np.arange(4, dtype=np.float32).astype(ml_dtypes.bfloat16)}
    save_params(params, tmp_path / "p.npz")
    back = load_params(tmp_path / "p.npz")
    assert back["w.weight"].dtype == ml_dtypes.bfloat16
    np.testing.assert_array_equal(back["w.weight"].astype(np.float32), [0, 1, 2, 3])


def test_load_accepts_torch_tensors():
    net = make()
    net.load_params({k: torch.from_numpy(np.zeros_like(v)) for k, v in net.params.items()})
    assert all(not v.any() for v in net.params.values())


def test_load_errors_name_each_bad_param():
    net = make()
    good = dict(net.params)
    with pytest.raises(ParamError) as info:
        net.load_params({**good, "dense_0.wieght": good["dense_0.weight"], "conv2d_0.bias": np.zeros(4, "f4"),
                         "dense_0.bias": good["dense_0.bias"].astype(np.float64)})
    msg = str(info.value)
    assert "unknown parameter 'dense_0.wieght' (did you mean 'dense_0.weight'?)" in msg
    assert "parameter 'conv2d_0.bias': expected shape [3], got [4]" in msg
    assert "parameter 'dense_0.bias': expected dtype float32, got float64" in msg
    with pytest.raises(ParamError, match="missing parameter 'batch_norm_0.running_var'"):
        net.load_params({k: v for k, v in good.items() if k != "batch_norm_0.running_var"})
    net.load_params({"dense_0.bias": np.ones(5, np.float32)}, strict=False)
    np.testing.assert_array_equal(net.params["dense_0.bias"], np.ones(5))


def test_load_of_a_missing_file_is_a_param_error(tmp_path):
    with pytest.raises(ParamError, match="cannot read parameters"):
        load_params(tmp_path / "nope.npz")


def test_call_checks_inputs():
    @model
    def m(x: Tensor[f32, "N", 3], y: Tensor[f32, "N"], z: Tensor[i64, "2*N"]):
        return x.sum(axis=1) + y

    x, y, z = np.ones((2, 3), np.float32), np.ones(2, np.float32), np.ones(4, np.int64)
    np.testing.assert_array_equal(m(x, y, z), [4, 4])
    expected = r"expected 3 inputs \(x: f32\[N, 3\], y: f32\[N\], z: i64\[2\*N\]\), got 2"
    with pytest.raises(InputError, match=expected):
        m(x, y)
    with pytest.raises(InputError, match="input 'x' must have dtype f32"):
        m(x.astype(np.float64), y, z)
    with pytest.raises(InputError, match="input 'y' must have rank 1"):
        m(x, x, z)
    with pytest.raises(InputError, match="input 'y': dim 0 is N = 3, but an earlier input bound N = 2"):
        m(x, np.ones(3, np.float32), z)
    with pytest.raises(InputError, match=r"input 'z': dim 0 must be 2\*N = 4 \(with N=2\), got 3"):
        m(x, y, np.ones(3, np.int64))


def test_model_views():
    net = make()
    g = net.to_graph()
    assert g is not net.graph and len(g.nodes) == len(net.graph.nodes)
    assert g.constants.keys() == net.graph.constants.keys()
    assert net.__name__ == "net" and net.name == "net"
    assert "f32[N, 2, 6, 6]" in repr(net) and "parameters" in repr(net)
