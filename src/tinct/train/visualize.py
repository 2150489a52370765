"""Pictures of training progress: rows of grey | prediction | truth, as a uint8 array and a PNG."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..files.atomic import write_atomic


def comparison_grid(grey: torch.Tensor, pred: torch.Tensor, truth: torch.Tensor, pad: int = 2) -> np.ndarray:
    """Each ``(N, 3, H, W)`` in [0, 1] -> ``(N*(H+pad), 3*(W+pad), 3)`` uint8, one row per image."""
    rows = []
    for g, p, t in zip(grey, pred, truth):
        cells = [np.pad((x.clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255).round().astype(np.uint8),
                        ((0, pad), (0, pad), (0, 0)), constant_values=255) for x in (g, p, t)]
        rows.append(np.concatenate(cells, 1))
    return np.concatenate(rows, 0)


def save_png(array: np.ndarray, path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, lambda f: Image.fromarray(array).save(f, "PNG"))
