"""ONNX export: small IR graphs and the reference models, run in onnxruntime and compared with the
numpy reference interpreter at two batch sizes (the symbolic batch stays dynamic in ONNX)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from axiom.backends.numpy.interpreter import run_graph
from axiom.compiler.pipeline import run_pipeline
from axiom.examples import mlp, mnist, resnet18, transformer
from axiom.frontends.onnx import export_ops
from axiom.frontends.onnx.export import to_onnx
from axiom.ir.errors import UnsupportedError
from axiom.ir.graph import Graph
from axiom.ir.opdef import all_ops
from axiom.ir.parser import parse_graph

RNG = np.random.default_rng(0)


def run_onnx(model: onnx.ModelProto, graph: Graph, inputs: list[np.ndarray]) -> list[np.ndarray]:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {v.name: a for v, a in zip(graph.inputs, inputs, strict=True)})


def assert_matches(graph: Graph, make_inputs: Callable[[int], list[np.ndarray]], batches=(2, 5)) -> None:
    """Export once, then run both sides at every batch size; results agree to rtol 1e-5."""
    model = to_onnx(graph)
    for batch in batches:
        inputs = make_inputs(batch)
        want = run_graph(graph, inputs)
        got = run_onnx(model, graph, inputs)
        for w, g in zip(want, got, strict=True):
            assert g.dtype == w.dtype and g.shape == w.shape
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


def floats(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def one_input(text: str, shape: Callable[[int], tuple[int, ...]], make=floats) -> None:
    assert_matches(parse_graph(text), lambda n: [make(*shape(n))])


UNARY = ["neg", "abs", "exp", "sin", "cos", "tanh", "erf", "sigmoid", "relu", "softplus",
         "leaky_relu", "gelu", "dropout", "clip", "softmax", "log_softmax"]


@pytest.mark.parametrize("op", UNARY)
def test_unary_ops(op: str) -> None:
    one_input(f"graph @g(%x: f32[N, 5]) -> (f32[N, 5]) {{\n  %0 = {op}(%x) : f32[N, 5]\n  return %0\n}}",
              lambda n: (n, 5))


@pytest.mark.parametrize("op", ["log", "sqrt", "rsqrt", "reciprocal"])
def test_unary_ops_on_positive_inputs(op: str) -> None:
    one_input(f"graph @g(%x: f32[N, 5]) -> (f32[N, 5]) {{\n  %0 = {op}(%x) : f32[N, 5]\n  return %0\n}}",
              lambda n: (n, 5), lambda *s: np.abs(floats(*s)) + 0.1)


@pytest.mark.parametrize("attrs", ['{approximate = "tanh"}', "{max = 0.5, min = -0.25}",
                                   "{max = 0.5, min = none}"])
def test_unary_attributes(attrs: str) -> None:
    op = "gelu" if "approximate" in attrs else "clip"
    one_input(f"graph @g(%x: f32[N, 5]) -> (f32[N, 5]) {{\n  %0 = {op}(%x) {attrs} : f32[N, 5]\n"
              "  return %0\n}", lambda n: (n, 5))


@pytest.mark.parametrize("op,result", [(o, "f32") for o in ("add", "sub", "mul", "div", "maximum", "minimum")]
                         + [(o, "bool") for o in ("equal", "not_equal", "less", "less_equal", "greater",
                                                   "greater_equal")])
def test_binary_ops_broadcast(op: str, result: str) -> None:
    g = parse_graph(f"graph @g(%x: f32[N, 4], %y: f32[4]) -> ({result}[N, 4]) {{\n"
                    f"  %0 = {op}(%x, %y) : {result}[N, 4]\n  return %0\n}}")
    assert_matches(g, lambda n: [np.round(floats(n, 4)), np.round(floats(4))])  # rounding makes ties


@pytest.mark.parametrize("op", ["logical_and", "logical_or", "logical_xor"])
def test_logical_ops_and_where(op: str) -> None:
    g = parse_graph(f"""graph @g(%a: bool[N, 3], %b: bool[N, 3], %x: f32[N, 3]) -> (f32[N, 3]) {{
  %0 = {op}(%a, %b) : bool[N, 3]
  %1 = logical_not(%0) : bool[N, 3]
  %2 = neg(%x) : f32[N, 3]
  %3 = where(%1, %x, %2) : f32[N, 3]
  return %3
}}""")
    assert_matches(g, lambda n: [RNG.random((n, 3)) > 0.5, RNG.random((n, 3)) > 0.5, floats(n, 3)])


def test_integer_div_by_zero_gives_zero_and_truncates() -> None:
    g = parse_graph("graph @g(%x: i32[N], %y: i32[N]) -> (i32[N]) {\n  %0 = div(%x, %y) : i32[N]\n"
                    "  return %0\n}")
    x = np.array([7, -7, 7, -7, 5, -2147483648], np.int32)
    y = np.array([2, 2, -2, 0, 0, 1], np.int32)
    np.testing.assert_array_equal(run_onnx(to_onnx(g), g, [x, y])[0], [3, -3, -3, 0, 0, -2147483648])


@pytest.mark.parametrize("dt", ["u8", "u16", "u32", "u64", "i16"])
def test_integer_div_of_every_width_runs_in_onnxruntime(dt: str) -> None:
    g = parse_graph(f"graph @g(%x: {dt}[N], %y: {dt}[N]) -> ({dt}[N]) {{\n  %0 = div(%x, %y) : {dt}[N]\n"
                    "  return %0\n}")
    np_dt = g.inputs[0].dtype.np_dtype
    x, y = np.array([7, 9, 100, 5], np_dt), np.array([2, 0, 7, 5], np_dt)
    np.testing.assert_array_equal(run_onnx(to_onnx(g), g, [x, y])[0], np.array([3, 0, 14, 1], np_dt))


@pytest.mark.parametrize("to", ["i32", "i8", "i64", "u8"])
def test_cast_float_to_int_saturates_and_maps_nan_to_zero(to: str) -> None:
    g = parse_graph(f"graph @g(%x: f32[N]) -> ({to}[N]) {{\n  %0 = cast(%x) {{to = {to}}} : {to}[N]\n"
                    "  return %0\n}")
    x = np.array([np.nan, np.inf, -np.inf, 1e30, -1e30, 2.9, -2.9, 127.5, 300.0, 2**31], np.float32)
    want = run_graph(g, [x])[0]
    np.testing.assert_array_equal(run_onnx(to_onnx(g), g, [x])[0], want)


def test_int_cast_and_integer_clip() -> None:
    g = parse_graph("""graph @g(%x: i64[N]) -> (f32[N]) {
  %0 = clip(%x) {max = 3.5, min = -2.5} : i64[N]
  %1 = cast(%0) {to = f32} : f32[N]
  return %1
}""")
    assert_matches(g, lambda n: [RNG.integers(-10, 10, n)])


def test_matmul_and_linear_of_rank_2_and_3() -> None:
    g = parse_graph("""graph @g(%x: f32[N, 3, 8], %y: f32[N, 8]) -> (f32[N, 3, 4], f32[N, 4]) {
  %w = const {name = "w"} : f32[4, 8]
  %b = const {name = "b"} dense<[1.0, -1.0, 0.5, 0.0]> : f32[4]
  %0 = linear(%x, %w, %b) : f32[N, 3, 4]
  %1 = linear(%y, %w, %b) : f32[N, 4]
  %2 = transpose(%w) {perm = [1, 0]} : f32[8, 4]
  %3 = matmul(%y, %2) : f32[N, 4]
  %4 = add(%1, %3) : f32[N, 4]
  return %0, %4
}""", weights={"w": floats(4, 8)})
    assert_matches(g, lambda n: [floats(n, 3, 8), floats(n, 8)])


CONV = """graph @g(%x: f32[N, 4, 9, 9]) -> ({out}) {{
  %w = const {{name = "w"}} : f32[6, 2, 3, 3]
  %b = const {{name = "b"}} : f32[6]
  %0 = conv2d(%x, %w, %b) {{{conv}}} : f32[N, 6, 6, 5]
  {body}
}}"""
CONV_ATTRS = 'dilation = [2, 1], groups = 2, layout = "NCHW", padding = [1, 2, 0, 1], stride = [1, 2]'


@pytest.mark.parametrize("body,out", [
    ('%1 = max_pool2d(%0) {ceil_mode = false, dilation = [1, 1], kernel = [2, 2], layout = "NCHW", '
     "padding = [1, 1, 1, 1], stride = none} : f32[N, 6, 4, 3]\n  return %1", "f32[N, 6, 4, 3]"),
    ('%1 = avg_pool2d(%0) {ceil_mode = false, count_include_pad = false, kernel = [3, 2], layout = "NCHW", '
     "padding = [1, 1, 1, 1], stride = [2, 1]} : f32[N, 6, 3, 6]\n  return %1", "f32[N, 6, 3, 6]"),
    ('%1 = avg_pool2d(%0) {ceil_mode = false, count_include_pad = true, kernel = [3, 2], layout = "NCHW", '
     "padding = [1, 1, 1, 1], stride = [2, 1]} : f32[N, 6, 3, 6]\n  return %1", "f32[N, 6, 3, 6]"),
    ('%1 = global_avg_pool2d(%0) {layout = "NCHW"} : f32[N, 6, 1, 1]\n  return %1', "f32[N, 6, 1, 1]"),
])
def test_conv_and_pools(body: str, out: str) -> None:
    weights = {"w": floats(6, 2, 3, 3), "b": floats(6)}
    g = parse_graph(CONV.format(body=body, out=out, conv=CONV_ATTRS), weights=weights)
    assert_matches(g, lambda n: [floats(n, 4, 9, 9)])


def test_batch_norm_and_layer_norm() -> None:
    g = parse_graph("""graph @g(%x: f32[N, 2, 3, 4]) -> (f32[N, 2, 3, 4], f32[N, 2, 3, 4]) {
  %s = const {name = "s"} dense<[1.5, 0.5]> : f32[2]
  %b = const {name = "b"} dense<[0.1, -0.2]> : f32[2]
  %m = const {name = "m"} dense<[0.3, -0.1]> : f32[2]
  %v = const {name = "v"} dense<[2.0, 0.5]> : f32[2]
  %0 = batch_norm(%x, %s, %b, %m, %v) {epsilon = 0.001, layout = "NCHW"} : f32[N, 2, 3, 4]
  %1 = layer_norm(%x) {axis = 2, epsilon = 1e-05} : f32[N, 2, 3, 4]
  return %0, %1
}""")
    assert_matches(g, lambda n: [floats(n, 2, 3, 4)])


@pytest.mark.parametrize("op", ["sum", "mean", "max", "min", "prod"])
@pytest.mark.parametrize("axes,keep,shape", [("[1]", "false", "[N, 4]"), ("[-1, 0]", "true", "[1, 3, 1]"),
                                             ("none", "false", "[]"),
                                             ("[]", "false", "[N, 3, 4]")])
def test_reductions(op: str, axes: str, keep: str, shape: str) -> None:
    one_input(f"graph @g(%x: f32[N, 3, 4]) -> (f32{shape}) {{\n"
              f"  %0 = {op}(%x) {{axes = {axes}, keepdims = {keep}}} : f32{shape}\n  return %0\n}}",
              lambda n: (n, 3, 4))


@pytest.mark.parametrize("op", ["argmax", "argmin"])
@pytest.mark.parametrize("last", ["false", "true"])
def test_arg_reductions_with_ties(op: str, last: str) -> None:
    g = parse_graph(f"graph @g(%x: f32[N, 6]) -> (i64[N, 1]) {{\n"
                    f"  %0 = {op}(%x) {{axis = 1, keepdims = true, select_last_index = {last}}} : i64[N, 1]\n"
                    "  return %0\n}")
    assert_matches(g, lambda n: [RNG.integers(0, 3, (n, 6)).astype(np.float32)])


def test_reshapes_with_symbolic_targets_stay_dynamic() -> None:
    outs = "f32[M, N, 6], f32[N, M, 2, 3], f32[N*M, 6], f32[N, 6*M]"
    g = parse_graph("""graph @g(%x: f32[N, M, 6]) -> (OUTS) {
  %0 = reshape(%x) {shape = [M, N, 6]} : f32[M, N, 6]
  %1 = reshape(%x) {shape = [N, M, 2, 3]} : f32[N, M, 2, 3]
  %2 = reshape(%x) {shape = [N*M, 6]} : f32[N*M, 6]
  %3 = flatten(%x) {axis = 1} : f32[N, 6*M]
  return %0, %1, %2, %3
}""".replace("OUTS", outs))
    model = to_onnx(g)
    for n, m in ((2, 3), (4, 1)):
        x = floats(n, m, 6)
        for w, o in zip(run_graph(g, [x]), run_onnx(model, g, [x]), strict=True):
            np.testing.assert_array_equal(o, w)


def test_expand_to_a_symbolic_shape() -> None:
    g = parse_graph("""graph @g(%x: f32[N, 3], %y: f32[1, 3]) -> (f32[N, 3], f32[2, N, 3]) {
  %0 = expand(%y) {shape = [N, 3]} : f32[N, 3]
  %1 = add(%0, %x) : f32[N, 3]
  %2 = expand(%x) {shape = [2, N, 3]} : f32[2, N, 3]
  return %1, %2
}""")
    assert_matches(g, lambda n: [floats(n, 3), floats(1, 3)])


def test_shape_ops() -> None:
    outs = "f32[N, 7, 2], f32[N, 6], f32[1, N, 1, 6], f32[N, 1, 3], f32[6, 1, N], f32[N, 1, 11]"
    big = 2**62  # slice's "to the end"
    g = parse_graph("""graph @g(%x: f32[N, 1, 6], %i: i64[2]) -> (OUTS) {
  %0, %1 = split(%x) {axis = 2, sizes = [4, 2]} : f32[N, 1, 4], f32[N, 1, 2]
  %2 = concat(%1, %0, %1) {axis = 2} : f32[N, 1, 8]
  %3 = slice(%2) {axes = [2], ends = [-1], starts = [1], steps = none} : f32[N, 1, 6]
  %4 = slice(%3) {axes = [2, 1], ends = [-BIG, BIG], starts = [BIG, 0], steps = [-2, 1]} : f32[N, 1, 3]
  %5 = squeeze(%x) {axes = [1]} : f32[N, 6]
  %6 = unsqueeze(%x) {axes = [0]} : f32[1, N, 1, 6]
  %7 = gather(%5, %i) {axis = 1} : f32[N, 2]
  %8 = unsqueeze(%7) {axes = [1]} : f32[N, 1, 2]
  %9 = pad(%8) {mode = "constant", pads = [0, 3, 0, 0, 3, 0], value = 1.5} : f32[N, 7, 2]
  %10 = transpose(%x) {perm = none} : f32[6, 1, N]
  %11 = pad(%x) {mode = "reflect", pads = [0, 0, 3, 0, 0, 2], value = 0.0} : f32[N, 1, 11]
  %12 = pad(%11) {mode = "edge", pads = [0, 0, 0, 0, 0, 0], value = 0.0} : f32[N, 1, 11]
  return %9, %5, %6, %4, %10, %12
}""".replace("OUTS", outs).replace("BIG", str(big)))
    assert_matches(g, lambda n: [floats(n, 1, 6), np.array([-1, 2], np.int64)])


def test_symbolic_dims_become_dim_params() -> None:
    g = parse_graph("graph @g(%x: f32[N, H, H//2]) -> (f32[N, H, H//2]) {\n"
                    "  %0 = relu(%x) : f32[N, H, H//2]\n  return %0\n}")
    model = to_onnx(g)
    (inp,), (out,) = model.graph.input, model.graph.output
    assert [d.dim_param for d in inp.type.tensor_type.shape.dim] == ["N", "H", "H//2"]
    assert [d.dim_param for d in out.type.tensor_type.shape.dim] == ["N", "H", "H//2"]
    assert inp.type.tensor_type.elem_type == onnx.TensorProto.FLOAT


def test_constants_become_initializers_once_and_model_saves(tmp_path) -> None:  # noqa: ANN001
    g = parse_graph("""graph @g(%x: f32[N, 2]) -> (f32[N, 2]) {
  %c = const {name = "scale"} dense<[0.5, 2.0]> : f32[2]
  %d = const {name = "scale"} dense<[0.5, 2.0]> : f32[2]
  %0 = mul(%x, %c) : f32[N, 2]
  %1 = add(%0, %d) : f32[N, 2]
  return %1
}""")
    path = tmp_path / "g.onnx"
    model = to_onnx(g, str(path))
    assert [i.name for i in model.graph.initializer] == ["scale"]
    assert onnx.load(str(path)) == model


def test_an_input_returned_twice_gets_distinct_outputs() -> None:
    g = parse_graph("graph @g(%x: f32[N]) -> (f32[N], f32[N]) {\n  return %x, %x\n}")
    assert_matches(g, lambda n: [floats(n)])


def test_fused_region_is_exported_inline() -> None:
    g = parse_graph("""graph @dense(%x: f32[N, 4], %w: f32[4, 3], %b: f32[3]) -> (f32[N, 3]) {
  %0 = fused(%x, %w, %b) {kind = "matmul+add+relu"} : f32[N, 3] {
    ^(%a, %ww, %bb)
    %1 = matmul(%a, %ww) : f32[N, 3]
    %2 = add(%1, %bb) : f32[N, 3]
    %3 = relu(%2) : f32[N, 3]
    yield %3
  }
  return %0
}""")
    assert_matches(g, lambda n: [floats(n, 4), floats(4, 3), floats(3)])


def test_every_registered_op_has_an_exporter() -> None:
    assert {op.name for op in all_ops()} - set(export_ops.EXPORTERS) == set()


def test_unsupported_ops_are_all_listed_with_locations(monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.delitem(export_ops.EXPORTERS, "sin")
    monkeypatch.delitem(export_ops.EXPORTERS, "global_avg_pool2d")
    g = parse_graph("""graph @g(%x: f32[N, 4, 4, 2], %y: f32[N]) -> (f32[N, 4, 4, 2], f32[N]) {
  %0 = global_avg_pool2d(%x) {layout = "NHWC"} : f32[N, 1, 1, 2]    # model.py:3
  %1 = sin(%y) : f32[N]    # model.py:4
  %2 = fused(%y) {kind = "sin"} : f32[N] {
    ^(%a)
    %3 = sin(%a) : f32[N]    # model.py:5
    yield %3
  }
  return %x, %2
}""")
    with pytest.raises(UnsupportedError) as info:
        to_onnx(g)
    text = str(info.value)
    assert "4 unsupported" in text
    for where in ("global_avg_pool2d at model.py:3", "sin at model.py:4", "sin at model.py:5", "fused"):
        assert where in text


def test_old_opsets_are_refused() -> None:
    g = parse_graph("graph @g(%x: f32[N]) -> (f32[N]) {\n  %0 = relu(%x) : f32[N]\n  return %0\n}")
    with pytest.raises(UnsupportedError, match="opset >= 18"):
        to_onnx(g, opset=17)


@pytest.mark.parametrize("opset", [18, 20])
def test_gelu_at_both_opsets(opset: int) -> None:
    g = parse_graph("graph @g(%x: f32[N]) -> (f32[N]) {\n  %0 = gelu(%x) : f32[N]\n  return %0\n}")
    x = floats(7)
    np.testing.assert_allclose(run_onnx(to_onnx(g, opset=opset), g, [x])[0], run_graph(g, [x])[0], rtol=1e-5)


MODELS = {
    "mlp": (lambda: mlp.build_mlp().to_graph(), lambda n: [mlp.fake_inputs(n)]),
    "mnist": (lambda: mnist.mnist.to_graph(), lambda n: [mnist.fake_digits(n)[0]]),
    "resnet18": (lambda: resnet18.resnet18(64).to_graph(), lambda n: [resnet18.fake_images(n, 64)]),
    "transformer": (lambda: transformer.transformer_encoder().to_graph(),
                    lambda n: [transformer.fake_sequences(n, 3 + n)]),
}


@pytest.mark.parametrize("opt", [0, 2])
@pytest.mark.parametrize("name", list(MODELS))
def test_reference_models(name: str, opt: int) -> None:
    build, make_inputs = MODELS[name]
    graph = build()
    if opt:
        graph = run_pipeline(graph, None, opt).graph
        assert any(node.op.name == "fused" for node in graph.nodes)
    model = to_onnx(graph)
    batch = model.graph.input[0].type.tensor_type.shape.dim[0]
    assert batch.dim_param == "N"
    assert_matches(graph, make_inputs, batches=(1, 3))


@pytest.mark.parametrize("name", ["mnist", "resnet18"])
def test_channels_last_graphs_export_with_transposes_around_each_image_op(name: str) -> None:
    build, make_inputs = MODELS[name]
    graph = run_pipeline(build(), "shape-infer,layout{prefer=nhwc}").graph
    assert any(getattr(n.attrs, "layout", None) == "NHWC" for n in graph.nodes)
    model = to_onnx(graph)
    assert any(n.op_type == "Transpose" for n in model.graph.node)
    assert_matches(graph, make_inputs, batches=(1, 2))


def test_nhwc_batch_norm_and_pools_export() -> None:
    g = parse_graph("""graph @g(%x: f32[N, 6, 6, 3]) -> (f32[N, 3, 3, 3], f32[N, 1, 1, 3]) {
  %m = const {name = "m"} dense<[0.5, -1.0, 2.0]> : f32[3]
  %v = const {name = "v"} dense<[1.0, 0.5, 2.0]> : f32[3]
  %0 = batch_norm(%x, %m, %v, %m, %v) {epsilon = 0.001, layout = "NHWC"} : f32[N, 6, 6, 3]
  %1 = max_pool2d(%0) {kernel = [2, 2], layout = "NHWC"} : f32[N, 3, 3, 3]
  %2 = avg_pool2d(%1) {kernel = [3, 3], layout = "NHWC"} : f32[N, 1, 1, 3]
  return %1, %2
}""")
    assert_matches(g, lambda n: [floats(n, 6, 6, 3)])
