"""Pass: a small named object whose fields are its options; the registry of passes by name;
and the pipeline text form ``"shape-infer,fold-constants,cse,dce"`` (options as
``fuse{max-nodes=8}``).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from axiom.ir.errors import AxiomError

if TYPE_CHECKING:
    from axiom.compiler.context import PassContext
    from axiom.ir.graph import Graph


class PipelineError(AxiomError):
    """A pipeline that names an unknown pass or gives a pass a bad option."""


class Pass:
    """Base class of every pass. Subclass as a frozen dataclass; fields are the options.

    ``run`` changes the graph in place and returns whether it changed anything.
    """

    name: ClassVar[str] = ""

    def run(self, graph: Graph, ctx: PassContext) -> bool:
        raise NotImplementedError(f"pass {type(self).__name__} does not define run()")

    def __str__(self) -> str:
        """The pass as it is written in a pipeline: ``name`` or ``name{opt=value}``."""
        if not dataclasses.is_dataclass(self):
            return self.name
        changed = [f for f in dataclasses.fields(self)
                   if f.default is not dataclasses.MISSING and getattr(self, f.name) != f.default]
        if not changed:
            return self.name
        opts = ",".join(f"{f.name.replace('_', '-')}={_fmt(getattr(self, f.name))}" for f in changed)
        return f"{self.name}{{{opts}}}"


_PASSES: dict[str, type[Pass]] = {}


def register_pass(cls: type[Pass]) -> type[Pass]:
    """Class decorator: make ``cls`` available by its ``name`` in pipeline strings."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no `name`")
    old = _PASSES.get(cls.name)
    if old is not None and old.__qualname__ != cls.__qualname__:
        # The same class defined again (a re-run notebook cell, a reloaded plugin) replaces itself.
        raise ValueError(f"a pass named {cls.name!r} is already registered ({old.__qualname__})")
    _PASSES[cls.name] = cls
    return cls


def registered_passes() -> dict[str, type[Pass]]:
    """Every registered pass by name (the built-in ones are loaded first)."""
    import axiom.compiler.passes  # noqa: F401  (registers the built-in passes)

    return dict(sorted(_PASSES.items()))


def make_pass(name: str, options: dict[str, str] | None = None) -> Pass:
    """An instance of the pass called ``name`` with options given as strings (from a pipeline)."""
    passes = registered_passes()
    if name not in passes:
        raise PipelineError(f"unknown pass {name!r}; known passes: {', '.join(passes)}")
    cls = passes[name]
    fields = {f.name: f for f in dataclasses.fields(cls)} if dataclasses.is_dataclass(cls) else {}
    kwargs: dict[str, Any] = {}
    for key, text in (options or {}).items():
        field = fields.get(key.replace("-", "_"))
        if field is None:
            known = ", ".join(f.replace("_", "-") for f in fields) or "none"
            raise PipelineError(f"pass {name!r} has no option {key!r}; its options: {known}")
        kwargs[field.name] = _coerce(name, key, text, field)
    return cls(**kwargs)


_ITEM = re.compile(r"\s*([A-Za-z][\w-]*)\s*(?:\{([^{}]*)\})?\s*(?:,|$)")


def parse_pipeline(spec: str | Sequence[Pass | str]) -> list[Pass]:
    """Passes from ``"a,b{opt=1},c"`` or from a list of Pass objects and names."""
    if not isinstance(spec, str):
        return [p if isinstance(p, Pass) else parse_pipeline(p)[0] for p in spec]
    out: list[Pass] = []
    pos = 0
    text = spec.strip()
    while pos < len(text):
        m = _ITEM.match(text, pos)
        if m is None or m.end() == pos:
            raise PipelineError(f"cannot parse pipeline {spec!r} at column {pos + 1}: expected "
                                "'name' or 'name{option=value,...}'")
        options = {}
        for item in filter(None, (s.strip() for s in (m.group(2) or "").split(","))):
            key, eq, value = item.partition("=")
            if not eq:
                raise PipelineError(f"option {item!r} of pass {m.group(1)!r} needs the form key=value")
            options[key.strip()] = value.strip()
        out.append(make_pass(m.group(1), options))
        pos = m.end()
    return out


def _coerce(name: str, key: str, text: str, field: dataclasses.Field) -> Any:
    kind = field.type if isinstance(field.type, str) else getattr(field.type, "__name__", str(field.type))
    try:
        if kind == "bool":
            if text.lower() not in ("true", "false", "1", "0"):
                raise ValueError("expected true or false")
            return text.lower() in ("true", "1")
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
        if kind == "str":
            return text
    except ValueError as exc:
        raise PipelineError(f"pass {name!r}: option {key}={text!r}: {exc}") from None
    raise PipelineError(f"pass {name!r}: option {key!r} of type {kind} cannot be set from a pipeline string")


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
