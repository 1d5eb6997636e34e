"""Runtime: the Executable users call, and its argument checks."""

from axiom.runtime.checks import bind_inputs
from axiom.runtime.executable import Executable

__all__ = ["Executable", "bind_inputs"]
