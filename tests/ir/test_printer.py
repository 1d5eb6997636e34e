"""The printer: exact text of nodes, names, attributes, constants, locations and properties."""

from __future__ import annotations

import zipfile

import ml_dtypes
import numpy as np
import pytest

from axiom.ir import Attrs, Builder, Graph, Loc, PropertyDecl, TensorType, parse_graph, print_graph, sym
from axiom.ir.dtypes import ALL_DTYPES, bf16, f16, f32, f64, i8, i32
from axiom.ir.opdef import has_op

N = sym("N")


def body(g: Graph, **options: object) -> list[str]:
    """The printed lines between the header and the closing brace."""
    return print_graph(g, **options).splitlines()[1:-1]  # type: ignore[arg-type]


def mnist_like() -> Graph:
    g = Graph("mnist")
    x = g.add_input("x", TensorType(f32, [N, 1, 28, 28]))
    b = Builder(g)
    w = b.constant(np.zeros((32, 1, 3, 3), np.float32), name="conv1.weight")
    w.name, w.producer.loc = "w0", Loc("model.py", 5, "conv1.weight")
    bias = b.constant(np.zeros(32, np.float32), name="conv1.bias")
    bias.name = "b0"
    y = b.op("conv2d", x, w, bias, padding=[1, 1, 1, 1], loc=Loc("model.py", 12))
    y = b.op("flatten", b.op("max_pool2d", y, kernel=[2, 2]))
    left, right = b.op("split", y, axis=1, sizes=[3136, 3136])
    p = b.op("softmax", b.op("add", left, right))
    g.properties.append(PropertyDecl("ensure", "valid_probabilities", [p], Attrs({"axis": -1}),
                                     Loc("model.py", 20)))
    g.set_outputs([p])
    return g


def test_prints_the_documented_form() -> None:
    assert print_graph(mnist_like()).splitlines() == [
        "graph @mnist(%x: f32[N, 1, 28, 28]) -> (f32[N, 3136]) {",
        '  %w0 = const {name = "conv1.weight"} : f32[32, 1, 3, 3]    # conv1.weight @ model.py:5',
        '  %b0 = const {name = "conv1.bias"} : f32[32]',
        '  %0 = conv2d(%x, %w0, %b0) {dilation = [1, 1], groups = 1, layout = "NCHW", '
        "padding = [1, 1, 1, 1], stride = [1, 1]} : f32[N, 32, 28, 28]    # model.py:12",
        '  %1 = max_pool2d(%0) {ceil_mode = false, dilation = [1, 1], kernel = [2, 2], layout = "NCHW", '
        "padding = [0, 0, 0, 0], stride = none} : f32[N, 32, 14, 14]",
        "  %2 = flatten(%1) {axis = 1} : f32[N, 6272]",
        "  %3, %4 = split(%2) {axis = 1, sizes = [3136, 3136]} : f32[N, 3136], f32[N, 3136]",
        "  %5 = add(%3, %4) : f32[N, 3136]",
        "  %6 = softmax(%5) {axis = -1} : f32[N, 3136]",
        "  ensure valid_probabilities(%6) {axis = -1}    # model.py:20",
        "  return %6",
        "}",
    ]


def test_str_of_a_graph_is_its_text() -> None:
    g = mnist_like()
    assert str(g) == print_graph(g)


def test_value_names_keep_valid_unique_hints_and_number_the_rest() -> None:
    g = Graph("names")
    x = g.add_input("x", TensorType(f32, [N]))
    b = Builder(g)
    a = b.relu(x)
    a.name = "act"  # valid and unique: kept
    d1, d2 = b.exp(a), b.exp(a)
    d1.name = d2.name = "dup"  # not unique: both numbered
    bad = b.neg(a)
    bad.name = "not valid"  # not an identifier: numbered
    one = b.sin(a)
    one.name = "1"  # a digit name is kept, and numbering skips 1
    g.set_outputs([b.add(d1, d2), bad, one])
    assert body(g) == [
        "  %act = relu(%x) : f32[N]",
        "  %0 = exp(%act) : f32[N]",
        "  %2 = exp(%act) : f32[N]",
        "  %3 = neg(%act) : f32[N]",
        "  %1 = sin(%act) : f32[N]",
        "  %4 = add(%0, %2) : f32[N]",
        "  return %4, %3, %1",
    ]


def test_attribute_literals() -> None:
    g = Graph("attrs")
    x = g.add_input("x", TensorType(f32, [N, 4]))
    b = Builder(g)
    outs = [b.op("leaky_relu", x, alpha=1e-05), b.op("leaky_relu", x, alpha=float("-inf")),
            b.op("leaky_relu", x, alpha=-0.0), b.op("leaky_relu", x, alpha=float("nan")),
            b.op("clip", x, max=2), b.op("gelu", x, approximate='t"a\nh'), b.op("cast", x, to=bf16)]
    g.set_outputs(outs)
    assert [line.split(" : ")[0] for line in body(g)[:-1]] == [
        "  %0 = leaky_relu(%x) {alpha = 1e-05}",
        "  %1 = leaky_relu(%x) {alpha = -inf}",
        "  %2 = leaky_relu(%x) {alpha = -0.0}",
        "  %3 = leaky_relu(%x) {alpha = nan}",
        "  %4 = clip(%x) {max = 2.0, min = none}",
        '  %5 = gelu(%x) {approximate = "t\\"a\\nh"}',
        "  %6 = cast(%x) {to = bf16}",
    ]


@pytest.mark.skipif(not (has_op("reshape") and has_op("sum")), reason="shape/reduction ops not registered")
def test_symbolic_dims_and_bool_attributes() -> None:
    H = sym("H")
    g = Graph("dims")
    x = g.add_input("x", TensorType(f32, [N, (H - 1) // 2 + 1, 2 * (H // 2)]))
    b = Builder(g)
    r = b.op("reshape", x, shape=[N, ((H - 1) // 2 + 1) * 2 * (H // 2)])
    g.set_outputs([b.op("sum", r, axes=[1], keepdims=True)])
    lines = body(g)
    flat = "2*((H - 1)//2 + 1)*(H//2)"  # a//b as a factor keeps its parentheses
    assert lines[0] == f"  %0 = reshape(%x) {{shape = [N, {flat}]}} : f32[N, {flat}]"
    assert lines[1] == "  %1 = sum(%0) {axes = [1], keepdims = true} : f32[N, 1]"
    header = "graph @dims(%x: f32[N, (H - 1)//2 + 1, 2*(H//2)]) -> (f32[N, 1]) {"
    assert print_graph(g).splitlines()[0] == header
    assert print_graph(parse_graph(print_graph(g))) == print_graph(g)


def const_graph(*arrays: np.ndarray) -> Graph:
    g = Graph("c")
    b = Builder(g)
    g.set_outputs([b.constant(a, name=f"c{i}") for i, a in enumerate(arrays)])
    return g


def test_small_constants_print_inline_large_ones_elided() -> None:
    g = const_graph(np.arange(16, dtype=np.float32), np.arange(17, dtype=np.float32))
    lines = body(g)
    assert lines[0] == ('  %0 = const {name = "c0"} dense<[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, '
                        '10.0, 11.0, 12.0, 13.0, 14.0, 15.0]> : f32[16]')
    assert lines[1] == '  %1 = const {name = "c1"} : f32[17]'
    assert "dense<[0.0, 1.0" in body(g, constants="inline")[1]
    assert "dense" not in body(g, inline_limit=0)[0]


def test_dense_data_nests_like_the_shape() -> None:
    g = const_graph(np.array(1.5, np.float64), np.array([[1, -2], [3, 4]], np.int8),
                    np.zeros((2, 0), np.int32), np.array([True, False]),
                    np.array([2**63 - 1, -(2**63)], np.int64))
    assert [line.split(" dense")[1] for line in body(g)[:-1]] == [
        "<1.5> : f64[]", "<[[1, -2], [3, 4]]> : i8[2, 2]", "<[[], []]> : i32[2, 0]",
        "<[true, false]> : bool[2]", "<[9223372036854775807, -9223372036854775808]> : i64[2]",
    ]


def test_float_data_prints_shortest_decimals_and_hex_for_nan_payloads() -> None:
    payload = np.array([0x7E01, 0xFE00], np.uint16).view(np.float16)
    g = const_graph(np.array([0.1, -0.0, np.inf, np.nan], np.float32), payload,
                    np.array([0.1], ml_dtypes.bfloat16))
    lines = body(g)
    assert "dense<[0.1, -0.0, inf, nan]>" in lines[0]
    assert "dense<[0x7E01, 0xFE00]>" in lines[1]
    assert "dense<[0.100097656]>" in lines[2]  # the f32 shortest text of the bf16 value


@pytest.mark.parametrize("dtype", [f16, bf16], ids=str)
def test_every_half_precision_bit_pattern_round_trips(dtype) -> None:  # noqa: ANN001
    bits = np.arange(0, 2**16, 7, dtype=np.uint16)
    g = const_graph(bits.view(dtype.np_dtype))
    back = parse_graph(print_graph(g, constants="inline")).constants["c0"]
    assert back.dtype == dtype.np_dtype
    assert np.array_equal(back.view(np.uint16), bits)


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=str)
def test_every_dtype_round_trips_inline(dtype) -> None:  # noqa: ANN001
    rng = np.random.default_rng(0)
    raw = rng.integers(0, 256, 12 * dtype.itemsize, dtype=np.uint8)
    data = (raw % 2).astype(bool) if dtype.is_bool else raw.view(dtype.np_dtype)
    back = parse_graph(print_graph(const_graph(data.reshape(3, -1)))).constants["c0"]
    assert back.dtype == data.dtype and back.tobytes() == data.tobytes()


def test_file_mode_writes_every_constant(tmp_path) -> None:  # noqa: ANN001
    data = [np.arange(4, dtype=np.float32), np.ones((5, 5), ml_dtypes.bfloat16)]
    g = const_graph(*data)
    path = tmp_path / "w.npz"
    text = print_graph(g, constants="file", weights=path)
    assert text == print_graph(g)
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == ["c0.npy", "c1.npy"]
    with np.load(path) as z:
        assert z["c1"].dtype == np.uint16  # bf16 travels as its bit pattern
        assert np.array_equal(z["c0"], data[0])


def test_bad_constant_options_are_errors() -> None:
    g = const_graph(np.zeros(2, np.float32))
    with pytest.raises(ValueError, match="needs weights="):
        print_graph(g, constants="file")
    with pytest.raises(ValueError, match="choose one of elide, inline, file"):
        print_graph(g, constants="all")


def test_locations_print_as_trailing_comments_in_parseable_form() -> None:
    g = Graph("locs")
    x = g.add_input("x", TensorType(i32, [3]))
    b = Builder(g)
    locs = [Loc("model.py", 12), Loc("m.py", 3, "fc1  weight\n"), Loc(None, None, "onnx::Conv_3"),
            Loc(None, None, "node:007"), Loc()]
    g.set_outputs([b.op("abs", x, loc=loc) for loc in locs])
    assert [line.partition("#")[2] for line in body(g)[:-1]] == [
        " model.py:12", ' "fc1  weight\\n" @ m.py:3', ' "onnx::Conv_3"', ' "node:007"', ""]
    assert [Loc.parse(line.partition("# ")[2]) for line in body(g)[:-2]] == locs[:-1]


def test_properties_and_empty_outputs() -> None:
    g = Graph("my model")
    x = g.add_input("x", TensorType(f64, [N]))
    params = Attrs({"hi": 1.0, "lo": -1, "tag": [1, i8]})
    g.properties.append(PropertyDecl("prove", "bounded", [x, x], params))
    g.properties.append(PropertyDecl("ensure", "odd name", [x], Attrs({}), Loc("m.py", 1)))
    assert print_graph(g).splitlines() == [
        'graph @"my model"(%x: f64[N]) -> () {',
        "  prove bounded(%x, %x) {hi = 1.0, lo = -1, tag = [1, i8]}",
        '  ensure "odd name"(%x)    # m.py:1',
        "  return",
        "}",
    ]
