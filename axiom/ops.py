"""Functional ops of the Axiom DSL (``axiom.ops.relu(x)``, ``axiom.ops.conv2d(x, w, ...)``)."""

import sys

from axiom.frontends.dsl import functional as _functional

# This module *is* the functional-ops module, so `axiom.ops.<op>` and its docs are one thing.
sys.modules[__name__] = _functional
