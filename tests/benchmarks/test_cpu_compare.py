"""benchmarks/cpu_compare.py runs end to end on the MLP at batch 1; the round-robin stops at its round or
time budget; an engine that fails is n/a with its reason; a wrong output marks the row. No timing checks."""

import time

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from benchmarks import cpu_compare, cpu_report  # noqa: E402 - needs torch
from benchmarks import cpu_engines as engines  # noqa: E402

# torch.compile is left out: its first inductor compile alone takes ~20 s here
FAST = ["axiom", "eager", "onnxruntime"]


def test_mlp_batch_1_prints_and_writes_every_engine_and_the_ratio(capsys, tmp_path):
    out = tmp_path / "performance.md"
    argv = ["--models", "mlp", "--batches", "small", "--repeats", "2", "--engines", ",".join(FAST),
            "--no-compile-times", "--sgemm-sizes", "--out", str(out)]
    assert cpu_compare.main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:5] == ["model", "batch", *FAST]
    cells = lines[1].split()
    assert cells[:2] == ["mlp", "1"]
    axiom_ms, eager_ms, ort_ms, ratio = (float(c) for c in cells[2:6])
    assert ratio == pytest.approx(axiom_ms / ort_ms, rel=0.01, abs=0.006)
    assert cells[6] == "2" and float(cells[7]) < 1e-3  # rounds, worst relative error to eager
    assert any(line.startswith("geometric mean axiom/onnxruntime: ") for line in lines)
    page = out.read_text()
    assert "| model | batch | axiom | eager | onnxruntime | axiom/ort | rounds | max rel err |" in page
    assert f"| mlp | 1 | {cells[2]} | {cells[3]} | {cells[4]} | {cells[5]} | 2 |" in page
    assert "python -m benchmarks.cpu_compare --models mlp" in page and "Load average" in page


def test_round_robin_alternates_and_stops_at_repeats_or_budget():
    order: list[str] = []
    calls = {"a": lambda: order.append("a"), "b": lambda: order.append("b")}
    medians, rounds = cpu_compare.round_robin(dict(calls), repeats=4, budget_s=60.0, missing={})
    assert rounds == 4 and order == ["a", "b"] * 4 and set(medians) == {"a", "b"}
    slow = {"a": lambda: time.sleep(0.002)}
    assert cpu_compare.round_robin(slow, repeats=1000, budget_s=0.0, missing={})[1] == 3  # at least 3
    assert cpu_compare.round_robin(dict(slow), repeats=2, budget_s=0.0, missing={})[1] == 2


def test_an_engine_failing_at_setup_or_in_a_round_is_na_with_its_reason(monkeypatch, tmp_path):
    def broken(model, x):
        raise RuntimeError("no such engine")

    def flaky(model, x):
        left = [1]  # the checked first call works, the first timed call raises

        def call():
            if not left:
                raise ValueError("lost the device")
            left.pop()
            return model.module(x)
        return call

    monkeypatch.setitem(engines.BINDERS, "onnxruntime", broken)
    monkeypatch.setitem(engines.BINDERS, "axiom", flaky)
    model = engines.load_model("mlp", tmp_path, threads=1)
    row = cpu_compare.run_row(model, 1, ["axiom", "eager", "onnxruntime"], repeats=3, budget_s=10.0)
    assert set(row.ms) == {"eager"} and row.ratio is None
    assert row.missing == {"onnxruntime": "RuntimeError: no such engine",
                           "axiom": "ValueError: lost the device"}
    text = cpu_report.console_row(row, ["axiom", "eager", "onnxruntime"])
    assert text.splitlines()[0].split()[2:6] == ["n/a", f"{row.ms['eager']:.3f}", "n/a", "n/a"]
    assert "n/a onnxruntime: RuntimeError: no such engine" in text


def test_a_wrong_output_marks_the_row(monkeypatch, tmp_path):
    zeros = lambda model, x: lambda: np.zeros((x.shape[0], 10), np.float32)  # noqa: E731
    monkeypatch.setitem(engines.BINDERS, "axiom", zeros)
    model = engines.load_model("mlp", tmp_path, threads=1)
    row = cpu_compare.run_row(model, 1, ["axiom", "eager"], repeats=2, budget_s=10.0)
    assert row.errors["axiom"] == pytest.approx(1.0) and row.errors["eager"] == 0.0
    assert row.mismatched == ["axiom"]
    assert "MISMATCH (axiom)" in cpu_report.console_row(row, ["axiom", "eager"])


def test_geomean_of_ratios():
    assert cpu_compare.geomean([0.5, 2.0]) == pytest.approx(1.0)
    assert cpu_compare.geomean([]) is None
