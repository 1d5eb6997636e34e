"""Basic indexing of traced tensors: ``x[0]``, ``x[:, 1:3]``, ``x[..., ::-1]``, ``x[None]``.

An index becomes one ``slice`` (ONNX semantics), a ``squeeze`` for the integer positions and an
``unsqueeze`` for the ``None`` positions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from axiom.frontends.dsl.tensor import Tensor

BIG = 2**63 - 1  # "to the end" in ONNX slice semantics


def getitem(x: Tensor, index: Any) -> Tensor:
    """``x[index]`` for ints, slices, Ellipsis and None."""
    items = list(index) if isinstance(index, tuple) else [index]
    items = _expand_ellipsis(x, items)
    starts, ends, axes, steps, squeeze, unsqueeze = [], [], [], [], [], []
    axis = 0
    out_pos = 0  # position in the result (after squeezes), for None
    for item in items:
        if item is None:
            unsqueeze.append(out_pos)
            out_pos += 1
            continue
        if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            i = int(item)
            dim = x.shape[axis]
            if isinstance(dim, int) and not -dim <= i < dim:
                raise x.trace.error(f"index {i} is out of range for axis {axis} of {x.type}")
            starts.append(i)
            ends.append(i + 1 if i != -1 else BIG)
            axes.append(axis)
            steps.append(1)
            squeeze.append(axis)
        elif isinstance(item, slice):
            start, end, step = _slice_bounds(x, item)
            if (start, end, step) != (0, BIG, 1):
                starts.append(start)
                ends.append(end)
                axes.append(axis)
                steps.append(step)
            out_pos += 1
        else:
            raise x.trace.error(f"unsupported index {item!r} on {x.type}: use ints, slices, ... or None "
                                "(ops.gather takes index tensors)")
        axis += 1
    out = x
    if axes:
        out = x.trace.emit("slice", out, starts=starts, ends=ends, axes=axes, steps=steps)
    if squeeze:
        out = x.trace.emit("squeeze", out, axes=squeeze)
    if unsqueeze:
        out = x.trace.emit("unsqueeze", out, axes=unsqueeze)
    return out


def _expand_ellipsis(x: Tensor, items: list[Any]) -> list[Any]:
    count = sum(1 for i in items if i is Ellipsis)
    if count > 1:
        raise x.trace.error("an index can hold only one '...'")
    used = sum(1 for i in items if i is not None and i is not Ellipsis)
    if used > x.ndim:
        raise x.trace.error(f"too many indices ({used}) for {x.type}")
    if count == 0:
        return items + [slice(None)] * (x.ndim - used)
    at = items.index(Ellipsis)
    return items[:at] + [slice(None)] * (x.ndim - used) + items[at + 1:]


def _slice_bounds(x: Tensor, s: slice) -> tuple[int, int, int]:
    step = 1 if s.step is None else int(s.step)
    if step == 0:
        raise x.trace.error("slice step cannot be zero")
    if step > 0:
        start = 0 if s.start is None else int(s.start)
        end = BIG if s.stop is None else int(s.stop)
    else:
        start = BIG if s.start is None else int(s.start)
        end = -BIG if s.stop is None else int(s.stop)
    return start, end, step
