"""conv_transpose: its numpy reference against torch's conv_transpose1d/2d/3d, its type rule, its errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from op_harness import infer, run_op

from axiom import model, ops
from axiom.frontends.dsl.tensor import Tensor
from axiom.ir import TensorType
from axiom.ir.dims import sym
from axiom.ir.dtypes import f32
from axiom.ir.errors import AxiomError

TORCH = {1: torch.nn.functional.conv_transpose1d, 2: torch.nn.functional.conv_transpose2d,
         3: torch.nn.functional.conv_transpose3d}


@settings(max_examples=40, deadline=None)
@given(d=st.integers(1, 3), groups=st.sampled_from([1, 2]), stride=st.integers(1, 3),
       dilation=st.integers(1, 2), pad=st.integers(0, 1), extra=st.integers(0, 2), kernel=st.integers(1, 3),
       bias=st.booleans(), seed=st.integers(0, 99))
def test_matches_torch(d: int, groups: int, stride: int, dilation: int, pad: int, extra: int, kernel: int,
                       bias: bool, seed: int) -> None:
    output_padding = min(extra, max(stride, dilation) - 1)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 2 * groups, *[3] * d)).astype(np.float32)
    w = rng.standard_normal((2 * groups, 3, *[kernel] * d)).astype(np.float32)
    b = rng.standard_normal(3 * groups).astype(np.float32)
    want = TORCH[d](torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b) if bias else None,
                    stride=stride, padding=pad, output_padding=output_padding, groups=groups,
                    dilation=dilation).numpy()
    got = run_op("conv_transpose", [x, w, b] if bias else [x, w], stride=[stride] * d, padding=[pad] * 2 * d,
                 dilation=[dilation] * d, output_padding=[output_padding] * d, groups=groups)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_asymmetric_padding_crops_each_end() -> None:
    x = np.ones((1, 1, 2, 2), np.float32)
    w = np.ones((1, 1, 2, 2), np.float32)
    full = run_op("conv_transpose", [x, w])
    np.testing.assert_array_equal(full, [[[[1, 2, 1], [2, 4, 2], [1, 2, 1]]]])
    got = run_op("conv_transpose", [x, w], padding=[1, 0, 0, 1])
    np.testing.assert_array_equal(got, full[:, :, 1:, :2])


def test_symbolic_dims() -> None:
    n, h = sym("N"), sym("H")
    t = infer("conv_transpose", TensorType(f32, (n, 4, h, 5)), TensorType(f32, (4, 3, 3, 3)), stride=(2, 2),
              padding=(1, 1, 1, 1), output_padding=(1, 0))
    assert t.shape == (n, 3, 2 * h, 9)


@pytest.mark.parametrize("x, w, attrs", [
    ((1, 4, 5, 5), (3, 3, 3, 3), {}),
    ((1, 4, 5, 5), (4, 3, 3), {}),
    ((1, 4, 5, 5), (4, 3, 3, 3), {"stride": (1,)}),
    ((1, 4, 5, 5), (4, 3, 3, 3), {"groups": 3}),
    ((1, 4, 1, 1), (4, 3, 1, 1), {"padding": (1, 1, 1, 1)}),
    ((1, 4, 5), (4, 3, 3), {"output_padding": (-1,)}),
])
def test_bad_operands_are_axiom_errors(x: tuple, w: tuple, attrs: dict) -> None:
    with pytest.raises(AxiomError, match="conv_transpose"):
        infer("conv_transpose", TensorType(f32, x), TensorType(f32, w), **attrs)


def test_dsl_wrappers_of_conv_transpose_and_resize() -> None:
    w = np.random.default_rng(1).standard_normal((2, 3, 3, 3)).astype(np.float32)

    @model
    def m(x: Tensor[f32, "N", 2, 4, 4]):  # noqa: ANN202, F821, UP037
        return (ops.conv_transpose(x, ops.constant(w), stride=2, padding=1, output_padding=1),
                ops.resize(x, ["N", 2, 8, 6], mode="linear"))

    x = np.random.default_rng(2).standard_normal((1, 2, 4, 4)).astype(np.float32)
    conv, resized = m(x)
    want = TORCH[2](torch.from_numpy(x), torch.from_numpy(w), stride=2, padding=1, output_padding=1).numpy()
    np.testing.assert_allclose(conv, want, rtol=1e-5, atol=1e-5)
    assert resized.shape == (1, 2, 8, 6)
