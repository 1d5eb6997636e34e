"""Backends: each turns an optimised Graph into a run function for an Executable."""

from __future__ import annotations

import importlib
from types import ModuleType

from axiom.ir.errors import UnsupportedError

# name -> module with `lower(graph) -> run(arrays, bindings) -> outputs` and `available() -> bool`
_BACKENDS = {"numpy": "axiom.backends.numpy", "llvm": "axiom.backends.llvm"}
# Preference order for backend="best"; the first available one wins.
_PREFERENCE = ("numpy",)


def backend_names() -> list[str]:
    return list(_BACKENDS)


def get_backend(name: str) -> ModuleType:
    """The backend module called ``name``; raises with the known names when there is none."""
    if name == "best":
        name = best_backend()
    if name not in _BACKENDS:
        raise UnsupportedError(f"unknown backend {name!r}; available: {', '.join(_BACKENDS)}")
    module = importlib.import_module(_BACKENDS[name])
    if not module.available():
        raise UnsupportedError(f"backend {name!r} is not available here: {module.unavailable_reason()}")
    return module


def best_backend() -> str:
    """The fastest backend that works on this machine."""
    for name in _PREFERENCE:
        if importlib.import_module(_BACKENDS[name]).available():
            return name
    return "numpy"
