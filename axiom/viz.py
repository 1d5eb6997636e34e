"""Pictures of graphs: DOT text (from :mod:`axiom.ir.dot`) rendered to SVG, PNG or PDF.

Rendering needs the Graphviz ``dot`` program. It is run through the ``graphviz`` Python
package when that is installed, and directly otherwise. Without ``dot`` the DOT text is
still written (next to the requested file, as ``NAME.dot``) and the result says how to
install Graphviz; nothing raises, so a caller can always show the user what it has.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from axiom.ir.errors import AxiomError
from axiom.ir.graph import Graph

FORMATS = ("svg", "png", "pdf", "dot")
INSTALL_HINT = (
    "Install Graphviz: `apt-get install graphviz` (Debian/Ubuntu), `brew install graphviz` (macOS), "
    "or see https://graphviz.org/download/. (`pip install graphviz` installs only the Python package "
    "that Axiom uses to call `dot`, not `dot` itself.)"
)


@dataclass(frozen=True)
class VizResult:
    """What was written: ``path`` is the requested file, or the .dot written in its place."""

    requested: Path
    path: Path
    message: str

    @property
    def ok(self) -> bool:
        """True when the requested file itself was written."""
        return self.path == self.requested


def output_format(output: str | Path) -> str:
    """The format named by ``output``'s suffix (svg, png, pdf or dot)."""
    fmt = Path(output).suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise AxiomError(f"cannot write {str(output)!r}: the file name must end in one of "
                         f"{', '.join('.' + f for f in FORMATS)} (e.g. -o graph.svg)")
    return fmt


def default_output(graph: Graph, fmt: str = "svg") -> Path:
    """``NAME.svg`` in the current folder, NAME being the graph's name made file-safe."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", graph.name).strip("._") or "graph"
    return Path(f"{stem}.{fmt}")


def dot_program() -> str | None:
    """The path of the Graphviz ``dot`` program, or None when it is not on PATH."""
    return shutil.which("dot")


def render_graph(graph: Graph, output: str | Path | None = None, **options: Any) -> VizResult:
    """Draw ``graph`` into ``output`` (.svg, .png, .pdf or .dot; default ``NAME.svg``).

    ``options`` go to :meth:`Graph.to_dot` (``constants=False`` hides constants).
    """
    path = Path(output) if output is not None else default_output(graph)
    output_format(path)
    return render_dot(graph.to_dot(**options), path)


def render_dot(text: str, output: str | Path) -> VizResult:
    """Write DOT ``text`` to ``output`` in the format its suffix names.

    Without the ``dot`` program the text goes to ``output`` with a .dot suffix instead, and
    the result's message says how to get the picture.
    """
    path = Path(output)
    fmt = output_format(path)
    if fmt == "dot":
        path.write_text(text)
        return VizResult(path, path, f"wrote {path}")
    exe = dot_program()
    if exe is None:
        return _dot_only(text, path)
    data = _run_dot(text, fmt, exe)
    if data is None:
        return _dot_only(text, path)
    path.write_bytes(data)
    return VizResult(path, path, f"wrote {path}")


def _dot_only(text: str, path: Path) -> VizResult:
    dot_path = path.with_suffix(".dot")
    dot_path.write_text(text)
    fmt = path.suffix.lstrip(".")
    message = (f"wrote {dot_path}, not {path}: the Graphviz `dot` program is not installed "
               f"(or not on PATH). {INSTALL_HINT} Then run `dot -T{fmt} {dot_path} -o {path}`, "
               "or this command again.")
    return VizResult(path, dot_path, message)


def _run_dot(text: str, fmt: str, exe: str) -> bytes | None:
    """The rendered bytes; None when ``dot`` turns out not to be runnable."""
    try:
        import graphviz
    except ImportError:
        return _run_dot_directly(text, fmt, exe)
    try:
        return graphviz.Source(text).pipe(format=fmt, quiet=True)
    except graphviz.ExecutableNotFound:
        return None
    except graphviz.CalledProcessError as exc:
        raise AxiomError(_failure(exc.returncode, exc.stderr)) from None


def _run_dot_directly(text: str, fmt: str, exe: str) -> bytes | None:
    try:
        proc = subprocess.run([exe, f"-T{fmt}"], input=text.encode(), capture_output=True, check=False)
    except OSError:
        return None
    if proc.returncode != 0:
        raise AxiomError(_failure(proc.returncode, proc.stderr))
    return proc.stdout


def _failure(code: int, stderr: bytes | str | None) -> str:
    detail = stderr.decode(errors="replace") if isinstance(stderr, bytes) else (stderr or "")
    return (f"Graphviz `dot` failed (exit status {code}): {detail.strip() or 'no message'}; "
            "write the .dot file (-o NAME.dot) to look at the text it rejected")
