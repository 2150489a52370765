"""One training batch, made on the training device from the uint8 records.

``make_batch`` is the whole per-step preprocessing: the uint8 ``(N, S, S, 3)`` tensor moves to the device once
(non-blocking from pinned memory), then crop + flip, Lab, simulated hints, the 4x average-pooled ab and its soft
encoding run there, batched. Its randomness comes only from ``step_generator(seed, step, rank)`` (CPU draws of a
few numbers per image), so a step's batch is a pure function of (seed, step, rank) on any device: ``--resume`` is
exact and DDP ranks stay disjoint.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..color import encode_soft, rgb_from_u8, rgb_to_lab
from ..data.augment import random_resized_crop, simulate_hints
from ..data.degrade import degrade_l


@dataclass
class TrainBatch:
    l: torch.Tensor                  # (N, 1, size, size) CIELAB L in [0, 100]
    hints: torch.Tensor | None       # (N, 3, size, size) = (a/110, b/110, mask), or None (model without hints)
    index: torch.Tensor              # (N, k, size/4, size/4) int64: the k nearest bins of the pooled true ab
    weight: torch.Tensor             # (N, k, size/4, size/4) soft-target weights (sum 1 over k)
    labels: torch.Tensor             # (N,) int64 scene labels (-1 = none)
    ab: torch.Tensor                 # (N, 2, size/4, size/4) the 4x average-pooled true ab the targets encode


def step_generator(seed: int, step: int, rank: int) -> torch.Generator:
    """The CPU generator every random draw of (seed, step, rank) comes from."""
    return torch.Generator().manual_seed(seed * 1_000_003 + step * 1009 + rank)


def make_batch(rgb_u8: torch.Tensor, labels: torch.Tensor, g: torch.Generator, centres: torch.Tensor, *,
               size: int, hints: bool, hint_p_none: float, soft_k: int, soft_sigma: float,
               hint_mean_points: float = 8.0, hint_max_patch: int = 7, degrade: float = 0.0,
               device: torch.device, channels_last: bool = True) -> TrainBatch:
    """uint8 RGB records ``(N, S, S, 3)`` (CPU, pinned or not, or already on ``device``) -> a TrainBatch on
    ``device``. ``centres`` ``(Q, 2)`` are the model's ab bins. ``degrade``: the share of images whose L input
    (not their targets or hints) gets old-print damage (data/degrade.py)."""
    x = rgb_from_u8(rgb_u8, device)
    lab = rgb_to_lab(random_resized_crop(x, size, g))
    hint = simulate_hints(lab[:, 1:], g, hint_p_none, hint_mean_points,
                          patch_sizes=tuple(range(1, hint_max_patch + 1, 2))) if hints else None
    ab = F.avg_pool2d(lab[:, 1:], 4)
    index, weight = encode_soft(ab, centres.to(device), soft_k, soft_sigma)
    l = degrade_l(lab[:, :1], g, degrade)
    if channels_last:
        l = l.contiguous(memory_format=torch.channels_last)
        hint = None if hint is None else hint.contiguous(memory_format=torch.channels_last)
    return TrainBatch(l, hint, index, weight, labels.to(device, non_blocking=True), ab)
