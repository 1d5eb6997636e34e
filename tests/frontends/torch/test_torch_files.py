"""PyTorch files: .pt2 exports, torch.save'd modules (the weights_only trust choice), and state dicts
loaded into an architecture with strict key checks."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402 - needs torch, skipped above without it
from torch_cases import compare  # noqa: E402

import axiom  # noqa: E402
from axiom.frontends.torch import TorchImportError, from_pytorch  # noqa: E402
from axiom.ir.dims import sym  # noqa: E402


class SmallNet(nn.Module):
    """Module-level, so that torch.save can pickle it by reference."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(4, 6), nn.Linear(6, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.relu(self.fc1(x)))


def x(batch: int = 2) -> torch.Tensor:
    return torch.randn(batch, 4, generator=torch.Generator().manual_seed(batch))


def test_pt2_export_file_keeps_its_dynamic_batch(tmp_path) -> None:  # noqa: ANN001
    model = SmallNet().eval()
    batch = torch.export.Dim("batch")
    path = tmp_path / "net.pt2"
    torch.export.save(torch.export.export(model, (x(),), dynamic_shapes={"x": {0: batch}}), path)
    graph = from_pytorch(path)
    assert graph.name == "net" and graph.inputs[0].type.shape == (sym("x_dim0"), 4)
    named = from_pytorch(str(path), dynamic_shapes={"x": {0: batch}})  # Dims name the symbols
    assert named.inputs[0].type.shape == (sym("batch"), 4)
    for b in (1, 5):
        compare(named, model, x(b))
    exe = axiom.compile(path, backend="numpy")
    assert exe(x(3).numpy()).shape == (3, 3)


def test_saved_module_needs_the_trust_choice(tmp_path) -> None:  # noqa: ANN001
    model = SmallNet().eval()
    path = tmp_path / "full_model.pt"
    torch.save(model, path)
    with pytest.raises(TorchImportError, match="weights_only=False only for files you trust"):
        from_pytorch(path, (x(),))
    graph = from_pytorch(path, (x(),), weights_only=False)
    compare(graph, model, x())


def test_state_dict_from_a_file_or_a_dict(tmp_path) -> None:  # noqa: ANN001
    trained = SmallNet().eval()
    path = tmp_path / "w.pt"
    torch.save(trained.state_dict(), path)
    fresh = SmallNet()
    before = fresh.fc1.weight.detach().clone()
    for weights in (path, str(path), trained.state_dict()):
        compare(from_pytorch(fresh, (x(),), state_dict=weights), trained, x())
    compare(axiom.from_pytorch(fresh, x(), state_dict=path), trained, x())
    assert torch.equal(fresh.fc1.weight, before)  # the weights went into a copy


def test_state_dict_file_as_the_model_asks_for_the_architecture(tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "w.pth"
    torch.save(SmallNet().state_dict(), path)
    with pytest.raises(TorchImportError, match=r"holds a state dict.*state_dict=path"):
        from_pytorch(path, (x(),))


def test_state_dict_keys_are_checked_strictly() -> None:
    weights = SmallNet().state_dict()
    weights["extra.bias"] = torch.zeros(3)
    del weights["fc2.weight"]
    with pytest.raises(TorchImportError) as info:
        from_pytorch(SmallNet(), (x(),), state_dict=weights)
    text = str(info.value)
    assert "missing keys: fc2.weight" in text and "unexpected keys: extra.bias" in text
    wrong = SmallNet().state_dict()
    wrong["fc1.bias"] = torch.zeros(7)
    with pytest.raises(TorchImportError, match="size mismatch for fc1.bias"):
        from_pytorch(SmallNet(), (x(),), state_dict=wrong)


def test_state_dict_with_pickled_objects_is_refused(tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "w.pt"
    torch.save({"fc": SmallNet()}, path)
    with pytest.raises(TorchImportError, match="weights_only=True refuses"):
        from_pytorch(SmallNet(), (x(),), state_dict=path)


def test_bad_files_give_clear_errors(tmp_path) -> None:  # noqa: ANN001
    with pytest.raises(TorchImportError, match="no file at"):
        from_pytorch(tmp_path / "missing.pt2")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a torch file")
    with pytest.raises(TorchImportError, match="not a readable torch file"):
        from_pytorch(junk, (x(),))
    junk2 = tmp_path / "junk.pt2"
    junk2.write_bytes(b"not a zip")
    with pytest.raises(TorchImportError, match="not a readable torch.export program"):
        from_pytorch(junk2)
