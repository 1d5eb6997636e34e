"""Transposed convolution (the gradient of conv2d with respect to its input), as a forward op."""

from __future__ import annotations
