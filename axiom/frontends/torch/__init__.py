"""PyTorch frontend: ``from_pytorch`` imports a module, an ExportedProgram or a torch file through
torch.export and its core-ATen decompositions as an Axiom Graph (needs the ``torch`` extra)."""

from axiom.frontends.torch.aten_common import TorchImportError, TorchUnsupportedError
from axiom.frontends.torch.importer import import_program
from axiom.frontends.torch.loading import from_pytorch

__all__ = ["TorchImportError", "TorchUnsupportedError", "from_pytorch", "import_program"]
