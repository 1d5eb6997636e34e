"""The reference models (MLP, ResNet-18, transformer encoder): each traces with a symbolic batch,
compiles on the numpy backend at opt_level 0 and 2, and matches its hand-written PyTorch twin at
two batch sizes with the same (Axiom) parameters. The small instances keep this file fast."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import axiom
from axiom.compiler.levels import pipeline_for
from axiom.examples import mlp as mlp_mod
from axiom.examples import resnet18 as resnet_mod
from axiom.examples import transformer as transformer_mod
from axiom.ir.opdef import all_ops

torch = pytest.importorskip("torch")

RTOL, ATOL = 1e-4, 1e-5


@dataclass(frozen=True)
class Case:
    model: axiom.Model
    inputs: Callable[[int], np.ndarray]  # batch size -> a deterministic input
    reference: Callable[[dict[str, np.ndarray]], Callable[[Any], Any]]
    input_type: str
    output_type: str


CASES = {
    "mlp": Case(mlp_mod.mlp, lambda b: mlp_mod.fake_inputs(b, seed=b), mlp_mod.torch_reference,
                "f32[N, 784]", "f32[N, 10]"),
    "resnet18": Case(resnet_mod.resnet18_small, lambda b: resnet_mod.fake_images(b, 64, seed=b),
                     resnet_mod.torch_reference, "f32[N, 3, 64, 64]", "f32[N, 10]"),
    # the sequence length is symbolic too: batch 1 runs 16 tokens, batch 2 runs 5
    "transformer": Case(transformer_mod.transformer_small,
                        lambda b: transformer_mod.fake_sequences(b, 16 if b == 1 else 5, seed=b),
                        transformer_mod.torch_reference, "f32[N, S, 64]", "f32[N, S, 64]"),
}


@pytest.mark.parametrize("name", CASES)
def test_traces_with_a_symbolic_batch(name):
    case = CASES[name]
    assert [str(t) for t in case.model.input_types] == [case.input_type]
    assert [str(t) for t in case.model.output_types] == [case.output_type]
    assert all(a.dtype == np.float32 for a in case.model.params.values())


@pytest.mark.parametrize("opt_level", [0, 2, 3, "O2+decompose"])
@pytest.mark.parametrize("name", CASES)
def test_matches_torch_reference_at_two_batch_sizes(name, opt_level):
    """Every pass of the level pipelines (and decompose of every op, as a backend without
    kernels for composite ops gets it) keeps the model's outputs."""
    case = CASES[name]
    if opt_level == "O2+decompose":
        every = [op.name for op in all_ops() if op.decompose is not None]
        exe = axiom.compile(case.model, backend="numpy", passes=pipeline_for(2, every))
        assert any(p.startswith("decompose{") for p in exe.passes) and exe.stats["fuse.regions"] > 0
    else:
        exe = axiom.compile(case.model, backend="numpy", opt_level=opt_level)
    reference = case.reference(case.model.params)
    for batch in (1, 2):
        x = case.inputs(batch)
        got = exe(x)
        assert got.shape[0] == batch and got.dtype == np.float32
        np.testing.assert_allclose(got, reference(torch.from_numpy(x)).numpy(), rtol=RTOL, atol=ATOL)


def test_mlp_relu_variant_and_seeds():
    relu = mlp_mod.build_mlp("relu", seed=3)
    assert [n.op.name for n in relu.graph.nodes].count("relu") == 2
    x = mlp_mod.fake_inputs(2)
    expected = mlp_mod.torch_reference(relu.params, activation="relu")(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(relu(x), expected, rtol=RTOL, atol=ATOL)
    again = mlp_mod.build_mlp("relu", seed=3)
    assert all(np.array_equal(a, again.params[k]) for k, a in relu.params.items())
    assert not np.array_equal(relu.params["fc1.weight"], mlp_mod.mlp.params["fc1.weight"])
    with pytest.raises(ValueError, match="activation"):
        mlp_mod.build_mlp("tanh")


def test_resnet18_is_the_standard_architecture_at_224():
    model = resnet_mod.resnet18()
    assert [str(t) for t in model.input_types] == ["f32[N, 3, 224, 224]"]
    assert [str(t) for t in model.output_types] == ["f32[N, 1000]"]
    learnable = sum(a.size for k, a in model.params.items() if ".running_" not in k)
    assert learnable == 11_689_512  # torchvision's resnet18 parameter count
    ops = [n.op.name for n in model.graph.nodes]
    assert (ops.count("conv2d"), ops.count("batch_norm"), ops.count("add")) == (20, 20, 8)


def test_resnet18_batch_norm_is_not_the_identity_and_is_seeded():
    params = resnet_mod.resnet18_small.params
    for kind, trivial in (("weight", 1.0), ("bias", 0.0), ("running_mean", 0.0), ("running_var", 1.0)):
        values = params[f"layer3_0_downsample_1.{kind}"]
        assert not np.allclose(values, trivial), kind
    assert params["layer1_0_bn1.running_var"].min() > 0
    redrawn = resnet_mod.initial_values(params, seed=0)
    assert redrawn and all(np.array_equal(a, params[k]) for k, a in redrawn.items())


def test_transformer_with_a_static_sequence_and_other_sizes():
    model = transformer_mod.transformer_encoder(seq=6, d_model=32, heads=8, layers=3, seed=1)
    assert [str(t) for t in model.input_types] == ["f32[N, 6, 32]"]
    assert sum(k.endswith("_ln1.weight") for k in model.params) == 3
    x = transformer_mod.fake_sequences(2, 6, 32)
    expected = transformer_mod.torch_reference(model.params, heads=8)(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model(x), expected, rtol=RTOL, atol=ATOL)
    assert not np.allclose(model.params["ln_final.weight"], 1.0)
    with pytest.raises(ValueError, match="heads"):
        transformer_mod.transformer_encoder(d_model=30, heads=4)
