"""The built-in passes, one module each; importing this package registers them by name."""

from axiom.compiler.passes import cse, dce, fold_constants  # noqa: F401
