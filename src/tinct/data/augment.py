"""Batched, seeded training transforms in torch: random resized crop + flip, and simulated user hints.

Every random draw takes an explicit ``torch.Generator``, so a training step's batch is a pure function of
(seed, step, rank): resuming needs no saved RNG state.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

HINT_PATCH_SIZES = (1, 3, 5, 7)


def random_resized_crop(rgb: torch.Tensor, out: int, g: torch.Generator, scale=(0.45, 1.0), ratio=(3 / 4, 4 / 3),
                        flip: float = 0.5) -> torch.Tensor:
    """``(N, 3, S, S)`` float -> ``(N, 3, out, out)``: each image its own crop box, aspect and horizontal flip."""
    n = rgb.shape[0]
    area = torch.empty(n).uniform_(*scale, generator=g)
    logr = torch.empty(n).uniform_(math.log(ratio[0]), math.log(ratio[1]), generator=g)
    r = logr.exp()
    sw = (area * r).sqrt().clamp(max=1.0)
    sh = (area / r).sqrt().clamp(max=1.0)
    cx = (torch.rand(n, generator=g) * 2 - 1) * (1 - sw)
    cy = (torch.rand(n, generator=g) * 2 - 1) * (1 - sh)
    sx = torch.where(torch.rand(n, generator=g) < flip, -sw, sw)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 0, 2], theta[:, 1, 1], theta[:, 1, 2] = sx, cx, sh, cy
    grid = F.affine_grid(theta.to(rgb), (n, 3, out, out), align_corners=False)
    return F.grid_sample(rgb, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def simulate_hints(ab: torch.Tensor, g: torch.Generator, p_none: float = 0.5, mean_points: float = 8.0,
                   max_points: int = 24) -> torch.Tensor:
    """Hints like a user's, drawn from the truth ``ab`` ``(N, 2, H, W)`` -> ``(N, 3, H, W)`` = (a/110, b/110, mask).

    Per image: no hints with probability ``p_none``, else a geometric number of points (mean ``mean_points``,
    as Zhang et al. 2017), each a square patch of side 1-7 px holding the patch's mean true colour.
    """
    n, _, h, w = ab.shape
    u = torch.rand(n, generator=g).clamp(min=1e-6)
    counts = ((torch.log(u) / math.log(1 - 1 / mean_points)).floor().long() + 1).clamp(max=max_points)
    counts = torch.where(torch.rand(n, generator=g) < p_none, torch.zeros_like(counts), counts)
    ys = torch.randint(0, h, (n, max_points), generator=g)
    xs = torch.randint(0, w, (n, max_points), generator=g)
    sizes = torch.randint(0, len(HINT_PATCH_SIZES), (n, max_points), generator=g)
    active = torch.arange(max_points).view(1, -1) < counts.view(-1, 1)
    hint_ab = torch.zeros_like(ab)
    mask = torch.zeros(n, 1, h, w, dtype=ab.dtype, device=ab.device)
    batch_idx = torch.arange(n).view(-1, 1).expand(n, max_points)
    for si, s in enumerate(HINT_PATCH_SIZES):
        sel = active & (sizes == si)
        if not sel.any():
            continue
        mean_ab = F.avg_pool2d(ab, s, 1, s // 2, count_include_pad=False) if s > 1 else ab
        b, y, x = batch_idx[sel], ys[sel], xs[sel]
        centre = torch.zeros(n, 1, h, w, dtype=ab.dtype, device=ab.device)
        centre[b, 0, y, x] = 1.0
        val = torch.zeros_like(ab)
        val[b, :, y, x] = mean_ab[b, :, y, x]
        if s > 1:  # spread each centre over its patch; overlapping patches average
            k = torch.ones(1, 1, s, s, dtype=ab.dtype, device=ab.device)
            cover = F.conv2d(centre, k, padding=s // 2)
            val = F.conv2d(val, k.expand(2, 1, s, s), padding=s // 2, groups=2)
            centre = cover
        hint_ab += val
        mask += centre
    filled = mask > 0
    hint_ab = torch.where(filled, hint_ab / mask.clamp(min=1), torch.zeros_like(hint_ab))
    return torch.cat([hint_ab / 110.0, filled.to(ab.dtype)], 1)
