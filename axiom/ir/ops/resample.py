"""Resampling ops: resize (nearest, linear, cubic) and grid sampling."""

from __future__ import annotations
