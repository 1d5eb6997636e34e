"""Graph.to_dot: what the picture holds (ops, inputs, outputs, constants, typed edges,
property notes, locations, clusters for nodes with a body), that odd names cannot break the
DOT syntax, and that Graphviz accepts the text (``dot -Tsvg`` where the program exists; the
strict little DOT reader below checks the syntax everywhere)."""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

import numpy as np
import pytest

from axiom.examples.mnist import mnist
from axiom.ir import AxiomError, Builder, Graph, Loc, Node, PropertyDecl, TensorType, Value, sym
from axiom.ir.dot import attr_summary, compact, node_body, quote, to_dot
from axiom.ir.opdef import Attrs
from axiom.ir.parser import parse_graph

N = sym("N")
T4 = TensorType("f32", [N, 4])


# ---- a strict reader of the DOT this module writes --------------------------------------------
_TOKEN = re.compile(r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<id>[A-Za-z_][A-Za-z0-9_]*|-?[0-9.]+)'
                    r"|(?P<arrow>->)|(?P<punct>[{}\[\]=;,]))", re.S)


def _unquote(text: str) -> str:
    """The string a quoted DOT ID stands for (the inverse of axiom.ir.dot.quote)."""
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), text[1:-1])


@dataclass
class Dot:
    """What a DOT text declares: nodes and their attributes, edges, clusters and their members."""

    name: str = ""
    graph: dict[str, str] = field(default_factory=dict)
    nodes: dict[str, dict[str, str]] = field(default_factory=dict)
    edges: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    clusters: dict[str, dict[str, str]] = field(default_factory=dict)
    members: dict[str, list[str]] = field(default_factory=dict)  # cluster -> nodes and clusters
    parent: dict[str, str] = field(default_factory=dict)  # node or cluster -> enclosing cluster

    def labels(self, **style: str) -> list[str]:
        return [a["label"] for a in self.nodes.values() if all(a.get(k) == v for k, v in style.items())]

    def node_labelled(self, label: str) -> str:
        found = [k for k, a in self.nodes.items() if a.get("label") == label]
        assert len(found) == 1, (label, found)
        return found[0]


def parse_dot(text: str) -> Dot:
    """Read ``digraph ID { stmt* }``; any token out of place fails the test."""
    tokens, pos = [], 0
    while text[pos:].strip():
        m = _TOKEN.match(text, pos)
        assert m is not None, f"bad DOT token at {text[pos:pos + 40]!r}"
        tokens.append(m.group(m.lastgroup))
        pos = m.end()
    doc, it = Dot(), iter(tokens + ["<end>"])
    look = [next(it)]

    def take(want: str | None = None) -> str:
        tok = look[0]
        assert want is None or tok == want, f"expected {want!r}, got {tok!r}"
        look[0] = next(it)
        return tok

    def ident() -> str:
        tok = take()
        assert tok not in "{}[]=;,->", f"expected an ID, got {tok!r}"
        return _unquote(tok) if tok.startswith('"') else tok

    def attrs() -> dict[str, str]:
        out: dict[str, str] = {}
        take("[")
        while look[0] != "]":
            key = ident()
            take("=")
            out[key] = ident()
            if look[0] == ",":
                take(",")
        take("]")
        return out

    def body(scope: str) -> None:
        take("{")
        while look[0] != "}":
            if look[0] in ("graph", "node", "edge"):
                kind = take()
                a = attrs()
                if kind == "graph":
                    (doc.clusters[scope] if scope else doc.graph).update(a)
            elif look[0] == "subgraph":
                take()
                name = ident()
                doc.clusters[name], doc.members[name] = {}, []
                if scope:
                    doc.members[scope].append(name)
                    doc.parent[name] = scope
                body(name)
                continue  # a subgraph needs no ';'
            else:
                src = ident()
                if look[0] == "->":
                    take()
                    dst = ident()
                    doc.edges.append((src, dst, attrs() if look[0] == "[" else {}))
                else:
                    assert src not in doc.nodes, f"node {src} declared twice"
                    doc.nodes[src] = attrs() if look[0] == "[" else {}
                    if scope:
                        doc.members[scope].append(src)
                        doc.parent[src] = scope
            take(";")
        take("}")

    take("digraph")
    doc.name = ident()
    body("")
    assert look[0] == "<end>", f"text after the graph: {look[0]!r}"
    for src, dst, _ in doc.edges:
        assert src in doc.nodes and dst in doc.nodes, f"edge {src} -> {dst} names an undeclared node"
    return doc


def check(text: str) -> Dot:
    """Parse the DOT text strictly, and have Graphviz render it where ``dot`` is installed."""
    doc = parse_dot(text)
    if shutil.which("dot"):
        svg_text(text)
    return doc


def svg_text(text: str) -> str:
    """Every text run of the SVG that ``dot -Tsvg`` makes of ``text`` (which must raise no warning)."""
    if not shutil.which("dot"):
        pytest.skip("the Graphviz `dot` program is not installed")
    proc = subprocess.run(["dot", "-Tsvg"], input=text.encode(), capture_output=True, check=False)
    assert proc.returncode == 0 and not proc.stderr, proc.stderr.decode()
    root = ET.fromstring(proc.stdout)
    return "\n".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))


# ---- the MNIST picture ------------------------------------------------------------------------
def test_mnist_has_one_box_per_op_and_typed_edges():
    graph = mnist.to_graph()
    doc = check(graph.to_dot())
    ops = doc.labels(shape="box", style="rounded,filled")
    assert len(ops) == sum(n.op.name != "const" for n in graph.nodes) == 12
    assert ops.count("conv2d\npadding=1") == 2 and ops.count("max_pool2d\nkernel=2") == 2
    assert "softmax" in ops and "linear" in ops  # default attributes are left out
    [x] = doc.labels(shape="invhouse")
    [out] = doc.labels(shape="house")
    assert (x, out) == ("x\nf32[N, 1, 28, 28]", "output")
    labels = [a.get("label") for _, _, a in doc.edges]
    for t in ("f32[N, 1, 28, 28]", "f32[N, 32, 28, 28]", "f32[N, 64, 7, 7]", "f32[N, 3136]", "f32[N, 10]"):
        assert t in labels
    conv = next(k for k, a in doc.nodes.items() if a["label"].startswith("conv2d\n"))
    assert "axiom/examples/mnist.py:22" in doc.nodes[conv]["tooltip"]
    assert "conv2d(%x, %0, %1)" in doc.nodes[conv]["tooltip"]


def test_mnist_constants_small_or_hidden():
    graph = mnist.to_graph()
    shown = check(graph.to_dot())
    consts = shown.labels(shape="box", style="filled")
    assert "conv2d_0.weight\nf32[32, 1, 3, 3]" in consts and len(consts) == 8
    assert all(shown.nodes[shown.node_labelled(c)]["fontsize"] == "8" for c in consts)
    hidden = check(graph.to_dot(constants=False))
    assert hidden.labels(shape="box", style="filled") == []
    assert len(hidden.nodes) == len(shown.nodes) - 8
    assert len(hidden.edges) == len(shown.edges) - 8
    op_style = {"shape": "box", "style": "rounded,filled"}
    assert hidden.labels(**op_style) == shown.labels(**op_style)


def test_mnist_property_is_a_note_on_its_value():
    doc = check(mnist.to_graph().to_dot())
    note = doc.node_labelled("ensure valid_probabilities\naxis=-1")
    assert doc.nodes[note]["shape"] == "note"
    assert "axiom/examples/mnist.py:23" in doc.nodes[note]["tooltip"]
    [(src, _, attrs)] = [e for e in doc.edges if e[1] == note]
    assert doc.nodes[src]["label"] == "softmax" and attrs["arrowhead"] == "none"
    assert check(mnist.to_graph().to_dot(properties=False)).labels(shape="note") == []


def test_mnist_renders_as_svg():
    texts = svg_text(mnist.to_graph().to_dot())
    for part in ("@mnist", "conv2d", "padding=1", "f32[N, 32, 28, 28]", "ensure valid_probabilities",
                 "conv2d_0.weight"):
        assert part in texts


def test_output_is_deterministic_and_the_method_matches_the_function():
    g = mnist.to_graph()
    assert g.to_dot() == g.to_dot() == to_dot(g)
    assert g.to_dot(rankdir="LR") == to_dot(g, rankdir="LR")


def test_options():
    g = mnist.to_graph()
    assert check(g.to_dot(rankdir="LR")).graph["rankdir"] == "LR"
    bare = check(g.to_dot(edge_types=False))
    assert all("label" not in a for _, _, a in bare.edges)
    with pytest.raises(AxiomError, match="rankdir='up'.*TB, LR"):
        g.to_dot(rankdir="up")
    with pytest.raises(TypeError):
        g.to_dot(colour=True)


# ---- escaping ---------------------------------------------------------------------------------
NASTY = 'a "quoted" name\\with\\backslashes\nand a second line'


def test_quote_escapes_quotes_backslashes_and_line_breaks():
    assert quote('say "hi"') == r'"say \"hi\""'
    assert quote("a\\b") == r'"a\\b"'
    assert quote("one\ntwo\r\nthree") == r'"one\ntwo\nthree"'
    assert quote("tab\there") == r'"tab\\x09here"'
    assert quote("\\n") == r'"\\n"'  # a literal backslash-n stays two characters
    assert _unquote(quote(NASTY)) == NASTY


def nasty_graph() -> Graph:
    g = Graph(NASTY)
    x = g.add_input("in", T4)
    b = Builder(g, loc=Loc('dir "x"\\model.py', 7, 'layer\\"1"'))
    w = b.constant(np.ones((4,), np.float32), name='w"\\\n')
    y = b.mul(x, w)
    g.set_outputs([y])
    g.properties.append(PropertyDecl("prove", 'odd "name"', [y], Attrs({"note": 'a"b\\c'}),
                                     Loc("p.py", 3)))
    return g


def test_odd_names_survive_into_the_labels():
    doc = check(nasty_graph().to_dot())
    assert doc.name == NASTY and doc.graph["label"] == "@" + NASTY
    const = next(k for k, a in doc.nodes.items() if a["label"].startswith("w"))
    assert doc.nodes[const]["label"] == 'w"\\\n\nf32[4]'
    mul = doc.node_labelled("mul")
    assert doc.nodes[mul]["tooltip"].startswith('at "layer\\\\\\"1\\"" @ dir "x"\\model.py:7\n')
    doc.node_labelled('prove odd "name"\nnote=a"b\\c')


def test_odd_names_render_as_written():
    texts = svg_text(nasty_graph().to_dot())
    for part in ('a "quoted" name\\with\\backslashes', "and a second line", 'note=a"b\\c', 'w"\\'):
        assert part in texts


# ---- other shapes of graphs -------------------------------------------------------------------
def test_results_of_multi_result_ops_are_numbered():
    g = Graph("g")
    x = g.add_input("x", T4)
    a, b = Builder(g).split(x, axis=1, sizes=[1, 3])
    g.set_outputs([b, a])
    doc = check(g.to_dot())
    assert doc.labels(shape="house") == ["output 0", "output 1"]
    assert sorted(a.get("label") for _, _, a in doc.edges) == ["#0 f32[N, 1]", "#1 f32[N, 3]", "f32[N, 4]"]
    assert "axis=1, sizes=[1,3]" in doc.labels(shape="box", style="rounded,filled")[0]


def test_small_constants_show_their_value():
    g = Graph("g")
    x = g.add_input("x", TensorType("f32", []))
    b = Builder(g)
    g.set_outputs([b.mul(x, b.constant(np.float32(0.1), name="scale"))])
    assert "scale\nf32[] = 0.1" in check(g.to_dot()).labels(style="filled", shape="box")


def test_a_value_defined_nowhere_is_drawn_in_red():
    g = Graph("broken")
    stray = Value(T4, name="ghost")
    g.append(Node("relu", [stray]))
    g.set_outputs([g.nodes[0].result])
    doc = check(g.to_dot())
    ghost = doc.node_labelled("undefined\n%ghost")
    assert doc.nodes[ghost]["color"] == "red"
    assert any(src == ghost for src, _, _ in doc.edges)


def test_attribute_summary_shows_what_differs_from_the_defaults():
    g = Graph("g")
    x = g.add_input("x", TensorType("f32", [1, 3, 8, 8]))
    b = Builder(g)
    w = b.constant(np.zeros((4, 3, 3, 3), np.float32))
    conv = b.node("conv2d", [x, w], {"stride": [2, 2], "padding": [0, 1, 0, 1]})
    pool = b.node("max_pool2d", [conv.result], {"kernel": [2, 2]})
    cast = b.node("cast", [pool.result], {"to": "i32"})
    gelu = b.node("gelu", [x], {"approximate": "tanh"})
    reshape = b.node("reshape", [x], {"shape": [2, 2, 48]})
    assert attr_summary(conv) == ["padding=[0,1,0,1]", "stride=2"]
    assert attr_summary(pool) == ["kernel=2"]
    assert attr_summary(cast) == ["to=i32"]
    assert attr_summary(gelu) == ["approximate=tanh"]
    assert attr_summary(reshape) == ["shape=[2,2,48]"]  # only window attributes collapse
    assert compact([N, 2 * N]) == "[N,2*N]" and compact(None) == "none" and compact(1e-5) == "1e-05"


# ---- fused regions: a node that holds a body graph becomes a cluster ---------------------------
def FusedNode(body: Graph, inputs: list[Value], kind: str = "") -> Node:  # noqa: N802
    """A real ``fused`` region op holding ``body``."""
    return Node("fused", inputs, {"kind": kind}, region=body)


def region(inner: Graph | None = None) -> Graph:
    """exp(a + b) and its negation; with ``inner``, the add is itself a fused node."""
    body = Graph("region")
    a, c = body.add_input("a", T4), body.add_input("b", T4)
    b = Builder(body)
    s = body.append(FusedNode(inner, [a, c])).results[0] if inner is not None else b.add(a, c)
    e = b.exp(s)
    body.set_outputs([b.neg(e), e])
    return body


def fused_graph(make_node) -> Graph:  # noqa: ANN001 - (body, inputs) -> Node
    g = Graph("g")
    x = g.add_input("x", T4)
    r = Builder(g).relu(x)
    f = g.append(make_node(region(), [x, r]))
    g.set_outputs([Builder(g).sigmoid(f.results[0]), f.results[1]])
    return g


def test_a_node_with_a_body_is_a_cluster():
    g = fused_graph(FusedNode)
    assert node_body(g.nodes[1]) is not None and node_body(g.nodes[0]) is None
    doc = check(g.to_dot())
    [cluster] = doc.clusters
    assert cluster.startswith("cluster") and doc.clusters[cluster]["label"] == "fused"
    assert "%1, %2 = fused(%x, %0)" in doc.clusters[cluster]["tooltip"]
    inside = sorted(doc.nodes[k]["label"] for k in doc.members[cluster])
    assert inside == ["add", "exp", "neg"]
    add, exp, neg = (doc.node_labelled(op) for op in ("add", "exp", "neg"))
    relu, x = doc.node_labelled("relu"), doc.node_labelled("x\nf32[N, 4]")
    into_add = sorted(src for src, dst, _ in doc.edges if dst == add)
    assert into_add == sorted([x, relu])  # the node's operands feed the body's nodes directly
    assert (neg, doc.node_labelled("sigmoid")) in [(s, d) for s, d, _ in doc.edges]
    assert (exp, doc.node_labelled("output 1")) in [(s, d) for s, d, _ in doc.edges]
    assert "fused" not in doc.labels(shape="box", style="rounded,filled")


def test_bodies_nest():
    g = Graph("g")
    x, y = g.add_input("x", T4), g.add_input("y", T4)
    f = g.append(FusedNode(region(inner=region()), [x, y]))
    g.set_outputs(f.results)
    doc = check(g.to_dot())
    assert len(doc.clusters) == 2  # the outer region, and the fused add inside it
    depth = {c: 0 for c in doc.clusters}
    for c in doc.clusters:
        p = c
        while p in doc.parent:
            p, depth[c] = doc.parent[p], depth[c] + 1
    assert sorted(depth.values()) == [0, 1]
    assert doc.labels(shape="box", style="rounded,filled").count("exp") == 2


def test_a_fused_graph_prints_and_parses_back_with_its_clusters():
    g = fused_graph(FusedNode)
    again = parse_graph(str(g))
    assert str(again) == str(g) and again.to_dot() == g.to_dot()


def test_a_body_that_does_not_fit_its_node_is_not_drawn():
    g = Graph("g")
    x = g.add_input("x", T4)
    body = region()
    f = g.append(FusedNode(body, [x, x]))
    g.set_outputs(f.results)
    body.inputs.pop()  # now the body takes one input for the node's two operands
    doc = check(g.to_dot())
    assert doc.clusters == {}
    fused = doc.node_labelled("fused")
    assert "body not drawn: it takes 1 inputs" in doc.nodes[fused]["tooltip"]
