"""The error types of the IR: every one says what, where, and what to do."""

from __future__ import annotations


class AxiomError(Exception):
    """Base class of every error Axiom raises on purpose."""


class ShapeError(AxiomError):
    """Operand types or shapes that an op does not accept."""


class AttributeError_(AxiomError):
    """An op attribute that is missing, unknown, or of the wrong kind."""


class VerifyError(AxiomError):
    """A graph that breaks an IR invariant (SSA, order, types)."""


class ParseError(AxiomError):
    """IR text that does not parse; carries line and column."""

    def __init__(self, message: str, line: int, column: int, source_line: str = "") -> None:
        self.line = line
        self.column = column
        self.source_line = source_line
        text = f"{line}:{column}: {message}"
        if source_line:
            text += f"\n  {source_line}\n  {' ' * (column - 1)}^"
        super().__init__(text)


class InputError(AxiomError):
    """A wrong argument passed to a compiled model at call time."""


class UnsupportedError(AxiomError):
    """Something Axiom does not support (an op, a dtype on a backend, ...)."""
