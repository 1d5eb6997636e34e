"""The parser: hand-written text reads into the graph it describes, and every error names
its line and column with what was expected."""

from __future__ import annotations

import textwrap

import ml_dtypes
import numpy as np
import pytest

from axiom.backends.numpy.interpreter import run_graph
from axiom.ir import Loc, ParseError, parse_graph, print_graph, verify
from axiom.ir.dtypes import bf16, f32, i64

SMALL = textwrap.dedent("""\
    # a comment before the graph

    graph @small(%x: f32[N, 4], %y: f32[N, 4]) -> (f32[N, 2], f32[N]) {
      # a comment inside
      %c = const {name = "scale"} dense<[1.0, 2.0, 3.0, 4.0]> : f32[4]

      %0   =   mul( %x , %c )   :   f32[N, 4]     # model.py:3
    \t%1 = add(%0, %y) : f32[N, 4]
      %a, %b = split(%1) {axis = 1, sizes = [2, 2]} : f32[N, 2], f32[N, 2]    # split @ model.py:4
      %2 = maximum(%a, %b) : f32[N, 2]
      %3 = sum(%2) {axes = [1], keepdims = false} : f32[N]
      ensure finite(%3) {limit = 1e+30}    # model.py:9
      return %2, %3   # a comment after return
    }
    # a comment after the graph
    """)


def test_parses_structure_names_locations_and_properties() -> None:
    g = parse_graph(SMALL)
    verify(g)
    assert g.name == "small"
    assert [(v.name, str(v.type)) for v in g.inputs] == [("x", "f32[N, 4]"), ("y", "f32[N, 4]")]
    assert [n.op.name for n in g.nodes] == ["const", "mul", "add", "split", "maximum", "sum"]
    split = g.nodes[3]
    assert [r.name for r in split.results] == ["a", "b"]
    assert split.attrs["sizes"] == (2, 2) and split.loc == Loc("model.py", 4, "split")
    assert g.nodes[1].loc == Loc("model.py", 3) and g.nodes[2].loc is None
    assert [v.name for v in g.outputs] == ["2", "3"]
    (prop,) = g.properties
    assert (prop.kind, prop.name, prop.args, dict(prop.params)) == ("ensure", "finite", [g.outputs[1]],
                                                                    {"limit": 1e30})
    assert prop.loc == Loc("model.py", 9)


def test_parsed_graph_computes_what_the_text_says() -> None:
    g = parse_graph(SMALL)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((2, 3, 4)).astype(np.float32)
    m, s = run_graph(g, [x, y])
    z = x * np.float32([1, 2, 3, 4]) + y
    expect = np.maximum(z[:, :2], z[:, 2:])
    np.testing.assert_array_equal(m, expect)
    np.testing.assert_allclose(s, expect.sum(axis=1), rtol=1e-6)


def test_canonical_text_is_printed_back_unchanged() -> None:
    text = print_graph(parse_graph(SMALL))
    assert text.splitlines()[2] == "  %0 = mul(%x, %c) : f32[N, 4]    # model.py:3"
    assert print_graph(parse_graph(text)) == text


def test_symbolic_dims_and_dtypes_parse() -> None:
    g = parse_graph("graph @g(%x: f32[(H - 1)//2 + 1, 2*(W//2)]) -> (i64[(H - 1)//2 + 1, 2*(W//2)]) {\n"
                    "  %0 = cast(%x) {to = i64} : i64[(H - 1)//2 + 1, 2*(W//2)]\n  return %0\n}")
    assert g.nodes[0].attrs.to == i64
    assert str(g.outputs[0].type) == "i64[(H - 1)//2 + 1, 2*(W//2)]"


ELIDED = ('graph @w(%x: f32[2]) -> (f32[2], bf16[3]) {\n  %w = const {name = "fc.w"} : f32[2]\n'
          '  %h = const {name = "half"} : bf16[3]\n  %0 = add(%x, %w) : f32[2]\n  return %0, %h\n}')


def test_elided_constants_are_missing_until_weights_fill_them(tmp_path) -> None:  # noqa: ANN001
    assert parse_graph(ELIDED).missing_constants() == ["fc.w", "half"]
    w = np.float32([1.5, -2])
    half = np.array([1, 2, 3], ml_dtypes.bfloat16)
    from_dict = parse_graph(ELIDED, weights={"fc.w": w})
    assert from_dict.missing_constants() == ["half"]
    np.save(tmp_path / "unused.npy", w)
    np.savez(tmp_path / "w.npz", **{"fc.w": w, "half": half.view(np.uint16)})
    g = parse_graph(ELIDED, weights=tmp_path / "w.npz")
    assert g.missing_constants() == []
    assert g.constants["half"].dtype == bf16.np_dtype and g.constants["half"].tolist() == [1, 2, 3]
    out, _ = run_graph(g, [np.float32([1, 1])])
    np.testing.assert_array_equal(out, np.float32([2.5, -1]))


def test_weights_that_do_not_match_the_declared_type_are_errors() -> None:
    want = r"weights\['fc.w'\] is float64\[2\] but the IR declares f32\[2\]"
    with pytest.raises(ParseError, match=want) as e:
        parse_graph(ELIDED, weights={"fc.w": np.zeros(2)})
    assert e.value.line == 2
    with pytest.raises(ParseError, match=r"is float32\[3\] but the IR declares f32\[2\]"):
        parse_graph(ELIDED, weights={"fc.w": np.zeros(3, np.float32)})


def test_dense_rank0_empty_and_extreme_values() -> None:
    g = parse_graph("graph @c() -> (f64[], i8[0, 2], u8[2], f32[1]) {\n"
                    '  %0 = const {name = "a"} dense<-0.0> : f64[]\n'
                    '  %1 = const {name = "b"} dense<[]> : i8[0, 2]\n'
                    '  %2 = const {name = "c"} dense<[0, 255]> : u8[2]\n'
                    '  %3 = const {name = "d"} dense<[0x7FC00001]> : f32[1]\n'
                    "  return %0, %1, %2, %3\n}")
    a, b, c, d = (g.constants[k] for k in "abcd")
    assert a.shape == () and np.signbit(a) and b.shape == (0, 2) and c.tolist() == [0, 255]
    assert d.dtype == f32.np_dtype and d.view(np.uint32)[0] == 0x7FC00001


def err(text: str) -> ParseError:
    with pytest.raises(ParseError) as e:
        parse_graph(textwrap.dedent(text))
    return e.value


HEAD = "graph @g(%x: f32[N], %k: i32[N]) -> (f32[N]) {\n"


@pytest.mark.parametrize(("body", "line", "col", "message"), [
    ("  %0 = foo(%x) : f32[N]\n", 2, 8, "unknown op 'foo'"),
    ("  %0 = relu(%7) : f32[N]\n", 2, 13, "use of undefined value %7"),
    ("  %0 = relu(%x)\n", 2, 16, "expected ':' after result list"),
    ("  %0 = relu(%x) : f32[N]\n  %0 = exp(%x) : f32[N]\n", 3, 3,
     "redefinition of %0 (first defined on line 2)"),
    ("  %x = relu(%x) : f32[N]\n", 2, 3, "redefinition of %x (first defined on line 1)"),
    ("  %0 = relu(%x) : f32[M]\n", 2, 8, "relu: declared type f32[M] but the op infers f32[N]"),
    ("  %0 = add(%x, %k) : f32[N]\n", 2, 8, "add: operands must have one dtype"),
    ("  %0 = add(%x, %x) {alpha = 1} : f32[N]\n", 2, 21, "unknown attribute 'alpha' of op 'add'"),
    ("  %0 = leaky_relu(%x) {alpha = true} : f32[N]\n", 2, 32, "attribute 'alpha' expects float"),
    ("  %0 = cast(%x) : f32[N]\n", 2, 17, "cast: missing required attribute 'to'"),
    ("  %0 = cast(%x) {to = f31} : f32[N]\n", 2, 23, "expects dtype"),
    ("  %0 = relu(%x) : f31[N]\n", 2, 19, "unknown dtype 'f31'"),
    ("  %0 = relu(%x) : f32[N +]\n", 2, 23, "invalid dimension 'N +'"),
    ("  %0, %1 = relu(%x) : f32[N], f32[N]\n", 2, 12, "relu defines 1 result(s) but 2 name(s) are given"),
    ("  %0 = relu(%x) dense<[1.0]> : f32[N]\n", 2, 17, "dense<...> data belongs to const nodes"),
    ('  %0 = const {name = "c"} dense<[1.0, 2.0]> : f32[3]\n', 2, 33, "expected a list of 3 items"),
    ('  %0 = const {name = "c"} dense<[1, 300]> : i8[2]\n', 2, 37, "300 is out of range for i8"),
    ('  %0 = const {name = "c"} dense<[1.0]> : f32[N]\n', 2, 33, "dense data needs a static type"),
    ('  %0 = const {name = "c} : f32[2]\n', 2, 22, "bad string literal"),
    ("  %0 = relu(%x) : f32[N] oops\n", 2, 26, "unexpected 'oops' after the relu node"),
    ("  %0 = relu(%x : f32[N]\n", 2, 16, "expected ',' or ')' after an operand"),
    ("  return %k\n", 2, 10, "returned value has type i32[N] but the graph header declares f32[N]"),
    ("  return %x, %x\n", 2, 3, "return gives 2 values but the graph header declares 1 result types"),
    ("  %0 = relu(%x) : f32[N]\n", 3, 1, "has no return statement"),
    ("  return %x\n  %0 = relu(%x) : f32[N]\n", 3, 3, "expected '}' after the return statement"),
    ("  ensure finite(%x) {bound = ?}\n  return %x\n", 2, 30, "cannot read value '?'"),
    ("  %0 = relu(%x) : f32[N]\n  return %0\n}\ngraph @h() -> () {\n", 5, 1, "a text holds one graph"),
])
def test_errors_point_at_line_and_column(body: str, line: int, col: int, message: str) -> None:
    text = HEAD + body + ("" if body.rstrip().endswith("{") or "graph @h" in body else "}\n")
    e = err(text)
    assert (e.line, e.column) == (line, col), str(e)
    assert message in str(e)
    assert e.source_line == text.splitlines()[line - 1]


@pytest.mark.parametrize(("text", "line", "col", "message"), [
    ("", 1, 1, "expected 'graph @name(...) -> (...) {', found end of input"),
    ("# only a comment\n", 1, 1, "found end of input"),
    ("grap @g() -> () {\n}", 1, 1, "expected 'graph @name(...) -> (...) {'"),
    ("graph g() -> () {\n}", 1, 7, "expected '@' and the graph name"),
    ("graph @g(%x f32[N]) -> () {\n}", 1, 13, "expected ':' and the type of input %x"),
    ("graph @g(%x: f32[N]) () {\n}", 1, 22, "expected '->' and the result types"),
    ("graph @g(%x: f32[N], %x: f32[N]) -> () {\n}", 1, 22, "redefinition of %x"),
    ("graph @g() -> () {\n  return\n", 3, 1, "expected '}' to close graph @g"),
    ("graph @g() -> () {\n  %1a = relu(%x) : f32[N]\n}", 2, 3, "invalid value name %1a"),
])
def test_header_and_structure_errors(text: str, line: int, col: int, message: str) -> None:
    e = err(text)
    assert (e.line, e.column) == (line, col), str(e)
    assert message in str(e)


def test_error_text_shows_the_line_and_a_caret() -> None:
    e = err(HEAD + "  %0 = relu(%7) : f32[N]\n  return %0\n}\n")
    assert str(e).splitlines() == ["2:13: use of undefined value %7", "    %0 = relu(%7) : f32[N]",
                                   "              ^"]


def test_unknown_op_suggests_close_names() -> None:
    assert "did you mean relu" in str(err(HEAD + "  %0 = reluu(%x) : f32[N]\n  return %0\n}"))
