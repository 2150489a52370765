"""Batched, seeded training transforms in torch: random resized crop + flip, and simulated user hints.

Every random draw takes an explicit ``torch.Generator``, so a training step's batch is a pure function of
(seed, step, rank): resuming needs no saved RNG state.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

HINT_PATCH_SIZES = (1, 3, 5, 7)
HINT_SCALE = 110.0      # hint channels carry ab / HINT_SCALE


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


def draw_hint_points(n: int, h: int, w: int, g: torch.Generator, p_none: float, mean_points: float,
                     max_points: int, n_sizes: int):
    """The random part of :func:`simulate_hints`, on the CPU: ``(active, ys, xs, size_index)``, each
    ``(n, max_points)``; ``active`` marks the points each image really gets."""
    u = torch.rand(n, generator=g).clamp(min=1e-6)
    counts = ((torch.log(u) / math.log(1 - 1 / mean_points)).floor().long() + 1).clamp(max=max_points)
    counts = torch.where(torch.rand(n, generator=g) < p_none, torch.zeros_like(counts), counts)
    ys = torch.randint(0, h, (n, max_points), generator=g)
    xs = torch.randint(0, w, (n, max_points), generator=g)
    sizes = torch.randint(0, n_sizes, (n, max_points), generator=g)
    return torch.arange(max_points).view(1, -1) < counts.view(-1, 1), ys, xs, sizes


def simulate_hints(ab: torch.Tensor, g: torch.Generator, p_none: float = 0.5, mean_points: float = 8.0,
                   max_points: int = 24, patch_sizes=HINT_PATCH_SIZES) -> torch.Tensor:
    """Hints like a user's, drawn from the truth ``ab`` ``(N, 2, H, W)`` -> ``(N, 3, H, W)`` = (a/110, b/110, mask).

    Per image: no hints with probability ``p_none``, else a geometric number of points (mean ``mean_points``,
    as Zhang et al. 2017), each a square patch (side drawn from ``patch_sizes``, odd) holding the patch's mean
    true colour (pixels inside the image only); overlapping patches average.

    Every random draw comes from ``g`` on the CPU and every choice is made there; ``ab``'s device only gathers
    and scatters (no host synchronisation), so the result is the same on any device for the same ``g``.
    """
    n, _, h, w = ab.shape
    active, ys, xs, sizes = draw_hint_points(n, h, w, g, p_none, mean_points, max_points, len(patch_sizes))
    b = torch.arange(n).view(-1, 1).expand(n, max_points)[active]
    y, x = ys[active], xs[active]
    r = (torch.tensor(patch_sizes)[sizes[active]] // 2).view(-1, 1)
    # every pixel of every patch: (points, P) with P = largest patch's area; cells outside a patch or the image off
    reach = max(patch_sizes) // 2
    off = torch.arange(-reach, reach + 1)
    dy, dx = off.repeat_interleave(len(off)).view(1, -1), off.repeat(len(off)).view(1, -1)
    py, px = y.view(-1, 1) + dy, x.view(-1, 1) + dx
    inside = (dy.abs() <= r) & (dx.abs() <= r) & (py >= 0) & (py < h) & (px >= 0) & (px < w)
    flat = (b.view(-1, 1) * (h * w) + py.clamp(0, h - 1) * w + px.clamp(0, w - 1))
    dev = ab.device
    flat, inside_d = flat.to(dev, non_blocking=True), inside.to(dev, non_blocking=True)
    pix = ab.permute(0, 2, 3, 1).reshape(-1, 2)                           # (N*H*W, 2)
    wt = inside_d.to(ab.dtype).unsqueeze(-1)
    mean_ab = (pix[flat] * wt).sum(1) / wt.sum(1).clamp(min=1)            # (points, 2)
    total = torch.zeros(n * h * w, 2, dtype=ab.dtype, device=dev)
    cover = torch.zeros(n * h * w, dtype=ab.dtype, device=dev)
    total.index_put_((flat.flatten(),), (mean_ab.unsqueeze(1) * wt).reshape(-1, 2), accumulate=True)
    cover.index_put_((flat.flatten(),), wt.flatten(), accumulate=True)
    filled = cover > 0
    hint_ab = torch.where(filled.unsqueeze(1), total / cover.clamp(min=1).unsqueeze(1), torch.zeros_like(total))
    hint_ab = hint_ab.view(n, h, w, 2).permute(0, 3, 1, 2)
    return torch.cat([hint_ab / HINT_SCALE, filled.view(n, 1, h, w).to(ab.dtype)], 1)
