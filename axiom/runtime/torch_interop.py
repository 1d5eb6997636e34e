"""Torch tensors in and out of executables, without making torch a dependency."""

from __future__ import annotations

import sys
from typing import Any

import ml_dtypes
import numpy as np


def is_torch_tensor(a: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(a, torch.Tensor)


def from_torch(a: Any) -> Any:
    """A numpy array holding the data of a torch tensor (bf16 via its bit pattern)."""
    if not is_torch_tensor(a):
        return a
    import torch

    t = a.detach().cpu().contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().view(ml_dtypes.bfloat16)
    return t.numpy()


def to_torch(a: np.ndarray) -> Any:
    import torch

    a = np.ascontiguousarray(a)
    if a.dtype == ml_dtypes.bfloat16:
        return torch.from_numpy(a.view(np.int16).copy()).view(torch.bfloat16)
    return torch.from_numpy(a.copy())
