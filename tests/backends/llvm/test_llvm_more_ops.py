"""The llvm kernels of mod, the bit ops, sign and the float classifiers (plain and fused), the indexing ops
(gather/scatter elements and N-d, cumsum/cumprod, topk, trilu), resize and conv_transpose, against the numpy
oracle over hypothesis shapes (1, primes, non-multiples of 8) and dtypes; out-of-range indices raise."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from llvm_cases import assert_matches, one_op

import axiom
from axiom.backends.numpy.interpreter import run_graph
from axiom.ir import Builder, Graph, TensorType
from axiom.ir.dtypes import dtype_from_numpy
from axiom.ir.errors import AxiomError
from axiom.ir.parser import parse_graph

FEW = settings(max_examples=6, deadline=None)
SIDES = st.sampled_from([1, 2, 3, 5, 7, 9, 13])
SHAPES = st.lists(SIDES, min_size=1, max_size=3).map(tuple)
SEEDS = st.integers(0, 2**31 - 1)
FLOATS = [np.float32, np.float64, np.float16]
INTS = [np.int32, np.int64, np.int8, np.uint8]


def many(arrays: Sequence[np.ndarray], nodes: Sequence[tuple]) -> Graph:
    """One graph (one compile) over inputs like ``arrays``: a node per (op, input positions, attrs), every
    result an output."""
    g = Graph("many")
    xs = [g.add_input(f"x{i}", TensorType(dtype_from_numpy(a.dtype), a.shape)) for i, a in enumerate(arrays)]
    b, outs = Builder(g), []
    for op, at, attrs in nodes:
        r = b.op(op, *(xs[i] for i in at), **attrs)
        outs.extend(r if isinstance(r, tuple) else [r])
    g.set_outputs(outs)
    return g


def values(rng: np.random.Generator, shape: tuple, dtype) -> np.ndarray:  # noqa: ANN001
    """Random values of ``dtype`` with its edge cases mixed in: NaN, +-inf, -0 for floats, MIN/MAX/0/-1."""
    if np.dtype(dtype).kind == "f":
        x = (rng.standard_normal(shape) * 4).astype(dtype)
        edges = [np.nan, np.inf, -np.inf, -0.0, 0.0, 3.0]
    else:
        info = np.iinfo(dtype)
        x = rng.integers(info.min, info.max, shape, dtype=dtype, endpoint=True)
        edges = [info.min, info.max, 0, 1, 7] + ([-1, -7] if info.min else [])
    flat = x.reshape(-1)
    flat[:len(edges)] = np.array(edges[:flat.size], dtype)
    rng.shuffle(flat)
    return x


def tol(dtype) -> dict:  # noqa: ANN001
    return {"rtol": 2e-3, "atol": 2e-3} if np.dtype(dtype) == np.float16 else {"rtol": 1e-5, "atol": 1e-6}


# ---- elementwise ---------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", FLOATS + INTS)
@FEW
@given(shape=SHAPES, b_rank=st.integers(0, 3), seed=SEEDS)
def test_mod_bit_ops_sign_and_classifiers(dtype, shape, b_rank, seed) -> None:  # noqa: ANN001
    rng = np.random.default_rng(seed)
    b_shape = tuple(d if rng.random() < 0.6 else 1 for d in shape[len(shape) - min(b_rank, len(shape)):])
    x, y = values(rng, shape, dtype), values(rng, b_shape, dtype)
    nodes = [("mod", (0, 1), {"fmod": False}), ("mod", (0, 1), {"fmod": True}), ("sign", (0,), {})]
    if np.dtype(dtype).kind == "f":
        nodes += [("is_nan", (0,), {})] + [("is_inf", (0,), {"detect_positive": p, "detect_negative": n})
                                           for p in (True, False) for n in (True, False)]
    else:
        bits = np.dtype(dtype).itemsize * 8  # shift amounts around the width, negative ones too
        y = rng.integers(-3 if np.iinfo(dtype).min else 0, bits + 3, b_shape).astype(dtype)
        nodes += [("bitwise_and", (0, 1), {}), ("bitwise_or", (0, 1), {}), ("bitwise_xor", (0, 1), {}),
                  ("bitwise_not", (0,), {}), ("bitshift", (0, 1), {"direction": "LEFT"}),
                  ("bitshift", (0, 1), {"direction": "RIGHT"})]
    with np.errstate(all="ignore"):
        assert_matches(many([x, y], nodes), [x, y], **tol(dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.int64])
def test_the_new_elementwise_ops_fuse_into_one_loop(dtype) -> None:  # noqa: ANN001
    """mod, sign and the bit ops run inside a fused elementwise region (no kernel of their own)."""
    rng = np.random.default_rng(1)
    x, y = values(rng, (7, 9), dtype), values(rng, (9,), dtype)
    g = Graph("chain")
    dt = dtype_from_numpy(np.dtype(dtype))
    a, b = g.add_input("x", TensorType(dt, x.shape)), g.add_input("y", TensorType(dt, y.shape))
    bld = Builder(g)
    r = bld.op("sign", bld.op("mod", a, b, fmod=False))
    if np.dtype(dtype).kind == "i":
        r = bld.op("bitshift", bld.op("bitwise_xor", r, a), b, direction="LEFT")
    else:
        r = bld.op("where", bld.op("is_nan", r), a, r)
    g.set_outputs([r])
    exe = axiom.compile(g, backend="llvm", opt_level=2)
    assert [n.op.name for n in exe.ir.nodes if n.op.name != "const"] == ["fused"]
    with np.errstate(all="ignore"):
        assert_matches(exe.ir, [x, y], opt_level=2)


# ---- indexing --------------------------------------------------------------------------------------
def _indices(rng: np.random.Generator, shape: tuple, size: int, dtype=np.int64) -> np.ndarray:  # noqa: ANN001
    """Indices in [-size, size) (negative ones count from the end), i32 or i64."""
    return rng.integers(-size, size, shape).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.int32, np.uint8])
@FEW
@given(shape=SHAPES, data=st.data())
def test_gather_and_scatter_elements(dtype, shape, data) -> None:  # noqa: ANN001
    rng = np.random.default_rng(data.draw(SEEDS))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    ishape = tuple(data.draw(st.integers(1, d)) if i != axis % len(shape) else data.draw(SIDES)
                   for i, d in enumerate(shape))
    x = values(rng, shape, dtype)
    idx = _indices(rng, ishape, shape[axis], data.draw(st.sampled_from([np.int32, np.int64])))
    upd = values(rng, ishape, dtype)
    reductions = ["none", "add", "mul", "max", "min"]
    nodes = [("gather_elements", (0, 1), {"axis": axis})]
    nodes += [("scatter_elements", (0, 1, 2), {"axis": axis, "reduction": r}) for r in reductions]
    with np.errstate(all="ignore"):
        assert_matches(many([x, idx, upd], nodes), [x, idx, upd], **tol(dtype))


@pytest.mark.parametrize("dtype", [np.float64, np.float16, np.int64, np.int8])
@FEW
@given(shape=st.lists(SIDES, min_size=2, max_size=3).map(tuple), data=st.data())
def test_gather_nd_and_scatter_nd(dtype, shape, data) -> None:  # noqa: ANN001
    rng = np.random.default_rng(data.draw(SEEDS))
    batch = data.draw(st.integers(0, len(shape) - 1))
    m = data.draw(st.integers(1, len(shape) - batch))
    lead = tuple(data.draw(st.lists(SIDES, max_size=2)))
    x = values(rng, shape, dtype)
    tuples = np.stack([_indices(rng, shape[:batch] + lead, shape[batch + j]) for j in range(m)], -1)
    m_s = data.draw(st.integers(1, len(shape)))
    scatter_idx = np.stack([_indices(rng, lead or (3,), shape[j], np.int32) for j in range(m_s)], -1)
    upd = values(rng, scatter_idx.shape[:-1] + shape[m_s:], dtype)
    nodes = [("gather_nd", (0, 1), {"batch_dims": batch})]
    nodes += [("scatter_nd", (0, 2, 3), {"reduction": r}) for r in ["none", "add", "mul", "max", "min"]]
    arrays = [x, tuples, scatter_idx, upd]
    with np.errstate(all="ignore"):
        assert_matches(many(arrays, nodes), arrays, **tol(dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.int64, np.int8, np.uint8])
@FEW
@given(shape=SHAPES, data=st.data())
def test_cumsum_and_cumprod_exclusive_and_reverse(dtype, shape, data) -> None:  # noqa: ANN001
    rng = np.random.default_rng(data.draw(SEEDS))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = rng.uniform(-3, 3, shape).astype(dtype) if np.dtype(dtype).kind == "f" else values(rng, shape, dtype)
    nodes = [(op, (0,), {"axis": axis, "exclusive": e, "reverse": r})
             for op in ("cumsum", "cumprod") for e in (False, True) for r in (False, True)]
    with np.errstate(all="ignore"):
        assert_matches(many([x], nodes), [x], **tol(dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.float64, np.int32, np.uint8, np.bool_])
@FEW
@given(shape=SHAPES, data=st.data())
def test_topk_ties_and_nan_order_as_the_reference(dtype, shape, data) -> None:  # noqa: ANN001
    rng = np.random.default_rng(data.draw(SEEDS))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = rng.integers(-2, 3, shape).astype(dtype)  # few distinct values: many ties
    if np.dtype(dtype).kind == "f" and x.size > 1:
        x.flat[rng.integers(0, x.size, 2)] = np.nan
        x.flat[rng.integers(0, x.size)] = -0.0
    ks = sorted({0, 1, shape[axis], data.draw(st.integers(0, shape[axis]))})
    nodes = [("topk", (0,), {"k": k, "axis": axis, "largest": lg}) for k in ks for lg in (True, False)]
    assert_matches(many([x], nodes), [x])


@FEW
@given(shape=st.lists(SIDES, min_size=2, max_size=4).map(tuple), k=st.integers(-14, 14))
def test_trilu(shape, k) -> None:  # noqa: ANN001
    x = values(np.random.default_rng(k + 20), shape, np.float32)
    b = np.arange(np.prod(shape)).reshape(shape) % 2 == 0
    nodes = [("trilu", (i,), {"upper": up, "k": k}) for i in (0, 1) for up in (True, False)]
    assert_matches(many([x, b], nodes), [x, b])


def test_indexing_with_a_symbolic_batch() -> None:
    g = parse_graph("""graph @g(%x: f32[N, 5], %i: i64[N, 3]) -> (f32[N, 3], f32[N, 5], f32[N, 5]) {
  %0 = gather_elements(%x, %i) {axis = 1} : f32[N, 3]
  %1 = scatter_elements(%x, %i, %0) {axis = 1, reduction = "add"} : f32[N, 5]
  %2 = cumsum(%x) {axis = 0, reverse = true} : f32[N, 5]
  return %0, %1, %2
}""")
    exe = axiom.compile(g, backend="llvm")
    rng = np.random.default_rng(2)
    for n in (1, 4):
        x, i = rng.standard_normal((n, 5)).astype(np.float32), rng.integers(-5, 5, (n, 3))
        assert_matches(g, [x, i])
        np.testing.assert_allclose(exe(x, i)[2], np.cumsum(x[::-1], axis=0)[::-1], rtol=1e-5)


def _row(x: np.ndarray, i: np.ndarray) -> list[np.ndarray]:
    return [x, i.reshape(1, 2), x[:1, :2].copy()]


OUT_OF_RANGE = {  # two indices along an axis of 4 (gather_nd, scatter_nd: of 3)
    "gather_elements": ("gather_elements", lambda x, i: [x, i.reshape(1, 2)], {"axis": 1}),
    "gather_nd": ("gather_nd", lambda x, i: [x, i.reshape(2, 1)], {}),
    "scatter_elements": ("scatter_elements", _row, {"axis": 1}),
    "scatter_elements_add": ("scatter_elements", _row, {"axis": 1, "reduction": "add"}),
    "scatter_nd_max": ("scatter_nd", lambda x, i: [x, i.reshape(2, 1), x[:2].copy()], {"reduction": "max"}),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
@pytest.mark.parametrize("case", list(OUT_OF_RANGE))
def test_an_out_of_range_index_is_an_error_naming_the_op(case, dtype) -> None:  # noqa: ANN001
    op, operands, attrs = OUT_OF_RANGE[case]
    x = np.arange(12, dtype=dtype).reshape(3, 4)
    good = operands(x, np.array([-3, 2], np.int64))
    exe = axiom.compile(one_op(op, good, **attrs), backend="llvm")
    assert_matches(one_op(op, good, **attrs), good)
    size = 3 if op.endswith("_nd") else 4
    for bad in ([0, size], [-size - 1, 0], [2**40, 0], [0, -2**62]):
        with pytest.raises(AxiomError, match=f"{op}: an index is out of range"):
            exe(*operands(x, np.array(bad, np.int64)))


# ---- resampling ------------------------------------------------------------------------------------
COORDINATES = ["half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners", "asymmetric",
               "tf_crop_and_resize"]


@pytest.mark.parametrize("mode", ["nearest", "linear", "cubic"])
@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.float64, np.uint8])
@settings(max_examples=5, deadline=None)
@given(h=SIDES, w=SIDES, oh=SIDES, ow=SIDES, data=st.data())
def test_resize_every_coordinate_mode(mode, dtype, h, w, oh, ow, data) -> None:  # noqa: ANN001
    rng = np.random.default_rng(data.draw(SEEDS))
    x = (rng.uniform(-4, 4, (2, 3, h, w)) * (40 if dtype == np.uint8 else 1)).astype(dtype)
    extra = {"exclude_outside": data.draw(st.booleans())}
    if mode == "nearest":
        extra["nearest_mode"] = data.draw(st.sampled_from(["round_prefer_floor", "round_prefer_ceil", "floor",
                                                           "ceil", "simple"]))
    else:
        extra["antialias"] = data.draw(st.booleans())
    nodes = []
    for ctm in COORDINATES:
        roi = (0, 0, 0.1, -0.2, 1, 1, 0.8, 1.3) if ctm == "tf_crop_and_resize" else None
        nodes.append(("resize", (0,), dict(sizes=(2, 3, oh, ow), scales=(1.0, 1.0, oh / h, ow / w), mode=mode,
                                           coordinate_transformation_mode=ctm, roi=roi,
                                           extrapolation_value=-7.0, **extra)))
    if dtype != np.uint8 or mode == "nearest":
        assert_matches(many([x], nodes), [x], **tol(dtype))
        return
    # An integer result rounds an f64 sum whose last bit depends on the order BLAS sums the reference's
    # tensordot in (dgemm, dgemv or dot by shape): a sum at exactly .5 may round either way there.
    g = many([x], nodes)
    got, want = axiom.compile(g, backend="llvm")(x), run_graph(g, [x])
    for a, b in zip(got, want, strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert np.abs(a.astype(np.int64) - b.astype(np.int64)).max(initial=0) <= 1


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
@pytest.mark.parametrize("d", [1, 2, 3])
@settings(max_examples=5, deadline=None)
@given(data=st.data())
def test_conv_transpose(d, dtype, data) -> None:  # noqa: ANN001
    rng = np.random.default_rng(data.draw(SEEDS))
    groups = data.draw(st.sampled_from([1, 2]))
    sizes = tuple(data.draw(st.sampled_from([1, 2, 3, 5])) for _ in range(d))
    kernel = tuple(data.draw(st.integers(1, 3)) for _ in range(d))
    stride = tuple(data.draw(st.integers(1, 3)) for _ in range(d))
    dilation = tuple(data.draw(st.integers(1, 2)) for _ in range(d))
    output_padding = tuple(data.draw(st.integers(0, s - 1)) for s in stride)
    full = [(n - 1) * s + dl * (k - 1) + 1 + op
            for n, s, dl, k, op in zip(sizes, stride, dilation, kernel, output_padding, strict=True)]
    padding = [data.draw(st.integers(0, (f - 1) // 2)) for f in full] * 2
    x = rng.standard_normal((data.draw(st.integers(1, 2)), 2 * groups) + sizes).astype(dtype)
    w = rng.standard_normal((2 * groups, data.draw(st.integers(1, 3))) + kernel).astype(dtype)
    bias = rng.standard_normal((w.shape[1] * groups,)).astype(dtype)
    attrs = dict(stride=stride, dilation=dilation, padding=tuple(padding), output_padding=output_padding,
                 groups=groups)
    nodes = [("conv_transpose", (0, 1, 2), attrs), ("conv_transpose", (0, 1), attrs)]
    assert_matches(many([x, w, bias], nodes), [x, w, bias], **tol(dtype))


def test_conv_transpose_with_a_symbolic_batch_and_width() -> None:
    g = parse_graph("""graph @g(%x: f32[N, 4, W], %w: f32[4, 3, 3]) -> (f32[N, 3, 2*W]) {
  %0 = conv_transpose(%x, %w) {stride = [2], padding = [1, 0]} : f32[N, 3, 2*W]
  return %0
}""")
    rng = np.random.default_rng(3)
    for n, width in ((1, 2), (3, 7)):
        args = [rng.standard_normal(shape).astype(np.float32) for shape in ((n, 4, width), (4, 3, 3))]
        assert_matches(g, args)
