"""The LLVM CPU backend: the whole graph as one native function (a kernel per node or fused
elementwise region), optimised at O3 for the host CPU through llvmlite, cached on disk."""

from __future__ import annotations

from axiom.backends.llvm import (  # noqa: F401 (kernels)
    k_elementwise,
    k_indexing,
    k_linalg,
    k_nn,
    k_reduce,
    k_resample,
    k_shape,
)
from axiom.backends.llvm.lowering import DECOMPOSE, lower, source

__all__ = ["DECOMPOSE", "available", "lower", "source", "unavailable_reason"]


def available() -> bool:
    return not unavailable_reason()


def unavailable_reason() -> str:
    try:
        import llvmlite.binding  # noqa: F401
    except ImportError as exc:
        return f"llvmlite is not installed ({exc}); pip install llvmlite"
    return ""
