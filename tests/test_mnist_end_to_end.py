"""The issue's bar: the DSL MNIST classifier compiles on numpy with a symbolic batch, runs at two
batch sizes (checked against PyTorch eager with the same weights), and round-trips through text."""

import numpy as np
import pytest

import axiom
from axiom.examples.mnist import fake_digits, mnist, torch_reference
from axiom.ir.parser import parse_graph
from axiom.ir.printer import print_graph


def test_compiles_with_symbolic_batch_and_runs_at_two_sizes():
    torch = pytest.importorskip("torch")
    exe = axiom.compile(mnist, backend="numpy")
    assert str(exe.ir.inputs[0].type) == "f32[N, 1, 28, 28]"
    assert str(exe.ir.outputs[0].type) == "f32[N, 10]"
    reference = torch_reference(mnist.params)
    for batch in (1, 5):
        x, _ = fake_digits(batch, seed=batch)
        probs = exe(x)
        assert probs.shape == (batch, 10)
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
        np.testing.assert_allclose(probs, reference(torch.from_numpy(x)).numpy(), rtol=1e-4, atol=1e-6)


def test_ir_round_trips_through_text_with_weights(tmp_path):
    graph = mnist.to_graph()
    weights = tmp_path / "mnist.npz"
    text = print_graph(graph, constants="file", weights=weights)
    parsed = parse_graph(text, weights=weights)
    assert print_graph(parsed) == print_graph(graph)
    assert parsed.missing_constants() == []
    x, _ = fake_digits(3)
    np.testing.assert_array_equal(axiom.compile(parsed, backend="numpy")(x), axiom.compile(graph)(x))
    inline = print_graph(graph, constants="inline")
    assert print_graph(parse_graph(inline), constants="inline") == inline


def test_elided_text_parses_but_cannot_run_without_weights():
    parsed = parse_graph(print_graph(mnist.to_graph()))
    assert "conv2d_0.weight" in parsed.missing_constants()
    with pytest.raises(axiom.AxiomError, match="constants without data: .*conv2d_0.weight"):
        axiom.compile(parsed, backend="numpy")
