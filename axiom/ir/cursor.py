"""A cursor over one line of IR text: the parser's lexer, with errors that point at a column."""

from __future__ import annotations

import json
import re

from axiom.ir.errors import ParseError
from axiom.ir.graph import Loc
from axiom.ir.literals import IDENT_RE, VALUE_NAME_RE

_NAME_CHARS = re.compile(r"[A-Za-z0-9_.]*")


class Cursor:
    """One source line and a position in it; errors point at a 1-based column."""

    def __init__(self, text: str, lineno: int) -> None:
        self.text = text
        self.lineno = lineno
        self.pos = 0

    def error(self, message: str, pos: int | None = None) -> ParseError:
        return ParseError(message, self.lineno, (self.pos if pos is None else pos) + 1, self.text)

    def here(self) -> int:
        while self.pos < len(self.text) and self.text[self.pos] in " \t":
            self.pos += 1
        return self.pos

    def peek(self, s: str) -> bool:
        return self.text.startswith(s, self.here())

    def accept(self, s: str) -> bool:
        if not self.peek(s):
            return False
        self.pos += len(s)
        return True

    def expect(self, s: str, message: str) -> None:
        if not self.accept(s):
            raise self.error(f"{message}, found {self.found()}")

    def found(self) -> str:
        if self.at_end():
            return "end of line"
        return repr(self.text[self.here():][:20])

    def at_end(self) -> bool:
        pos = self.here()
        return pos >= len(self.text) or self.text[pos] == "#"

    def match(self, pattern: re.Pattern[str]) -> str | None:
        m = pattern.match(self.text, self.here())
        if m is None:
            return None
        self.pos = m.end()
        return m.group()

    def ident(self, what: str) -> str:
        word = self.match(IDENT_RE)
        if word is None:
            raise self.error(f"expected {what}, found {self.found()}")
        return word

    def string(self) -> str:
        pos = self.here()
        try:
            value, end = json.JSONDecoder().raw_decode(self.text, pos)
        except json.JSONDecodeError as exc:
            raise self.error(f"bad string literal: {exc.msg}", exc.pos) from None
        if not isinstance(value, str):
            raise self.error("expected a string literal", pos)
        self.pos = end
        return value

    def symbol_name(self, what: str) -> str:
        """A graph or property name: an identifier or a JSON string."""
        return self.string() if self.peek('"') else self.ident(what)

    def value_name(self) -> tuple[str, int]:
        pos = self.here()
        if not self.accept("%"):
            raise self.error(f"expected a value such as %x or %0, found {self.found()}")
        m = _NAME_CHARS.match(self.text, self.pos)
        name = m.group() if m else ""
        if not VALUE_NAME_RE.fullmatch(name):
            raise self.error(f"invalid value name %{name}: use an identifier or an integer", pos)
        self.pos += len(name)
        return name, pos

    def scan(self, stops: str) -> tuple[str, int]:
        """Raw text up to a stop character outside parentheses (a dim or a scalar)."""
        start = self.here()
        depth = 0
        i = start
        while i < len(self.text):
            ch = self.text[i]
            if ch == "#" or (depth == 0 and ch in stops):
                break
            depth += (ch == "(") - (ch == ")")
            i += 1
        self.pos = i
        return self.text[start:i].strip(), start

    def loc(self, after: str) -> Loc | None:
        """The trailing ``# location`` comment, or None; anything else left is an error."""
        pos = self.here()
        if pos >= len(self.text):
            return None
        if self.text[pos] != "#":
            raise self.error(f"unexpected {self.found()} after {after}")
        text = self.text[pos + 1:].strip()
        return Loc.parse(text) if text else None
