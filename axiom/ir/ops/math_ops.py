"""Math ops beyond the basics: integer modulo, bit shifts and bitwise logic, rounding, float classification
and the inverse/hyperbolic trigonometric functions."""

from __future__ import annotations
