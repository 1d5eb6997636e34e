"""PyTorch import through torch.export: each ATen family against torch eager, symbolic batch dims,
source locations, the unsupported-op listing and the errors a user meets first."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402 - needs torch, skipped above without it
from torch.nn import functional as F  # noqa: E402
from torch_cases import Fn, check, compare  # noqa: E402

import axiom  # noqa: E402
from axiom.frontends.torch import TorchImportError, TorchUnsupportedError, from_pytorch  # noqa: E402
from axiom.ir.dims import sym  # noqa: E402
from axiom.ir.dtypes import f32, i64  # noqa: E402
from axiom.ir.errors import UnsupportedError  # noqa: E402


def r(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def ints(*shape: int, lo: int = -9, hi: int = 10, seed: int = 0) -> torch.Tensor:
    return torch.randint(lo, hi, shape, generator=torch.Generator().manual_seed(seed))


X, Y = r(2, 3, 4), r(2, 3, 4, seed=1)
POS = X.abs() + 0.5
CASES = {
    "add_alpha": (lambda x, y: torch.add(x, y, alpha=2.5) - torch.sub(x, 1.5, alpha=2), (X, Y)),
    "mul_div": (lambda x, y: x * y / (y.abs() + 1) * 3 / 2, (X, Y)),
    "int_true_div": (lambda a, b: a / (b.abs() + 1), (ints(3, 4), ints(3, 4, seed=1))),
    "div_trunc_floor_float": (lambda x, y: torch.div(x * 7, y, rounding_mode="trunc")
                              + torch.div(x * 7, y, rounding_mode="floor") + (x * 5) // 2, (X, Y)),
    "div_trunc_floor_int": (lambda a, b: torch.div(a, b, rounding_mode="trunc") * 100
                            + torch.div(a, b, rounding_mode="floor") + a // 3,
                            (ints(4, 5), ints(4, 5, lo=1, seed=1) * torch.tensor([1, -1, 1, -1, 1]))),
    "unary": (lambda x: torch.exp(-x).log() + x.abs().sqrt() + (x.abs() + 1).rsqrt() + torch.tanh(x)
              + torch.sigmoid(x) + torch.relu(x) + torch.sin(x) + torch.cos(x) + torch.erf(x)
              + torch.reciprocal(x.abs() + 1) + torch.neg(x), (X,)),
    "pow": (lambda x, y: x.abs() ** y + x ** 2 + 2 ** x + torch.pow(x, 3), (X, Y)),
    "activations": (lambda x: F.gelu(x) + F.gelu(x, approximate="tanh") + F.leaky_relu(x, 0.1)
                    + F.hardtanh(x, -0.5, 0.5) + torch.clamp(x, min=-0.2) + torch.clamp(x, -1, 1)
                    + F.silu(x) + F.hardswish(x) + F.hardsigmoid(x) + F.elu(x) + F.softplus(x) + F.relu6(x),
                    (X,)),
    "clamp_tensor": (lambda x, y: torch.clamp(x, min=y, max=y + 1), (X, Y)),
    "compare": (lambda x, y: torch.stack([x > y, x >= 0.5, x < y, x <= y, x == y, x != 0.1]).float(),
                (X, Y)),
    "compare_promote": (lambda a, x: (a > x).float() + (a == 2).float() + (a < 2.5).float(),
                        (ints(3, 4), r(3, 4) * 5)),
    "logical": (lambda x, y: (torch.logical_and(x > 0, y > 0) | (x > 1) ^ (y < 0) & ~(x < -1)).float()
                + torch.logical_or(x, y).float() + torch.logical_not(x > 0).float(), (X, Y)),
    "where": (lambda x, y: torch.where(x > 0, x, y) + torch.where(y > 0, 1.0, x), (X, Y)),
    "masked_fill": (lambda x: x.masked_fill(x < 0, float("-inf")).softmax(-1), (X,)),
    "reductions": (lambda x: (x.sum(), x.sum(1), x.mean((0, 2), keepdim=True), x.amax(-1), x.amin(0),
                              x.max(), x.min(), x.prod(-1), x.var(-1), x.var(1, correction=0, keepdim=True),
                              x.std(-1)), (X,)),
    "int_sum": (lambda a: (a.sum(-1), a.sum(0, dtype=torch.float32)), (ints(3, 4).to(torch.int32),)),
    "arg_reduce": (lambda x: (x.argmax(-1), x.argmin(1, keepdim=True), x.argmax()), (X,)),
    "softmax": (lambda x: x.softmax(-1) + F.log_softmax(x, 1) + torch.softmax(x, 0), (X,)),
    "matmul": (lambda x, y: (x @ y.transpose(-1, -2), torch.mm(x[0], y[0].t()), torch.bmm(x, y.mT),
                             torch.addmm(x[0, 0, :3], x[1], y[1].t(), beta=0.5, alpha=2.0)), (X, Y)),
    "views": (lambda x: (x.view(-1, 4), x.reshape(2, 12), x.permute(2, 0, 1), x.transpose(0, 1),
                         x.flatten(1), x.unsqueeze(1).squeeze(1).unsqueeze(-1), x[:, :1].squeeze(),
                         x.squeeze(0), x[0].t()), (X,)),
    "expand": (lambda x: (x[:, :1, :].expand(-1, 3, -1) + x, x.sum(0).expand(2, 3, 4)), (X,)),
    "cat_split": (lambda x, y: (*torch.cat([x, y], 1).split([2, 4], 1), *x.chunk(2, -1),
                                torch.cat([x, y.int()], -1)), (X, Y)),
    "slice_select": (lambda x: (x[:, 1:], x[..., ::2], x[:, -2:, 1:3], x[1], x[:, -1], x.select(2, 0),
                                x.narrow(2, 1, 2)), (X,)),
    "index_select": (lambda x, i: torch.index_select(x, 1, i) + x[:, i], (X, torch.tensor([2, 0, 1]))),
    "embedding": (lambda w, i: F.embedding(i, w), (r(10, 4), ints(2, 5, lo=0))),
    "pad": (lambda x: (F.pad(x, (1, 2)), F.pad(x, (1, 0, 0, 2), value=0.5), F.pad(x, (0, 0, 0, 0, 1, 1))),
            (X,)),
    "factories": (lambda x: x + torch.ones(4) * 2 + torch.zeros(3, 4) + torch.full((2, 1, 1), 3.0)
                  + torch.arange(4) + torch.arange(1, 9, 2) * 0.5 + torch.tensor(1.5) + torch.ones_like(x)
                  + torch.zeros_like(x) + torch.full_like(x, 2), (X,)),
    "tril": (lambda x: x.masked_fill(torch.tril(torch.ones(4, 4, dtype=torch.bool)).logical_not(), 0)
             + torch.triu(x), (r(2, 4, 4),)),
    "casts": (lambda x: (x.int(), x.double(), (x > 0).float() + x.half().float(), x.long().float() + x,
                         x.to(torch.bfloat16).float()), (X,)),
    "identity": (lambda x: F.dropout(x, 0.5, training=False) + x.clone() + x.contiguous() + x.detach(), (X,)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_aten_family_matches_eager(case: str) -> None:
    fn, inputs = CASES[case]
    check(Fn(fn), *inputs)


class Net(nn.Module):
    """conv (2-D and 1-D), pools, batch norm, layer norm, linear, dropout: the layers of the zoo."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1, stride=1)
        self.conv_s = nn.Conv2d(8, 8, 3, stride=2, padding=2, dilation=2, groups=2, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.bn_plain = nn.BatchNorm2d(8, affine=False)
        self.conv1d = nn.Conv1d(3, 4, 3, padding=1, stride=2)
        self.ln = nn.LayerNorm(8)
        self.ln_plain = nn.LayerNorm([8, 8], elementwise_affine=False)
        self.fc = nn.Linear(8, 5)
        self.drop = nn.Dropout(0.3)
        for bn in (self.bn, self.bn_plain):
            bn.running_mean = torch.linspace(-1, 1, 8)
            bn.running_var = torch.linspace(0.5, 2, 8)

    def forward(self, x: torch.Tensor, s: torch.Tensor):  # noqa: ANN201
        h = self.bn_plain(self.bn(self.conv_s(F.relu(self.conv(x)))))
        a = F.max_pool2d(h, 2) + F.avg_pool2d(h, 2)
        b = F.max_pool2d(h, 3, stride=1, padding=1, ceil_mode=True)
        c = F.avg_pool2d(h, 3, stride=2, padding=1, count_include_pad=True)
        g = F.adaptive_avg_pool2d(h, 1).flatten(1)
        p = F.adaptive_avg_pool2d(h, 2)
        y = self.fc(self.drop(self.ln(g)))
        return y, a, b, c, p, self.ln_plain(x), self.conv1d(s)


def test_nn_layers_match_eager() -> None:
    check(Net().eval(), r(2, 3, 8, 8), r(2, 3, 9))


class Attention(nn.Module):
    """One attention head with a causal mask, shapes from x.shape (symbolic under a Dim)."""

    def __init__(self, d: int = 8) -> None:
        super().__init__()
        self.qkv = nn.Linear(d, 3 * d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, s, d = x.shape
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        scores = q @ k.transpose(-2, -1) / math.sqrt(d)
        mask = torch.tril(torch.ones(s, s, dtype=torch.bool))
        out = scores.masked_fill(~mask, float("-inf")).softmax(-1) @ v
        return out.reshape(b, s * d)


def test_symbolic_batch_runs_at_two_sizes_without_reimport() -> None:
    batch, seq = torch.export.Dim("batch"), torch.export.Dim("seq")
    model = Attention().eval()
    graph = from_pytorch(model, (r(2, 5, 8),), dynamic_shapes={"x": {0: batch, 1: seq}})
    B, S = sym("batch"), sym("seq")
    assert graph.inputs[0].name == "x"
    assert graph.inputs[0].type.shape == (B, S, 8) and graph.inputs[0].dtype == f32
    assert graph.outputs[0].type.shape == (B, S * 8)
    for b, s in ((1, 3), (4, 7)):
        compare(graph, model, r(b, s, 8, seed=b))


def test_derived_dim_and_positional_dynamic_shapes() -> None:
    batch = torch.export.Dim("batch")
    class Pair(nn.Module):
        def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return x.reshape(-1) + y[::2].reshape(-1)

    model = Pair()
    graph = from_pytorch(model, (r(3, 2), r(6, 2)), dynamic_shapes=({0: batch}, {0: 2 * batch}))
    assert [v.type.shape for v in graph.inputs] == [(sym("batch"), 2), (2 * sym("batch"), 2)]
    compare(graph, model, r(5, 2), r(10, 2))


def test_unnamed_dynamic_dims_are_named_after_their_input() -> None:
    graph = from_pytorch(Fn(lambda x: x * 2), (r(3, 2),),
                         dynamic_shapes={"args": ({0: torch.export.Dim.DYNAMIC},)})
    assert graph.inputs[0].type.shape == (sym("args_0_dim0"), 2)


def test_weights_are_named_constants_and_inputs_keep_forward_names() -> None:
    class M(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(3, 2)
            self.register_buffer("scale", torch.tensor([2.0, 3.0]))

        def forward(self, features: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
            return self.fc(features) * self.scale + bias + torch.tensor([1.0, 2.0])

    graph = check(M(), r(4, 3), r(2))
    assert [v.name for v in graph.inputs] == ["features", "bias"]
    assert {"fc.weight", "fc.bias", "scale"} <= set(graph.constants)
    np.testing.assert_array_equal(graph.constants["scale"], [2.0, 3.0])
    consts = {n.attrs["name"]: n for n in graph.nodes if n.op.name == "const"}
    assert consts["fc.weight"].loc is not None and consts["fc.weight"].loc.name == "fc.weight"


def test_locations_point_at_the_users_line() -> None:
    class M(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(3, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = self.fc(x)  # the linear layer's nodes point here, not into torch
            return torch.tanh(h)

    graph = from_pytorch(M(), (r(2, 3),))
    lines = {n.op.name: n.loc for n in graph.nodes if n.loc is not None and n.loc.file}
    assert lines["tanh"].file.endswith("test_torch_import.py")
    assert lines["matmul"].file.endswith("test_torch_import.py")
    assert lines["matmul"].line == lines["tanh"].line - 1
    assert "test_torch_import.py:" in str(graph)


def test_every_unsupported_op_is_listed_at_once() -> None:
    class M(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = torch.fft.fft(x).real  # a complex dtype, and ops we have no converter for
            return torch.sort(x).values + torch.cummax(x, 0).values + y + torch.sort(x * 2).values

    with pytest.raises(TorchUnsupportedError) as info:
        from_pytorch(M(), (r(3, 4),))
    counts = {p[0]: p[1] for p in info.value.problems}
    assert {"aten.sort.default", "aten.cummax.default", "aten._fft_r2c.default"} <= set(counts), counts
    assert counts["aten.sort.default"] == 2
    for _op, count, where, why in info.value.problems:
        assert count >= 1 and why and "node" in where
    text = str(info.value)
    assert "aten.sort.default" in text and "test_torch_import.py" in text and "unsupported" in text


def test_unsupported_argument_values_are_listed() -> None:
    model = nn.Sequential(nn.ConvTranspose2d(2, 2, 3), nn.AvgPool2d(2, divisor_override=3))
    with pytest.raises(TorchUnsupportedError) as info:
        from_pytorch(model, (r(1, 2, 6, 6),))
    whys = " | ".join(p[3] for p in info.value.problems)
    assert "transposed convolution" in whys and "divisor_override" in whys


def test_compile_a_module_directly() -> None:
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)).eval()
    batch = torch.export.Dim("batch")
    exe = axiom.compile(model, backend="numpy", example_inputs=(r(3, 4),),
                        dynamic_shapes={"input": {0: batch}})
    for b in (1, 6):
        x = r(b, 4, seed=b)
        np.testing.assert_allclose(exe(x.numpy()), model(x).detach().numpy(), rtol=1e-5, atol=1e-5)
    assert exe.ir.inputs[0].type.shape == (sym("batch"), 4)


def test_exported_program_and_module_mode() -> None:
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5), nn.BatchNorm1d(4)).train()
    graph = from_pytorch(model, (r(3, 4),))  # exported in eval mode, its mode restored after
    assert model.training
    compare(graph, model, r(3, 4))
    ep = torch.export.export(model.eval(), (r(3, 4),))
    compare(from_pytorch(ep), model, r(3, 4))


def test_integer_and_bool_inputs() -> None:
    graph = check(Fn(lambda a, m: torch.where(m, a, a * 2).sum(-1)), ints(3, 4), ints(3, 4) > 0)
    assert graph.inputs[0].dtype == i64


def test_wrong_example_inputs_are_explained() -> None:
    model = nn.Linear(3, 2)
    with pytest.raises(TorchImportError, match="needs example_inputs"):
        from_pytorch(model)
    with pytest.raises(TorchImportError, match="tensor or a tuple of tensors, got a dict"):
        from_pytorch(model, {"x": r(2, 3)})
    with pytest.raises(TorchImportError, match=r"torch.export failed on Linear: .*\n.*example_inputs"):
        from_pytorch(model, (r(2, 4),))
    with pytest.raises(TorchImportError, match="cannot import a int"):
        from_pytorch(3)


def test_export_failure_on_a_specialised_dim_hints_at_dynamic_shapes() -> None:
    batch = torch.export.Dim("batch")
    model = Fn(lambda x: x.reshape(2, -1))  # forces the batch to be 2
    with pytest.raises(TorchImportError, match="torch.export failed") as info:
        from_pytorch(model, (r(2, 3),), dynamic_shapes={"args": ({0: batch},)})
    assert "dynamic_shapes" in str(info.value)


def test_unsupported_input_dtype() -> None:
    with pytest.raises(UnsupportedError, match="complex"):
        from_pytorch(Fn(lambda z: z * 2), (torch.ones(2, dtype=torch.complex64),))


def test_a_size_as_output_is_refused() -> None:
    with pytest.raises(UnsupportedError, match="not a tensor"):
        from_pytorch(Fn(lambda x: (x * 2, x.shape[0] * 2)), (r(3, 2),),
                     dynamic_shapes={"args": ({0: torch.export.Dim("n")},)})


def test_every_converter_names_a_real_aten_overload() -> None:
    from axiom.frontends.torch.aten_common import REGISTRY

    for key in REGISTRY:
        _, op, overload = key.split(".")
        assert isinstance(getattr(getattr(torch.ops.aten, op), overload), torch._ops.OpOverload), key


def test_importing_axiom_does_not_import_torch() -> None:
    import subprocess
    import sys

    code = "import sys, axiom; axiom.compile; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
