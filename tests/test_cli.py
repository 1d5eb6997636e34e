"""The `axiom` command: dump, run, ops, demo, and its error path."""

import numpy as np
import pytest

from axiom.cli import main, ops_table
from axiom.ir import all_ops

AFFINE = """graph @affine(%x: f32[N, 3]) -> (f32[N, 3]) {
  %w = const {name = "w"} dense<[0.5, -1.0, 2.0]> : f32[3]
  %0 = mul(%x, %w) : f32[N, 3]
  %1 = tanh(%0) : f32[N, 3]
  return %1
}"""


@pytest.fixture
def affine(tmp_path):
    path = tmp_path / "affine.axir"
    path.write_text(AFFINE + "\n")
    return path


def test_dump_axir_is_identity(affine, capsys):
    assert main(["dump", str(affine)]) == 0
    assert capsys.readouterr().out.strip() == AFFINE


def test_run_with_given_input(affine, tmp_path, capsys):
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.save(tmp_path / "x.npy", x)
    assert main(["run", str(affine), "--input", f"x={tmp_path / 'x.npy'}"]) == 0
    out = capsys.readouterr().out
    assert "%1: float32[2, 3]" in out
    expected = np.tanh(x * np.array([0.5, -1.0, 2.0], np.float32))
    assert f"{expected[0, 2]:.5f}" in out


def test_run_random_with_dim(affine, capsys):
    assert main(["run", str(affine), "--dim", "N=5"]) == 0
    assert "float32[5, 3]" in capsys.readouterr().out


def test_dump_dsl_model(capsys):
    assert main(["dump", "axiom/examples/mnist.py:mnist"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("graph @mnist(%x: f32[N, 1, 28, 28]) -> (f32[N, 10])")
    assert "ensure valid_probabilities" in out


def test_ops_table_lists_every_op(capsys):
    assert main(["ops"]) == 0
    out = capsys.readouterr().out
    names = {line.split()[0] for line in out.splitlines()[2:]}
    assert names == {op.name for op in all_ops()}
    assert ops_table().splitlines()[0].split() == ["op", "reference", "decompose", "llvm", "cuda", "interval"]


def test_errors_are_reported_not_raised(tmp_path, capsys):
    bad = tmp_path / "bad.axir"
    bad.write_text("graph @g(%x: f32[2]) -> (f32[2]) {\n  %0 = frobnicate(%x) : f32[2]\n  return %0\n}\n")
    assert main(["dump", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "axiom: error:" in err and "2:" in err and "frobnicate" in err
    assert main(["dump", str(tmp_path / "missing.axir")]) == 2


def test_demo_prints_every_stage(capsys):
    assert main(["demo", "--backend", "numpy"]) == 0
    out = capsys.readouterr().out
    for part in ("== IR", "graph @mnist", "== passes run: shape-infer, canonicalize, simplify",
                 "fused: 2 x conv2d+relu", "memory plan at batch 4", "valid_probabilities", "unchecked",
                 "row sum 1.000000"):
        assert part in out


RELU2 = """graph @twice(%x: f32[N, 4]) -> (f32[N, 4]) {
  %0 = relu(%x) : f32[N, 4]
  %1 = relu(%0) : f32[N, 4]
  return %1
}"""


def test_opt_runs_a_pipeline_and_writes_ir(tmp_path, capsys):
    path = tmp_path / "m.axir"
    path.write_text(AFFINE.replace("%1 = tanh(%0)", "%9 = exp(%w) : f32[3]\n  %1 = tanh(%0)"))
    assert main(["opt", str(path), "--passes", "dce", "--print-ir-after-change", "--pass-timing"]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == AFFINE
    assert "// ----- IR after dce -----" in captured.err and "total" in captured.err


def test_opt_loads_a_user_pass_and_dumps_each_pass(tmp_path, capsys):
    path = tmp_path / "twice.axir"
    path.write_text(RELU2 + "\n")
    dump = tmp_path / "dump"
    assert main(["opt", str(path), "--load", "docs/examples/relu_idempotent.py", "--passes",
                 "relu-idempotent,dce", "--ir-dump-dir", str(dump), "-o", str(tmp_path / "out.axir")]) == 0
    files = ["00-input.axir", "01-relu-idempotent.axir", "02-dce.axir"]
    assert sorted(p.name for p in dump.iterdir()) == files
    assert (tmp_path / "out.axir").read_text().count("relu(") == 1


def test_opt_reports_an_unknown_pass(tmp_path, capsys):
    path = tmp_path / "twice.axir"
    path.write_text(RELU2 + "\n")
    assert main(["opt", str(path), "--passes", "cse,frobnicate"]) == 1
    assert "unknown pass 'frobnicate'" in capsys.readouterr().err


def test_run_with_level_zero_and_timing(affine, capsys):
    assert main(["run", str(affine), "-O", "0", "--pass-timing"]) == 0
    assert "float32[2, 3]" in capsys.readouterr().out


def test_run_picks_symbol_values_that_keep_dims_positive(tmp_path, capsys):
    path = tmp_path / "neg.axir"
    path.write_text("graph @g(%x: f32[N - 5]) -> (f32[N - 5]) {\n"
                    "  %0 = relu(%x) : f32[N - 5]\n  return %0\n}\n")
    assert main(["run", str(path)]) == 0
    assert "float32[1]" in capsys.readouterr().out
    assert main(["run", str(path), "--dim", "N=3"]) == 1
    assert "an input dim is below 1" in capsys.readouterr().err
