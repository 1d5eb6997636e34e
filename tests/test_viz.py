"""`axiom viz` and axiom.viz: pictures of the MNIST example as .svg/.png/.pdf and .dot, the
message when Graphviz's `dot` is missing, and rendering with or without the graphviz package."""

from __future__ import annotations

import shutil
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from axiom.cli import main
from axiom.examples.mnist import mnist
from axiom.ir import AxiomError, Graph, TensorType
from axiom.viz import default_output, render_dot, render_graph

MNIST = str(Path(__file__).resolve().parents[1] / "axiom" / "examples" / "mnist.py") + ":mnist"
needs_dot = pytest.mark.skipif(shutil.which("dot") is None,
                               reason="the Graphviz `dot` program is not installed")


def no_dot(monkeypatch) -> None:  # noqa: ANN001
    """Pretend that Graphviz is not installed."""
    monkeypatch.setattr(shutil, "which", lambda *args, **kwargs: None)


@needs_dot
def test_viz_writes_an_svg_of_mnist(tmp_path, capsys):
    out = tmp_path / "mnist.svg"
    assert main(["viz", MNIST, "-o", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    texts = [t.text for t in ET.parse(out).getroot().iter("{http://www.w3.org/2000/svg}text")]
    for part in ("conv2d", "padding=1", "f32[N, 32, 28, 28]", "ensure valid_probabilities", "dense_0.weight"):
        assert part in texts


@needs_dot
@pytest.mark.parametrize(("suffix", "magic"), [(".png", b"\x89PNG"), (".pdf", b"%PDF")])
def test_viz_writes_png_and_pdf(tmp_path, suffix, magic):
    out = tmp_path / f"g{suffix}"
    assert main(["viz", "axiom.examples.mnist:mnist", "-o", str(out)]) == 0
    assert out.read_bytes().startswith(magic)


def test_viz_writes_dot_text(tmp_path, capsys):
    out = tmp_path / "graph.dot"
    assert main(["viz", MNIST, "-o", str(out)]) == 0
    text = out.read_text()
    assert text.startswith('digraph "mnist" {') and text.rstrip().endswith("}")
    assert text == mnist.to_graph().to_dot()
    assert "conv2d_0.weight" in text and "ensure valid_probabilities" in text


def test_viz_no_constants_and_passes(tmp_path):
    out = tmp_path / "graph.dot"
    assert main(["viz", "axiom.examples.mnist:mnist", "-o", str(out), "--no-constants",
                 "--passes", "fold-constants,cse,dce"]) == 0
    text = out.read_text()
    assert "conv2d_0.weight" not in text and 'label="conv2d\\npadding=1"' in text


def test_viz_reports_a_bad_pipeline_and_a_bad_file_name(tmp_path, capsys):
    assert main(["viz", "axiom.examples.mnist:mnist", "-o", str(tmp_path / "g.dot"),
                 "--passes", "no-such-pass"]) == 1
    assert "unknown pass 'no-such-pass'" in capsys.readouterr().err
    assert main(["viz", "axiom.examples.mnist:mnist", "-o", str(tmp_path / "g.jpg")]) == 1
    err = capsys.readouterr().err
    assert "g.jpg" in err and ".svg, .png, .pdf, .dot" in err
    assert not (tmp_path / "g.jpg").exists()


def test_without_dot_the_dot_file_is_written_and_install_told(tmp_path, capsys, monkeypatch):
    no_dot(monkeypatch)
    out = tmp_path / "mnist.svg"
    assert main(["viz", MNIST, "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert not out.exists() and (tmp_path / "mnist.dot").read_text() == mnist.to_graph().to_dot()
    for hint in ("apt-get install graphviz", "brew install graphviz", "pip install graphviz",
                 f"dot -Tsvg {tmp_path / 'mnist.dot'} -o {out}"):
        assert hint in err


def test_without_dot_on_path(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    result = render_graph(mnist.to_graph(), tmp_path / "m.pdf")
    assert not result.ok and result.path == tmp_path / "m.dot" and result.requested == tmp_path / "m.pdf"
    assert "apt-get install graphviz" in result.message


@needs_dot
def test_renders_without_the_graphviz_package(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)  # `import graphviz` now fails
    result = render_graph(mnist.to_graph(), tmp_path / "m.svg", constants=False)
    assert result.ok and result.message == f"wrote {tmp_path / 'm.svg'}"
    assert "conv2d_0.weight" not in result.path.read_text()


@needs_dot
@pytest.mark.parametrize("package", [True, False], ids=["graphviz-package", "subprocess"])
def test_a_dot_failure_is_an_axiom_error(tmp_path, monkeypatch, package):
    if not package:
        monkeypatch.setitem(sys.modules, "graphviz", None)
    with pytest.raises(AxiomError, match=r"Graphviz `dot` failed \(exit status 1\): .*syntax error"):
        render_dot("digraph { a -> }", tmp_path / "bad.svg")


def test_default_output_is_named_after_the_graph(tmp_path, monkeypatch):
    assert default_output(mnist.to_graph()) == Path("mnist.svg")
    assert default_output(Graph('my "model"/v2')) == Path("my_model_v2.svg")
    assert default_output(Graph("..."), "png") == Path("graph.png")
    monkeypatch.chdir(tmp_path)
    g = Graph("tiny")
    x = g.add_input("x", TensorType("f32", [2]))
    g.set_outputs([x])
    no_dot(monkeypatch)
    result = render_graph(g)
    assert result.requested == Path("tiny.svg") and (tmp_path / "tiny.dot").exists()
