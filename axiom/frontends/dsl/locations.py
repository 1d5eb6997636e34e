"""Source locations of DSL calls and the errors that point at them.

Every node the DSL builds carries the user's line: the innermost stack frame outside the
axiom package (the bundled examples in axiom/examples count as user code).
"""

from __future__ import annotations

import linecache
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from axiom.ir.errors import AxiomError
from axiom.ir.graph import Loc

_AXIOM_DIR = str(Path(__file__).resolve().parents[2]) + os.sep
_EXAMPLES_DIR = _AXIOM_DIR + "examples" + os.sep
_INTERNAL: dict[str, bool] = {}


class TraceError(AxiomError):
    """A DSL construct used where it cannot be traced (outside a model, on the wrong value, ...)."""


class ParamError(AxiomError):
    """Parameters that do not fit a model: unknown or missing names, wrong shapes or dtypes."""


@dataclass(frozen=True)
class Site:
    """A user source line: where a DSL call was made."""

    file: str | None
    line: int | None
    text: str = ""

    @property
    def loc(self) -> Loc | None:
        if self.file is None:
            return None
        return Loc(self.file, self.line)

    def named(self, name: str) -> Loc:
        """The location with a name attached (the printer shows ``name @ file:line``)."""
        return Loc(self.file, self.line, name)

    def format(self, message: str) -> str:
        """``file:line: message`` followed by the source line, when both are known."""
        if self.file is None:
            return message
        out = f"{self.file}:{self.line}: {message}"
        if self.text:
            out += f"\n    {self.text}"
        return out


def _is_internal(filename: str) -> bool:
    known = _INTERNAL.get(filename)
    if known is not None:
        return known
    full = os.path.realpath(filename)
    internal = full.startswith(_AXIOM_DIR) and not full.startswith(_EXAMPLES_DIR)
    _INTERNAL[filename] = internal
    return internal


def display_path(filename: str) -> str:
    """``filename`` relative to the cwd when it lies under it, else its base name."""
    full = os.path.realpath(filename)
    cwd = os.path.realpath(os.getcwd())
    if full.startswith(cwd + os.sep):
        return os.path.relpath(full, cwd)
    return os.path.basename(full)


def user_site() -> Site:
    """The innermost stack frame outside the axiom package, as a Site."""
    frame = sys._getframe(1)
    while frame is not None and _is_internal(frame.f_code.co_filename):
        frame = frame.f_back
    if frame is None:
        return Site(None, None)
    return site_of(frame.f_code.co_filename, frame.f_lineno)


def site_of(filename: str, line: int) -> Site:
    """The Site of ``filename:line``, with the line's text when the file can be read."""
    text = linecache.getline(filename, line).strip()
    return Site(display_path(filename), line, text)
