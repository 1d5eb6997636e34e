"""Indexing ops: per-element gather and scatter, N-d gather/scatter, cumulative sums and products, top-k
and triangular masks."""

from __future__ import annotations
