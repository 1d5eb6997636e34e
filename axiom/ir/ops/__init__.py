"""The built-in ops. Importing this package registers every one of them once."""

from axiom.ir.ops import const, elementwise, linalg, nn, pooling, reduction, region, shape  # noqa: F401
