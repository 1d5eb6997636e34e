"""The built-in ops. Importing this package registers every one of them once."""

from axiom.ir.ops import (  # noqa: F401
    const,
    conv_transpose,
    elementwise,
    indexing,
    linalg,
    math_ops,
    nn,
    pooling,
    reduction,
    region,
    resample,
    shape,
)
