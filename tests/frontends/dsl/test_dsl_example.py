"""The bundled example axiom/examples/mnist.py, written against the public API (axiom.model, axiom.nn)."""

import inspect

import numpy as np
import pytest

axiom = pytest.importorskip("axiom")
if not hasattr(axiom, "model"):
    pytest.skip("axiom/__init__.py does not export the DSL yet", allow_module_level=True)

from axiom.examples import mnist as example  # noqa: E402


def test_classifier_fits_in_fifteen_lines():
    source = inspect.getsource(example.mnist.fn).strip().splitlines()
    assert len(source) <= 15
    assert source[0] == "@axiom.model(seed=0)"


def test_model_types_and_properties():
    m = example.mnist
    assert [str(t) for t in m.input_types] == ["f32[N, 1, 28, 28]"]
    assert [str(t) for t in m.output_types] == ["f32[N, 10]"]
    assert [(p.kind, p.name) for p in m.graph.properties] == [("ensure", "valid_probabilities")]
    assert all(n.loc.file.endswith("mnist.py") for n in m.graph.nodes)


def test_fake_digits_are_deterministic_images():
    x, labels = example.fake_digits(6, seed=3)
    x2, labels2 = example.fake_digits(6, seed=3)
    assert x.shape == (6, 1, 28, 28) and x.dtype == np.float32
    assert labels.shape == (6,) and labels.dtype == np.int64 and set(labels) <= set(range(10))
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(labels, labels2)
    assert 0.0 <= x.min() and x.max() <= 1.0
    assert not np.array_equal(x, example.fake_digits(6, seed=4)[0])
    ink = (x > 0.5).reshape(6, -1).sum(axis=1)
    assert (ink >= 30).all()  # every image has strokes drawn


def test_main_classifies_a_batch(capsys):
    assert example.main(3) == 0
    out = capsys.readouterr().out
    assert "f32[N, 1, 28, 28] -> f32[N, 10]" in out
    assert out.count("predicted") == 3 and "sum=1.000000" in out
