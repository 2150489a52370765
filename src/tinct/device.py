"""Choosing a torch device by name: ``auto`` picks CUDA, then Apple MPS, then the CPU."""
from __future__ import annotations

import torch


def mps_available() -> bool:
    """True when this torch build can use an Apple MPS device here."""
    return bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())


def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    return torch.device(name)
