"""The MNIST benchmark runs end to end (it checks each runner's outputs against PyTorch)."""

import sys

import pytest


def test_benchmark_runs_and_prints_ratios(monkeypatch, capsys):
    pytest.importorskip("torch")
    from benchmarks import mnist

    monkeypatch.setattr(sys, "argv", ["mnist", "--batches", "2", "--repeats", "1"])
    assert mnist.main() == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["runner", "batch", "median", "ms", "vs", "eager"]
    assert any(line.startswith("axiom[numpy]") for line in lines)
