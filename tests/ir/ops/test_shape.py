"""Shape ops against numpy and ONNX Runtime (the oracle for ONNX-only semantics: slice clamping,
pad modes, gather's negative indices, unsqueeze axes), plus their symbolic type rules and errors."""

from __future__ import annotations

import itertools

import numpy as np
import onnxruntime as ort
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from onnx import TensorProto, helper, numpy_helper
from op_harness import infer_all as infer
from op_harness import run_op_all as run_op

from axiom.backends.numpy import EvaluationError, run_graph
from axiom.ir import Builder, Graph, ShapeError, TensorType, get_op, sym
from axiom.ir.dims import as_dim, dim_str
from axiom.ir.errors import AttributeError_

N, M = sym("N"), sym("M")
ort.set_default_logger_severity(3)
FAST = settings(max_examples=40, deadline=None)
SHAPES = hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4)
DTYPES = st.sampled_from([np.float32, np.float64, np.int32, np.int64, np.int8, np.bool_])


def arange(shape: tuple[int, ...], dtype: object = np.float32) -> np.ndarray:
    """Distinct values (mod the dtype), so a misplaced element shows."""
    return (np.arange(int(np.prod(shape))) % 97 + 1).astype(dtype).reshape(shape)






def ort_op(op_type: str, arrays: list[np.ndarray], consts: tuple = (), **attrs: object) -> np.ndarray:
    """Run one ONNX op (opset 18) in ONNX Runtime; ``consts`` are extra inputs (None: omitted)."""
    names, inputs, inits = [], [], []
    for i, a in enumerate(arrays):
        names.append(f"x{i}")
        inputs.append(helper.make_tensor_value_info(f"x{i}", helper.np_dtype_to_tensor_dtype(a.dtype),
                                                    a.shape))
    for j, c in enumerate(consts):
        names.append("" if c is None else f"c{j}")
        if c is not None:
            inits.append(numpy_helper.from_array(np.asarray(c), f"c{j}"))
    out = helper.make_tensor_value_info("y", helper.np_dtype_to_tensor_dtype(arrays[0].dtype), None)
    graph = helper.make_graph([helper.make_node(op_type, names, ["y"], **attrs)], "g", inputs, [out],
                              initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    feeds = {f"x{i}": a for i, a in enumerate(arrays)}
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)[0]


def i64(values: list[int]) -> np.ndarray:
    return np.asarray(values, dtype=np.int64)


# ---- reshape ----------------------------------------------------------------------------
@FAST
@given(SHAPES, st.randoms(use_true_random=False), DTYPES)
def test_reshape_matches_numpy(shape, rnd, dtype):
    factors = list(shape)
    rnd.shuffle(factors)
    cut = sorted(rnd.sample(range(1, len(factors)), rnd.randint(0, len(factors) - 1)))
    target = [int(np.prod(factors[i:j])) for i, j in zip([0, *cut], [*cut, len(factors)], strict=True)]
    x = arange(shape, dtype)
    (y,) = run_op("reshape", [x], shape=target)
    np.testing.assert_array_equal(y, x.reshape(target))


def test_reshape_symbolic_numel_is_proved():
    (t,) = infer("reshape", TensorType("f32", [N, 64, 7, 7]), shape=[N, 3136])
    assert str(t) == "f32[N, 3136]"
    (t,) = infer("reshape", TensorType("f32", [N, 6]), shape=[2 * N, 3])
    assert str(t) == "f32[2*N, 3]"


def test_reshape_errors_name_both_shapes():
    with pytest.raises(ShapeError, match=r"f32\[N, 64, 7, 7\].*\[M, 3136\].*cannot be proved equal"):
        infer("reshape", TensorType("f32", [N, 64, 7, 7]), shape=[M, 3136])
    with pytest.raises(ShapeError, match=r"f32\[2, 3\].*\[4, 2\].*differ.*hint"):
        infer("reshape", TensorType("f32", [2, 3]), shape=[4, 2])
    with pytest.raises(AttributeError_):
        infer("reshape", TensorType("f32", [2, 3]), shape=[-1, 3])


def test_reshape_reference_solves_symbols_from_the_input():
    g = Graph("r")
    b = Builder(g)
    x = g.add_input("x", TensorType("f32", [N, 64, 7, 7]))
    g.set_outputs([b.reshape(x, shape=[N, 3136]), b.reshape(x, shape=[2 * N, 1568])])
    a = arange((3, 64, 7, 7))
    y, z = run_graph(g, [a])
    np.testing.assert_array_equal(y, a.reshape(3, 3136))
    np.testing.assert_array_equal(z, a.reshape(6, 1568))


def test_reshape_reference_with_undetermined_symbols_says_so():
    g = Graph("r")
    b = Builder(g)
    x = g.add_input("x", TensorType("f32", [N * M, 4]))
    g.set_outputs([b.reshape(x, shape=[N, M, 4])])
    with pytest.raises(EvaluationError, match="reshape: attribute 'shape' uses symbol [NM], which no graph"):
        run_graph(g, [arange((6, 4))])


# ---- flatten, transpose -----------------------------------------------------------------
@FAST
@given(SHAPES, st.data())
def test_flatten_matches_onnx_for_every_axis(shape, data):
    axis = data.draw(st.integers(-len(shape), len(shape)))
    x = arange(shape)
    (y,) = run_op("flatten", [x], axis=axis)
    np.testing.assert_array_equal(y, ort_op("Flatten", [x], axis=axis))


def test_flatten_symbolic():
    t = TensorType("f32", [N, 64, 7, 7])
    assert str(infer("flatten", t, axis=1)[0]) == "f32[N, 3136]"
    assert str(infer("flatten", t, axis=0)[0]) == "f32[1, 3136*N]"
    assert str(infer("flatten", t, axis=-1)[0]) == "f32[448*N, 7]"
    with pytest.raises(ShapeError, match=r"axis 5 is out of range.*\[-4, 4\]"):
        infer("flatten", t, axis=5)


@FAST
@given(SHAPES.flatmap(lambda s: st.tuples(st.just(s), st.permutations(range(len(s))))), DTYPES)
def test_transpose_matches_numpy(shape_perm, dtype):
    shape, perm = shape_perm
    x = arange(shape, dtype)
    (y,) = run_op("transpose", [x], perm=perm)
    np.testing.assert_array_equal(y, np.transpose(x, perm))
    (r,) = run_op("transpose", [x])
    np.testing.assert_array_equal(r, x.T)


def test_transpose_types_and_errors():
    t = TensorType("f32", [N, 3, M])
    assert str(infer("transpose", t, perm=[2, 0, 1])[0]) == "f32[M, N, 3]"
    assert str(infer("transpose", t)[0]) == "f32[M, 3, N]"
    for bad in ([0, 1], [0, 1, 1], [0, 1, 3], [-1, 0, 1]):
        with pytest.raises(ShapeError, match="not a permutation"):
            infer("transpose", t, perm=bad)


@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.bool_])
def test_transpose_and_slice_of_a_scalar_stay_scalars(dtype):
    # np.ascontiguousarray promotes a 0-d array to [1]; run_graph checks the type's shape [].
    x = np.array(7, dtype)
    for op, attrs in [("transpose", {}), ("transpose", {"perm": []}), ("slice", {"starts": [], "ends": []})]:
        (y,) = run_op(op, [x], **attrs)
        assert y.shape == () and y.dtype == x.dtype and y == x


# ---- squeeze, unsqueeze -----------------------------------------------------------------
@FAST
@given(hnp.array_shapes(min_dims=1, max_dims=5, min_side=1, max_side=2), st.data())
def test_squeeze_matches_numpy_and_onnx(shape, data):
    x = arange(shape)
    ones = [i for i, d in enumerate(shape) if d == 1]
    (y,) = run_op("squeeze", [x])
    np.testing.assert_array_equal(y, np.squeeze(x))
    if not ones:
        return
    axes = data.draw(st.lists(st.sampled_from(ones), min_size=1, unique=True))
    axes = [a - len(shape) if data.draw(st.booleans()) else a for a in axes]
    (z,) = run_op("squeeze", [x], axes=axes)
    np.testing.assert_array_equal(z, ort_op("Squeeze", [x], (i64(axes),)))


def test_squeeze_symbolic_and_errors():
    t = TensorType("f32", [N, 1, 3, 1])
    assert str(infer("squeeze", t)[0]) == "f32[N, 3]"
    assert str(infer("squeeze", t, axes=[-1])[0]) == "f32[N, 1, 3]"
    with pytest.raises(ShapeError, match="axis 0 of f32\\[N, 1, 3, 1\\] has dim N, not known to be 1"):
        infer("squeeze", t, axes=[0])
    with pytest.raises(ShapeError, match="dim 3"):
        infer("squeeze", t, axes=[2])
    with pytest.raises(ShapeError, match="repeat"):
        infer("squeeze", t, axes=[1, -3])
    with pytest.raises(ShapeError, match="out of range"):
        infer("squeeze", t, axes=[4])


@FAST
@given(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3), st.data())
def test_unsqueeze_axes_index_the_output_as_onnx(shape, data):
    out_rank = len(shape) + data.draw(st.integers(1, 3))
    axes = data.draw(st.lists(st.integers(-out_rank, out_rank - 1), min_size=out_rank - len(shape),
                              max_size=out_rank - len(shape),
                              unique_by=lambda a: a % out_rank))
    x = arange(shape)
    (y,) = run_op("unsqueeze", [x], axes=axes)
    np.testing.assert_array_equal(y, ort_op("Unsqueeze", [x], (i64(axes),)))


def test_unsqueeze_symbolic_and_errors():
    t = TensorType("f32", [N, 3])
    assert str(infer("unsqueeze", t, axes=[0, 3])[0]) == "f32[1, N, 3, 1]"
    assert str(infer("unsqueeze", t, axes=[-1])[0]) == "f32[N, 3, 1]"
    with pytest.raises(ShapeError, match="repeat"):
        infer("unsqueeze", t, axes=[0, -4])
    with pytest.raises(ShapeError, match="out of range"):
        infer("unsqueeze", t, axes=[3])


@pytest.mark.parametrize("name, attrs", [("flatten", {"axis": 2}), ("flatten", {"axis": 0}),
                                         ("squeeze", {}), ("squeeze", {"axes": [1]}),
                                         ("unsqueeze", {"axes": [0, -1]})])
def test_decompositions_match_the_reference(name, attrs):
    x = arange((2, 1, 3))
    g = Graph("d")
    b = Builder(g)
    xv = g.add_input("x", TensorType("f32", x.shape))
    (out,) = get_op(name).decompose(b, [xv], get_op(name).make_attrs(attrs))
    assert all(n.op.name == "reshape" for n in g.nodes)
    g.set_outputs([out])
    (want,) = run_op(name, [x], **attrs)
    np.testing.assert_array_equal(run_graph(g, [x])[0], want)


# ---- expand -----------------------------------------------------------------------------
@FAST
@given(hnp.mutually_broadcastable_shapes(num_shapes=1, max_dims=4, max_side=3), DTYPES)
def test_expand_matches_numpy(shapes, dtype):
    (shape,), target = shapes
    x = arange(shape, dtype)
    (y,) = run_op("expand", [x], shape=list(target))
    np.testing.assert_array_equal(y, np.broadcast_to(x, target))


def test_expand_symbolic_and_errors():
    assert str(infer("expand", TensorType("f32", [N, 1]), shape=[2, N, 5])[0]) == "f32[2, N, 5]"
    with pytest.raises(ShapeError, match=r"f32\[N, 1\].*\[M, 5\].*N and M cannot be proved equal"):
        infer("expand", TensorType("f32", [N, 1]), shape=[M, 5])
    with pytest.raises(ShapeError, match="3 and 4 differ.*only dims of size 1"):
        infer("expand", TensorType("f32", [3]), shape=[4])
    with pytest.raises(ShapeError, match="lower-rank"):
        infer("expand", TensorType("f32", [1, 3]), shape=[3])


def test_expand_reference_binds_symbols_it_can_see():
    g = Graph("e")
    b = Builder(g)
    x = g.add_input("x", TensorType("f32", [N, 1]))
    g.set_outputs([b.expand(x, shape=[N, 4])])
    a = arange((3, 1))
    np.testing.assert_array_equal(run_graph(g, [a])[0], np.broadcast_to(a, (3, 4)))
    g2 = Graph("e2")
    y = g2.add_input("y", TensorType("f32", [1, 4]))
    g2.set_outputs([Builder(g2).expand(y, shape=[M, 4])])
    with pytest.raises(EvaluationError, match="expand: attribute 'shape' uses symbol M, which no graph"):
        run_graph(g2, [arange((1, 4))])


# ---- concat, split ----------------------------------------------------------------------
@FAST
@given(SHAPES, st.data(), DTYPES)
def test_concat_matches_numpy(shape, data, dtype):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    sizes = data.draw(st.lists(st.integers(0, 3), min_size=1, max_size=4))
    xs = []
    for k in sizes:
        s = list(shape)
        s[axis] = k
        xs.append(arange(tuple(s), dtype) + len(xs))
    (y,) = run_op("concat", xs, axis=axis)
    np.testing.assert_array_equal(y, np.concatenate(xs, axis=axis))


def test_concat_symbolic_and_errors():
    a, b = TensorType("f32", [N, 3]), TensorType("f32", [M, 3])
    assert str(infer("concat", a, b, axis=0)[0]) == "f32[M + N, 3]"
    assert str(infer("concat", a, a, a, axis=0)[0]) == "f32[3*N, 3]"
    assert str(infer("concat", a, TensorType("f32", [N, 2]), axis=-1)[0]) == "f32[N, 5]"
    with pytest.raises(ShapeError, match="axis 0 .*N vs M.*only the concat axis"):
        infer("concat", a, b, axis=1)
    with pytest.raises(ShapeError, match="one dtype.*cast"):
        infer("concat", a, TensorType("f64", [N, 3]), axis=0)
    with pytest.raises(ShapeError, match="differ in rank"):
        infer("concat", a, TensorType("f32", [N, 3, 1]), axis=0)
    with pytest.raises(ShapeError, match="takes 1..any inputs"):
        infer("concat", axis=0)


@FAST
@given(SHAPES, st.data(), DTYPES)
def test_split_matches_numpy(shape, data, dtype):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    d = shape[axis]
    cuts = sorted(data.draw(st.lists(st.integers(0, d), max_size=3)))
    sizes = [j - i for i, j in zip([0, *cuts], [*cuts, d], strict=True)]
    x = arange(shape, dtype)
    ys = run_op("split", [x], axis=axis, sizes=sizes)
    for y, want in zip(ys, np.split(x, cuts, axis=axis), strict=True):
        np.testing.assert_array_equal(y, want)


def test_split_symbolic_and_errors():
    t = TensorType("f32", [N, 10])
    assert [str(r) for r in infer("split", t, axis=1, sizes=[3, 7])] == ["f32[N, 3]", "f32[N, 7]"]
    with pytest.raises(ShapeError, match=r"sum to 4, which cannot be proved equal to dim N"):
        infer("split", t, sizes=[2, 2])
    with pytest.raises(ShapeError, match=r"sum to 9, which differs from dim 10"):
        infer("split", t, axis=-1, sizes=[4, 5])
    with pytest.raises(ShapeError, match="non-negative"):
        infer("split", t, axis=1, sizes=[11, -1])
    with pytest.raises(ShapeError, match="non-negative"):
        infer("split", t, axis=1, sizes=[])
    assert get_op("split").results_for(get_op("split").make_attrs({"sizes": [1, 2, 3]})) == 3


# ---- slice ------------------------------------------------------------------------------
BOUNDS = st.one_of(st.integers(-7, 7), st.sampled_from([2**63 - 1, -(2**63), 2**62, -(2**62)]))


@settings(max_examples=120, deadline=None)
@given(hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=4), st.data())
def test_slice_matches_onnx(shape, data):
    rank = len(shape)
    axes = data.draw(st.lists(st.integers(-rank, rank - 1), min_size=1, max_size=rank,
                              unique_by=lambda a: a % rank))
    n = len(axes)
    starts = data.draw(st.lists(BOUNDS, min_size=n, max_size=n))
    ends = data.draw(st.lists(BOUNDS, min_size=n, max_size=n))
    steps = data.draw(st.lists(st.integers(-3, 3).filter(bool), min_size=n, max_size=n))
    x = arange(shape)
    (y,) = run_op("slice", [x], starts=starts, ends=ends, axes=axes, steps=steps)
    if any(e >= 2**62 and k < 0 for e, k in zip(ends, steps, strict=True)):
        return  # ONNX Runtime departs from the spec here: see the test below
    consts = (i64(starts), i64(ends), i64(axes), i64(steps))
    np.testing.assert_array_equal(y, ort_op("Slice", [x], consts))


def test_slice_huge_end_with_negative_step_follows_the_spec_text():
    # The spec clamps end into [-1, dim - 1] for negative steps, so [2 : INT64_MAX : -1] is empty;
    # ONNX Runtime reads it as "through index 0" and the ONNX reference evaluator as numpy does.
    x = np.arange(4, dtype=np.float32)
    (y,) = run_op("slice", [x], starts=[2], ends=[2**63 - 1], steps=[-1])
    assert y.shape == (0,)
    assert ort_op("Slice", [x], (i64([2]), i64([2**63 - 1]), i64([0]), i64([-1]))).tolist() == [2, 1, 0]


def test_slice_negative_step_on_an_empty_axis_is_empty():
    # The clamp range [0, d - 1] of a negative step's start is inverted when d is 0.
    assert infer("slice", TensorType("f32", [0]), starts=[-1], ends=[-2**62], steps=[-1])[0].shape == (0,)
    x = np.zeros((0, 3), np.float32)
    for start in (-1, -2**62, -(2**63), 0, 3):
        (y,) = run_op("slice", [x], starts=[start], ends=[-2**62], steps=[-1])
        assert y.shape == (0, 3)
        assert ort_op("Slice", [x], (i64([start]), i64([-2**62]), i64([0]), i64([-1]))).shape == (0, 3)


def _slice_session() -> ort.InferenceSession:
    """ONNX Slice of a 1-D f32 tensor with starts, ends, axes and steps as inputs."""
    names = ["x", "s", "e", "a", "k"]
    ins = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None])]
    ins += [helper.make_tensor_value_info(n, TensorProto.INT64, [1]) for n in names[1:]]
    out = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    graph = helper.make_graph([helper.make_node("Slice", names, ["y"])], "g", ins, [out])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


SWEEP_BOUNDS = [*range(-7, 8), 2**62, -(2**62), 2**63 - 1, -(2**63), 2**31 - 1, -(2**31)]
SWEEP_STEPS = [-3, -2, -1, 1, 2, 3, 2**62, -(2**62)]


def _ort_slice(sess: ort.InferenceSession, x: np.ndarray, start: int, end: int, step: int) -> np.ndarray:
    feeds = {"x": x, "s": i64([start]), "e": i64([end]), "a": i64([0]), "k": i64([step])}
    return sess.run(None, feeds)[0]


def test_slice_rule_and_reference_match_onnx_runtime_for_every_small_size():
    sess, op = _slice_session(), get_op("slice")
    for d, start, end, step in itertools.product(range(6), SWEEP_BOUNDS, SWEEP_BOUNDS, SWEEP_STEPS):
        if step < 0 and end in (2**63 - 1, 2**31 - 1):
            continue  # ONNX Runtime reads these as "through index 0": see the test above
        x = np.arange(1, d + 1, dtype=np.float32)
        attrs = op.make_attrs({"starts": [start], "ends": [end], "steps": [step]})
        (t,) = op.infer_types([TensorType("f32", [d])], attrs)
        (y,) = op.evaluate([x], attrs)
        want = _ort_slice(sess, x, start, end, step)
        case = f"d={d} start={start} end={end} step={step}"
        assert t.shape == want.shape, case
        np.testing.assert_array_equal(y, want, err_msg=case, strict=True)


@pytest.mark.parametrize("dim", [N, as_dim(N - 1), as_dim(N // 2)], ids=dim_str)
def test_slice_symbolic_rule_is_each_size_or_an_error(dim):
    """A symbolic length, where the rule gives one, is what ONNX Runtime gives at every size,
    also for dims that may be 0 (N - 1, N//2): there a negative step clamped to the first
    element has length 1 or 0, which the rule must not guess."""
    sess, op = _slice_session(), get_op("slice")
    bounds, steps = [-(2**62), -2, -1, 0, 1, 2, 2**62], [-2, -1, 1, 2]
    accepted = 0
    for start, end, step in itertools.product(bounds, bounds, steps):
        attrs = op.make_attrs({"starts": [start], "ends": [end], "steps": [step]})
        try:
            (t,) = op.infer_types([TensorType("f32", [dim])], attrs)
        except ShapeError:
            continue
        accepted += 1
        for n in range(1, 6):
            d = int(dim.subs(N, n))
            got = t.shape[0] if isinstance(t.shape[0], int) else int(t.shape[0].subs(N, n))
            want = _ort_slice(sess, np.zeros(d, np.float32), start, end, step).shape[0]
            assert got == want, f"dim {dim} = {d}: start={start} end={end} step={step}"
    assert accepted >= 20
    with pytest.raises(ShapeError, match="0 if the dim is 0"):
        op.infer_types([TensorType("f32", [as_dim(N - 1)])],
                       op.make_attrs({"starts": [-(2**62)], "ends": [-(2**62)], "steps": [-1]}))


@FAST
@given(SHAPES, st.data())
def test_slice_with_positive_steps_is_python_slicing(shape, data):
    n = len(shape)
    starts = data.draw(st.lists(st.integers(-6, 6), min_size=n, max_size=n))
    ends = data.draw(st.lists(st.integers(-6, 6), min_size=n, max_size=n))
    steps = data.draw(st.lists(st.integers(1, 3), min_size=n, max_size=n))
    x = arange(shape)
    (y,) = run_op("slice", [x], starts=starts, ends=ends, steps=steps)
    index = tuple(slice(s, e, k) for s, e, k in zip(starts, ends, steps, strict=True))
    np.testing.assert_array_equal(y, x[index])


def test_slice_onnx_clamps_a_negative_step_start_to_the_first_element():
    x = np.arange(3, dtype=np.float32)
    for start, end in [(-5, -10), (-4, -4)]:
        (y,) = run_op("slice", [x], starts=[start], ends=[end], steps=[-1])
        np.testing.assert_array_equal(y, [0.0])  # numpy's x[-5:-10:-1] is empty
        assert x[start:end:-1].size == 0


BIG = 2**63 - 1


@pytest.mark.parametrize("starts, ends, steps, want", [
    ([0], [BIG], [1], "N"),
    ([1], [BIG], [1], "N - 1"),
    ([0], [-1], [1], "N - 1"),
    ([-1], [BIG], [1], "1"),
    ([0], [1], [1], "1"),
    ([1], [1], [1], "0"),
    ([0], [BIG], [2], "(N + 1)//2"),
    ([1], [BIG], [3], "(N + 1)//3"),
    ([-1], [-BIG - 1], [-1], "N"),
    ([-1], [0], [-1], "N - 1"),
    ([BIG], [-BIG - 1], [-2], "(N + 1)//2"),
    ([0], [-BIG - 1], [-1], "1"),
])
def test_slice_symbolic_dims_where_exact(starts, ends, steps, want):
    (t,) = infer("slice", TensorType("f32", [N, 5]), starts=starts, ends=ends, steps=steps)
    assert t.shape[1] == 5
    assert str(t) == f"f32[{want}, 5]"


@pytest.mark.parametrize("n", [1, 2, 3, 7])
def test_slice_symbolic_result_agrees_with_each_concrete_size(n):
    x = arange((n, 2))
    for starts, ends, steps in [([1], [BIG], [1]), ([0], [-1], [1]), ([0], [BIG], [2]),
                                ([-1], [0], [-1]), ([BIG], [-BIG - 1], [-2])]:
        (t,) = infer("slice", TensorType("f32", [N, 2]), starts=starts, ends=ends, steps=steps)
        (y,) = run_op("slice", [x], starts=starts, ends=ends, steps=steps)
        assert y.shape[0] == t.shape[0].subs(N, n)


@pytest.mark.parametrize("starts, ends, steps, what", [
    ([2], [BIG], [1], "start 2"),
    ([0], [3], [1], "end 3"),
    ([-2], [BIG], [1], "start -2"),
    ([1], [-1], [1], "is not known"),
])
def test_slice_symbolic_unknown_raises(starts, ends, steps, what):
    with pytest.raises(ShapeError, match=f"{what}.*hint.*f32\\[N, 5\\]"):
        infer("slice", TensorType("f32", [N, 5]), starts=starts, ends=ends, steps=steps)


def test_slice_attribute_errors():
    t = TensorType("f32", [4, 5])
    with pytest.raises(ShapeError, match="steps .*contain 0"):
        infer("slice", t, starts=[0], ends=[2], steps=[0])
    with pytest.raises(ShapeError, match="lengths 1, 2"):
        infer("slice", t, starts=[0], ends=[2, 3])
    with pytest.raises(ShapeError, match="repeat"):
        infer("slice", t, starts=[0, 0], ends=[2, 2], axes=[1, -1])
    with pytest.raises(ShapeError, match="out of range"):
        infer("slice", t, starts=[0], ends=[2], axes=[2])


# ---- gather -----------------------------------------------------------------------------
@FAST
@given(SHAPES, hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3), st.data())
def test_gather_matches_onnx_runtime(shape, idx_shape, data):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    d = shape[axis]
    itype = data.draw(st.sampled_from([np.int32, np.int64]))
    idx = data.draw(hnp.arrays(itype, idx_shape, elements=st.integers(-d, d - 1)))
    x = arange(shape)
    (y,) = run_op("gather", [x, idx], axis=axis)
    np.testing.assert_array_equal(y, ort_op("Gather", [x, idx], axis=axis))
    np.testing.assert_array_equal(y, np.take(x, idx, axis=axis))


def test_gather_types_and_errors():
    assert str(infer("gather", TensorType("f32", [N, 7, 3]), TensorType("i64", [M, 2]), axis=1)[0]) \
        == "f32[N, M, 2, 3]"
    assert str(infer("gather", TensorType("f32", [7, 3]), TensorType("i32", []))[0]) == "f32[3]"
    with pytest.raises(ShapeError, match="i32 or i64.*cast"):
        infer("gather", TensorType("f32", [7, 3]), TensorType("f32", [2]))
    with pytest.raises(ShapeError, match="scalar"):
        infer("gather", TensorType("f32", []), TensorType("i64", [2]))
    with pytest.raises(IndexError, match="gather: index 3 is out of range for axis 1 of size 3"):
        get_op("gather").evaluate([arange((2, 3)), i64([0, 3])], get_op("gather").make_attrs({"axis": 1}))
    with pytest.raises(EvaluationError, match="gather.*index -4.*size 3"):
        run_op("gather", [arange((3,)), i64([[-4]])])


# ---- pad --------------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4), st.data())
def test_pad_matches_onnx_runtime(shape, data):
    mode = data.draw(st.sampled_from(["constant", "reflect", "edge"]))
    limit = [d - 1 if mode == "reflect" else 3 for d in shape] * 2
    pads = [data.draw(st.integers(0, m)) for m in limit]
    value = data.draw(st.sampled_from([0.0, -2.5, 7.0]))
    x = arange(shape)
    (y,) = run_op("pad", [x], pads=pads, mode=mode, value=value)
    consts = (i64(pads), np.float32(value)) if mode == "constant" else (i64(pads),)
    np.testing.assert_array_equal(y, ort_op("Pad", [x], consts, mode=mode))


@pytest.mark.parametrize("dtype", [np.int32, np.int8, np.bool_, np.float64])
def test_pad_constant_other_dtypes(dtype):
    x = arange((2, 3), dtype)
    (y,) = run_op("pad", [x], pads=[1, 0, 0, 2], value=1.0)
    np.testing.assert_array_equal(y, np.pad(x, [(1, 0), (0, 2)], constant_values=1))


def test_pad_symbolic_and_errors():
    t = TensorType("f32", [N, 3])
    assert str(infer("pad", t, pads=[1, 0, 2, 1])[0]) == "f32[N + 3, 4]"
    assert str(infer("pad", t, pads=[0, 2, 0, 2], mode="reflect")[0]) == "f32[N, 7]"
    assert str(infer("pad", t, pads=[2, 0, 0, 0], mode="edge")[0]) == "f32[N + 2, 3]"
    with pytest.raises(ShapeError, match="reflect pads \\(1, 0\\) of axis 0.*dim N"):
        infer("pad", t, pads=[1, 0, 0, 0], mode="reflect")
    with pytest.raises(ShapeError, match="reflect pads \\(0, 3\\) of axis 1 .*dim 3"):
        infer("pad", t, pads=[0, 0, 0, 3], mode="reflect")
    with pytest.raises(ShapeError, match="need 4 entries"):
        infer("pad", t, pads=[1, 1])
    with pytest.raises(ShapeError, match="unknown mode 'wrap'"):
        infer("pad", t, pads=[0, 0, 0, 0], mode="wrap")
    with pytest.raises(ShapeError, match="negative.*slice"):
        infer("pad", t, pads=[0, -1, 0, 0])
    with pytest.raises(ShapeError, match="does not fit i32"):
        infer("pad", TensorType("i32", [2]), pads=[1, 1], value=0.5)
    with pytest.raises(ShapeError, match="does not fit u8"):
        infer("pad", TensorType("u8", [2]), pads=[1, 1], value=256.0)
    with pytest.raises(ShapeError, match="edge padding needs a non-empty axis"):
        infer("pad", TensorType("f32", [0]), pads=[1, 0], mode="edge")


def test_squeeze_without_axes_records_them_and_keeps_a_symbolic_one():
    g = Graph("sq")
    x = g.add_input("x", TensorType("f32", [N, 1]))
    y = Builder(g).squeeze(x)
    g.set_outputs([y])
    assert y.producer.attrs.axes == (1,)
    assert run_graph(g, [arange((1, 1))])[0].shape == (1,)
