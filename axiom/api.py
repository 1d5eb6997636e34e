"""The wiring behind the public API: model -> frontend -> pipeline -> backend -> Executable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from axiom.backends import get_backend
from axiom.compiler.pipeline import run_pipeline
from axiom.ir.errors import UnsupportedError
from axiom.ir.graph import Graph
from axiom.runtime.executable import Executable


def to_graph(model: Any) -> Graph:
    """The IR graph of a model: a Graph, a DSL model, or a path to an ``.axir`` text file."""
    if isinstance(model, Graph):
        return model
    if hasattr(model, "to_graph"):
        return model.to_graph()
    if isinstance(model, (str, Path)) and str(model).endswith(".axir"):
        from axiom.ir.parser import parse_graph

        return parse_graph(Path(model).read_text())
    raise UnsupportedError(f"cannot compile a {type(model).__name__}: pass an axiom.ir.Graph, an "
                           "@axiom.model function, or a path to an .axir file")


def compile(model: Any, backend: str = "best", verify: bool = True) -> Executable:  # noqa: A001
    """Compile ``model`` for ``backend`` ("numpy", or "best" for the fastest available)."""
    result = run_pipeline(to_graph(model), verify=verify)
    module = get_backend(backend)
    name = module.__name__.rsplit(".", 1)[-1]
    return Executable(ir=result.graph, backend=name, run=module.lower(result.graph),
                      passes=result.passes, properties=result.properties)
