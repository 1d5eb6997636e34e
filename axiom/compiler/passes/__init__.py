"""The built-in passes, one module each; importing this package registers them by name."""

import axiom.compiler.passes.decompose  # noqa: F401
import axiom.compiler.passes.fold_batchnorm  # noqa: F401
import axiom.compiler.passes.layout  # noqa: F401
import axiom.compiler.passes.memory_plan  # noqa: F401
import axiom.compiler.passes.shape_infer  # noqa: F401
from axiom.compiler.passes import canonicalize, cse, dce, fold_constants, fuse, simplify, unfuse  # noqa: F401
