"""`axiom dump` and `axiom export` on ONNX and torch files (.onnx, .pt2, torch.save'd .pt with
--input-shape / --dynamic-batch), DSL models and .axir text; every failure is one line on stderr, exit 2."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import axiom
from axiom.cli import main
from axiom.cli_load import CommandError, parse_input_shape
from axiom.examples import mlp

onnx = pytest.importorskip("onnx")
onnxruntime = pytest.importorskip("onnxruntime")


def run_onnx(path, *arrays: np.ndarray) -> np.ndarray:
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feed = {i.name: a for i, a in zip(session.get_inputs(), arrays, strict=True)}
    return session.run(None, feed)[0]


def assert_one_error_line(capture, *fragments: str) -> str:
    """stderr (capsys or capfd) is exactly one `axiom: error:` line holding every fragment, no traceback."""
    err = capture.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("axiom: error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    return err


@pytest.fixture(scope="module")
def mlp_onnx(tmp_path_factory):
    path = tmp_path_factory.mktemp("onnx") / "mlp.onnx"
    axiom.to_onnx(mlp.mlp, path)
    return path


# ---- ONNX, .axir and DSL models ------------------------------------------------------------------
def test_dump_onnx_prints_the_imported_ir(mlp_onnx, capsys):
    assert main(["dump", str(mlp_onnx)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("graph @mlp(%x: f32[N, 784]) -> (f32[N, 10]) {")
    assert "matmul(%x, " in out and "dense<" not in out.split("\n", 2)[1]  # weights elided by default


@pytest.mark.parametrize("source", ["dsl", "onnx"])
def test_export_writes_onnx_that_onnxruntime_runs(source, mlp_onnx, tmp_path, capsys):
    model = {"dsl": "axiom/examples/mlp.py:mlp", "onnx": str(mlp_onnx)}[source]
    out = tmp_path / "out.onnx"
    assert main(["export", model, "-o", str(out)]) == 0
    assert f"axiom: wrote {out} (opset 18," in capsys.readouterr().out
    proto = onnx.load(str(out))
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "N"
    for batch in (1, 3):
        x = mlp.fake_inputs(batch)
        np.testing.assert_allclose(run_onnx(out, x), mlp.mlp(x), rtol=1e-5, atol=1e-6)


AFFINE = """graph @affine(%x: f32[N, 3]) -> (f32[N, 3]) {
  %w = const {name = "w"} dense<[0.5, -1.0, 2.0]> : f32[3]
  %0 = mul(%x, %w) : f32[N, 3]
  %1 = tanh(%0) : f32[N, 3]
  return %1
}
"""


def test_export_axir_text(tmp_path, capsys):
    (tmp_path / "affine.axir").write_text(AFFINE)
    out = tmp_path / "affine.onnx"
    assert main(["export", str(tmp_path / "affine.axir"), "-o", str(out)]) == 0
    x = np.linspace(-2, 2, 12, dtype=np.float32).reshape(4, 3)
    expected = np.tanh(x * np.array([0.5, -1.0, 2.0], np.float32))
    np.testing.assert_allclose(run_onnx(out, x), expected, rtol=1e-6, atol=1e-6)


def test_export_opset_option(mlp_onnx, tmp_path, capsys):
    out = tmp_path / "o19.onnx"
    assert main(["export", str(mlp_onnx), "-o", str(out), "--opset", "19"]) == 0
    assert {o.domain: o.version for o in onnx.load(str(out)).opset_import}[""] == 19
    assert main(["export", str(mlp_onnx), "-o", str(out), "--opset", "5"]) == 2
    assert_one_error_line(capsys, "cannot export", "opset")


def test_unsupported_onnx_ops_are_listed_on_one_line(tmp_path, capsys):
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])
    nodes = [helper.make_node("Frobnicate", ["x"], ["t"], name="first", domain="my.ops"),
             helper.make_node("Frobnicate", ["t"], ["y"], name="second", domain="my.ops")]
    graph = helper.make_graph(nodes, "g", [x], [y])
    opsets = [helper.make_opsetid("", 18), helper.make_opsetid("my.ops", 1)]
    model = helper.make_model(graph, opset_imports=opsets)
    path = tmp_path / "custom.onnx"
    path.write_bytes(model.SerializeToString())
    assert main(["dump", str(path)]) == 2
    assert_one_error_line(capsys, "2 unsupported", "'first'", "'second'")


@pytest.mark.parametrize("case", ["missing", "garbage", "shape-for-onnx", "missing-dir", "shape-for-dsl"])
def test_errors_exit_2_on_one_line(case, mlp_onnx, tmp_path, capsys):
    (tmp_path / "garbage.onnx").write_bytes(b"not a protobuf at all")
    argv, fragments = {
        "missing": (["dump", str(tmp_path / "none.onnx")], ["no such file"]),
        "garbage": (["dump", str(tmp_path / "garbage.onnx")], ["not a readable ONNX model"]),
        "shape-for-onnx": (["dump", str(mlp_onnx), "--input-shape", "1,784"], ["--input-shape"]),
        "missing-dir": (["export", str(mlp_onnx), "-o", str(tmp_path / "no" / "x.onnx")], ["cannot export"]),
        "shape-for-dsl": (["export", "axiom/examples/mlp.py:mlp", "-o", "x.onnx", "--dynamic-batch"],
                          [".pt/.pth files only"]),
    }[case]
    assert main(argv) == 2
    assert_one_error_line(capsys, *fragments)


def test_parse_input_shape():
    assert parse_input_shape("1,3,224,224") == ((1, 3, 224, 224), "float32")
    assert parse_input_shape("2, 16:int64") == ((2, 16), "int64")
    assert parse_input_shape(":bool") == ((), "bool")
    for bad in ("1,x", "0,3", "1,-2", "4:complex64", "1,,2"):
        with pytest.raises(CommandError):
            parse_input_shape(bad)


# ---- torch files -----------------------------------------------------------------------------------
torch = pytest.importorskip("torch")


class Masked(torch.nn.Module):
    """Two inputs: relu(fc(x)) where the mask is set, its negation elsewhere."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(4, 3)

    def forward(self, x, mask):
        y = torch.relu(self.fc(x))
        return torch.where(mask, y, -y)


@pytest.fixture(scope="module")
def tiny():
    """A model of torch classes only, so a child process can unpickle it too."""
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU()).eval()


@pytest.fixture(scope="module")
def tiny_pt(tiny, tmp_path_factory):
    path = tmp_path_factory.mktemp("torch") / "tiny.pt"
    torch.save(tiny, path)
    return path


def input_types(out: str) -> list[str]:
    return re.findall(r"%\w+: (\w+\[[^\]]*\])", out.splitlines()[0].split("->")[0])


def test_dump_pt2_keeps_its_dynamic_batch(tiny, tmp_path, capsys):
    ep = torch.export.export(tiny, (torch.randn(2, 4),), dynamic_shapes=({0: torch.export.Dim("batch")},))
    path = tmp_path / "tiny.pt2"
    torch.export.save(ep, path)
    assert main(["dump", str(path)]) == 0
    (x_type,) = input_types(capsys.readouterr().out)
    assert re.fullmatch(r"f32\[[A-Za-z_]\w*, 4\]", x_type), x_type  # dim 0 is a symbol
    assert main(["dump", str(path), "--input-shape", "2,4"]) == 2
    assert_one_error_line(capsys, "carry their own input shapes")


def test_dump_pt_needs_allow_pickle_and_input_shapes(tiny_pt, capsys):
    assert main(["dump", str(tiny_pt), "--input-shape", "1,4"]) == 2
    assert_one_error_line(capsys, "weights_only", "--allow-pickle")
    assert main(["dump", str(tiny_pt), "--allow-pickle"]) == 2
    assert_one_error_line(capsys, "needs --input-shape")
    assert main(["dump", str(tiny_pt), "--allow-pickle", "--input-shape", "1,4"]) == 0
    assert input_types(capsys.readouterr().out) == ["f32[1, 4]"]
    assert main(["dump", str(tiny_pt), "--allow-pickle", "--input-shape", "1,4", "--dynamic-batch"]) == 0
    assert input_types(capsys.readouterr().out) == ["f32[batch, 4]"]


def test_dump_pt_with_two_inputs_and_a_dtype(tmp_path, capsys):
    path = tmp_path / "masked.pt"
    torch.save(Masked().eval(), path)
    argv = ["dump", str(path), "--allow-pickle", "--input-shape", "2,4", "--input-shape", "2,3:bool"]
    assert main([*argv, "--dynamic-batch"]) == 0
    assert input_types(capsys.readouterr().out) == ["f32[batch, 4]", "bool[batch, 3]"]


def test_export_pt_runs_in_onnxruntime_at_two_batches(tiny, tiny_pt, tmp_path, capsys):
    out = tmp_path / "tiny.onnx"
    argv = ["export", str(tiny_pt), "-o", str(out), "--allow-pickle", "--input-shape", "1,4"]
    assert main([*argv, "--dynamic-batch"]) == 0
    for batch in (1, 3):
        x = torch.randn(batch, 4, generator=torch.Generator().manual_seed(batch))
        with torch.no_grad():
            expected = tiny(x).numpy()
        np.testing.assert_allclose(run_onnx(out, x.numpy()), expected, rtol=1e-5, atol=1e-6)


def test_a_failing_torch_export_is_one_line_in_a_real_process(tiny_pt):
    """torch logs a traceback of its own when tracing fails (pytest would capture that log in-process, so
    this runs the command for real); the command still prints one line."""
    argv = [sys.executable, "-m", "axiom", "dump", str(tiny_pt), "--allow-pickle", "--input-shape", "1,5"]
    root = Path(__file__).resolve().parents[1]  # run this checkout's axiom, not an installed copy
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=root)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("axiom: error: cannot load"), proc.stderr
    assert "torch.export failed" in lines[0]
