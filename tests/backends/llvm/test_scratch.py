"""The kernels' scratch region (Kernel.scratch, sized by the runtime): every conv path that uses scratch
(direct, im2col per run of images, folded images, NHWC with transposed weights), at fixed and symbolic
batches, against the numpy oracle, with the region fenced by guard bytes that must stay untouched."""

from __future__ import annotations

import numpy as np
import pytest

import axiom
from axiom.backends.llvm import runtime
from axiom.backends.llvm.lowering import lower
from axiom.backends.numpy.interpreter import run_graph
from axiom.ir import Builder, Graph, TensorType
from axiom.ir.dims import evaluate_dim
from axiom.ir.dtypes import f32

GUARD = 1 << 20  # more than any case's slot, so a run in the wrong slot lands in the guard
FILL = 0xAB


@pytest.fixture
def fenced(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every frame's scratch region moved into a buffer with GUARD bytes of FILL either side, checked
    after each call: a kernel that reaches past what it asked for fails the test."""
    made = runtime.NativeRun._frame
    called = runtime.NativeRun._call

    def frame(self, key, bindings):  # noqa: ANN001, ANN202
        fr = made(self, key, bindings)
        size = max((evaluate_dim(d, bindings) for d in self.rendered.scratch), default=0)
        fence = np.full(size + 2 * GUARD, FILL, np.uint8)
        fr.ptrs[self.n] = fence.ctypes.data + GUARD
        fr.fence = (fence, size)
        return fr

    def call(self, fr) -> None:  # noqa: ANN001
        called(self, fr)
        fence, size = fr.fence
        assert (fence[:GUARD] == FILL).all(), "a kernel wrote below the scratch region"
        assert (fence[GUARD + size:] == FILL).all(), f"a kernel wrote past the {size}-byte scratch region"

    monkeypatch.setattr(runtime.NativeRun, "_frame", frame)
    monkeypatch.setattr(runtime.NativeRun, "_call", call)


def _conv(batch: object, cin: int, hw: int, w: np.ndarray, constant: bool, layout: str = "NCHW",
          **attrs: object) -> Graph:
    """relu(conv2d(x, w)) with x's batch ``batch`` (an int or a symbol name); w a constant or an input."""
    g = Graph("scratch")
    shape = (batch, cin, hw, hw) if layout == "NCHW" else (batch, hw, hw, cin)
    x = g.add_input("x", TensorType(f32, shape))
    wv = g.add_constant(w, "w") if constant else g.add_input("w", TensorType(f32, w.shape))
    b = Builder(g)
    g.set_outputs([b.op("relu", b.op("conv2d", x, wv, layout=layout, **attrs))])
    return g


CASES = {
    # taps 16*9 from constant weights: the direct conv (tables, bias, padded batch in scratch)
    "direct": dict(cin=16, hw=9, cout=20, k=3, constant=True, attrs=dict(padding=(1, 2, 0, 1))),
    # weights as an input: im2col, a column matrix per run of images (runs over threads from batch 2)
    "images": dict(cin=8, hw=28, cout=32, k=3, constant=False, attrs=dict(padding=(1, 1, 1, 1))),
    # few pixels, a large product: the images of a chunk fold into one product
    "folded": dict(cin=256, hw=7, cout=64, k=3, constant=False, attrs=dict(padding=(1, 1, 1, 1))),
    # NHWC with groups: column matrices and transposed weights per run
    "nhwc": dict(cin=8, hw=28, cout=32, k=3, constant=False, layout="NHWC",
                 attrs=dict(groups=2, stride=(2, 1))),
}


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("batch", ["N", 3])
@pytest.mark.parametrize("case", sorted(CASES))
def test_conv_scratch_stays_in_its_region(fenced, case: str, batch: object, threads: int) -> None:  # noqa: ANN001
    c = CASES[case]
    rng = np.random.default_rng(len(case))
    layout = c.get("layout", "NCHW")
    groups = c["attrs"].get("groups", 1)
    w = rng.standard_normal((c["cout"], c["cin"] // groups, c["k"], c["k"])).astype(np.float32)
    g = _conv(batch, c["cin"], c["hw"], w, c["constant"], layout, **c["attrs"])
    exe = axiom.compile(g, backend="llvm", threads=threads)
    for n in ([1, 5, 3] if batch == "N" else [batch]):
        shape = (n, c["cin"], c["hw"], c["hw"]) if layout == "NCHW" else (n, c["hw"], c["hw"], c["cin"])
        arrays = [rng.standard_normal(shape).astype(np.float32)] + ([] if c["constant"] else [w])
        want = run_graph(g, arrays)[0]
        for _ in range(2):  # the second call reuses the frame
            np.testing.assert_allclose(exe(*arrays), want, rtol=2e-5, atol=2e-5 * float(np.abs(want).max()))


def test_each_kernel_asks_for_its_own_shapes() -> None:
    """Two direct convs in a row, the second padded by 2: each kernel's size follows its own padded batch
    (the runtime then reserves the larger, as the kernels run one after another)."""
    rng = np.random.default_rng(1)
    g = Graph("two")
    b = Builder(g)
    x = g.add_input("x", TensorType(f32, ("N", 16, 9, 9)))
    w1, w2 = (rng.standard_normal((16, 16, 3, 3)).astype(np.float32) for _ in range(2))
    y = b.op("conv2d", x, g.add_constant(w1, "w1"), padding=(1, 1, 1, 1))
    g.set_outputs([b.op("conv2d", y, g.add_constant(w2, "w2"), padding=(2, 2, 2, 2))])
    sizes = lower(g).rendered.scratch
    at = [evaluate_dim(d, {"N": 4}) for d in sizes]
    assert len(at) == 2 and all(s > 0 for s in at) and at[1] > at[0]  # the second pads by 2
    padded = 4 * 4 * 16 * 13 * 13
    assert padded <= at[1] < padded + 4096
