"""Upsample the network's low-resolution ab to the photo's full size, in row bands (issue 11).

Three methods, chosen by ``method``:

- ``"bilinear"``: ab sampled bilinearly (half-pixel centres, border padding) - colour bleeds across edges;
- ``"joint"``: joint bilateral upsampling (Kopf et al. 2007): each output pixel is a weighted mean of the 4x4
  nearest ab-grid values, weights = a tent of radius 2 ab-grid pixels (separable) times
  ``exp(-(L - L_q)^2 / (2 SIGMA_R^2))``, where ``L`` is the pixel's own lightness / 100 and ``L_q`` the grid
  value's (the photo's L area-averaged to the ab grid): colour comes from grid points that look like the pixel,
  so it stops at edges; a convex combination, so it never overshoots (no fringes);
- ``"guided"``: fast guided filter (He & Sun 2015, "Fast Guided Filter") with the photo's own lightness as
  guide. The window slopes ``A`` of ``ab ~ A * I + B`` are fitted once for the whole image at the ab grid
  against the guide ``I = L / 100`` box-averaged to that grid and box-smoothed; ``B = ab - A * I`` there (not
  the filter's window mean, which would blur the prediction where the guide is flat); both are upsampled
  bilinearly and applied at full resolution to the full-resolution ``I``: colour follows the photo's edges,
  and where the photo is flat the result is bilinear ab.

Contract of :func:`upsample_bands`: ``rgb`` uint8 ``(H, W, 3)`` (or ``(H, W)`` grey), ``ab_small`` float
``(1, 2, h, w)`` in CIELAB units; yields ``(y0, y1, ab)`` with ``ab`` float32 ``(2, y1 - y0, W)``, bands
covering rows ``0..H`` in order. Guided output is clamped per channel to ``[min, max]`` of ``ab_small`` (no new
extremes). Bands are exact: concatenated they equal the whole image done as one band. Extra memory is one band
plus the coefficient maps at the ab grid.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .fast_lab import lightness

METHODS = ("guided", "bilinear", "joint")
RADIUS = 2      # box radius of the guided filter, in ab-grid pixels (tuned: BENCHMARKS.md "Edge-aware upsampling")
EPS = 1e-3      # regulariser, in units of (L / 100)^2 (an L step of 6 has variance 1e-3 in a window it halves)
SIGMA_R = 0.2   # joint: range scale in L / 100 (an L difference of 40 keeps 13 % weight; BENCHMARKS.md)
RANGE_FLOOR = 1e-4  # joint: added to every range weight, so a pixel unlike all 16 grid points gets their tent mean


def _box(x: torch.Tensor, r: int) -> torch.Tensor:
    """Mean over a (2r+1)^2 window, windows clipped at the border. ``(1, C, h, w)`` -> same."""
    return F.avg_pool2d(x, 2 * r + 1, stride=1, padding=r, count_include_pad=False) if r > 0 else x


def low_res_guide(rgb: np.ndarray, h: int, w: int, chunk_pixels: int = 1 << 20) -> torch.Tensor:
    """The photo's guide ``L / 100`` box-averaged (exact area weights) to ``(h, w)``: float32 ``(h, w)``.
    Done in row chunks of about ``chunk_pixels`` source pixels."""
    H, W = rgb.shape[:2]
    out = np.empty((h, w), np.float32)
    sy = H / h
    rows = max(1, int(chunk_pixels / (sy * W)))
    for j0 in range(0, h, rows):
        j1 = min(h, j0 + rows)
        top, bot = j0 * sy, min(j1 * sy, H)
        r0, r1 = int(math.floor(top)), min(H, int(math.ceil(bot)))
        band = np.ascontiguousarray(lightness(rgb[r0:r1]).numpy() / 100, np.float32)
        im = Image.fromarray(band, "F").resize((w, j1 - j0), Image.BOX, box=(0, top - r0, W, bot - r0))
        out[j0:j1] = np.asarray(im)
    return torch.from_numpy(out)


def guided_coefficients(guide_small: torch.Tensor, ab_small: torch.Tensor, radius: int = RADIUS,
                        eps: float = EPS) -> torch.Tensor:
    """Fit ``ab ~ A * I + B`` in every window: guide ``(h, w)`` (about 0..1), ab ``(1, 2, h, w)`` ->
    coefficients ``(1, 4, h, w)``: ``A_a, A_b`` (window slopes, box-smoothed), ``B = ab - A * I``."""
    I = guide_small.float().view(1, 1, *guide_small.shape[-2:])
    p = ab_small.float()
    # one pooling call for all window means (tiny tensors: per-call overhead dominates)
    m = _box(torch.cat([I, p, I * I, I * p], 1), radius)
    mean_i, mean_p, mean_ii, mean_ip = m[:, :1], m[:, 1:3], m[:, 3:4], m[:, 4:]
    a = (mean_ip - mean_i * mean_p) / ((mean_ii - mean_i * mean_i).clamp(min=0) + eps)
    a = _box(a, radius)
    # B keeps ab itself where the guide is flat (no blur of the prediction, of small hinted spots included); the
    # guided filter's own B = box(mean_p - a mean_i) would blur it twice over the window
    return torch.cat([a, p - a * I], 1)


def _sample_rows(maps: torch.Tensor, y0: int, y1: int, H: int, W: int) -> torch.Tensor:
    """Rows ``y0..y1`` of ``maps`` ``(1, C, h, w)`` resized bilinearly to ``(H, W)`` -> ``(C, y1 - y0, W)``."""
    gx = (torch.arange(W, dtype=torch.float32) + 0.5) * 2 / W - 1
    gy = (torch.arange(y0, y1, dtype=torch.float32) + 0.5) * 2 / H - 1
    grid = torch.stack(torch.meshgrid(gy, gx, indexing="ij")[::-1], -1).unsqueeze(0)
    return F.grid_sample(maps, grid, mode="bilinear", padding_mode="border", align_corners=False)[0]


def _tent_taps(n_out: int, n_in: int, start: int = 0, stop: int | None = None):
    """For output positions ``start..stop`` on an axis of ``n_out`` pixels over ``n_in`` grid pixels: the 4 grid
    indices around each (clamped) and their tent weights ``max(0, 1 - |d| / 2)`` -> two ``(4, n)`` tensors."""
    pos = (torch.arange(start, n_out if stop is None else stop, dtype=torch.float32) + 0.5) * n_in / n_out - 0.5
    base = pos.floor()
    grid = base + torch.arange(-1, 3, dtype=torch.float32).view(4, 1)
    return grid.clamp(0, n_in - 1).long(), (1 - (pos - grid).abs() / 2).clamp(min=0)


def _joint_rows(maps: torch.Tensor, columns: tuple, l_band: torch.Tensor, y0: int, y1: int, H: int,
                sigma_r: float) -> torch.Tensor:
    """Joint bilateral upsampling of rows ``y0..y1``: ``maps`` ``(3, h, w)`` (a, b and the guide L_q at the ab
    grid), ``columns`` the column taps ``_tent_taps(W, w)``, ``l_band`` ``(y1 - y0, W)`` L / 100 ->
    ``(2, y1 - y0, W)``."""
    W = l_band.shape[1]
    iy, wy = _tent_taps(H, maps.shape[1], y0, y1)
    ix, wx = columns
    acc = torch.zeros(2, y1 - y0, W)
    total = torch.zeros(y1 - y0, W)
    for j in range(4):
        rows = maps[:, iy[j]]                                    # (3, R, w)
        for i in range(4):
            q = rows.index_select(2, ix[i])                      # (3, R, W)
            wt = ((l_band - q[2]).square_().mul_(-0.5 / sigma_r ** 2).exp_().add_(RANGE_FLOOR)
                  .mul_(wy[j].view(-1, 1)).mul_(wx[i].view(1, -1)))
            acc.addcmul_(q[:2], wt.unsqueeze(0))
            total += wt
    return acc.div_(total.unsqueeze(0))


def upsample_bands(rgb: np.ndarray, ab_small: torch.Tensor, method: str = "guided", band_pixels: int = 1 << 20,
                   radius: int = RADIUS, eps: float = EPS, sigma_r: float = SIGMA_R):
    """Yield ``(y0, y1, ab (2, y1 - y0, W))`` covering the photo (see the module docstring)."""
    if method not in METHODS:
        raise ValueError(f"upsample must be one of {METHODS}, not {method!r}")
    H, W = rgb.shape[:2]
    band = max(1, band_pixels // max(W, 1))
    ab_small = ab_small.float()
    with torch.inference_mode():
        if method == "guided":
            coef = guided_coefficients(low_res_guide(rgb, *ab_small.shape[-2:]), ab_small, radius, eps)
            lo = ab_small.amin((0, 2, 3)).view(2, 1, 1)
            hi = ab_small.amax((0, 2, 3)).view(2, 1, 1)
        elif method == "joint":  # a, b and L_q at the ab grid, and the column taps: the same for every band
            maps = torch.cat([ab_small[0], low_res_guide(rgb, *ab_small.shape[-2:])[None]], 0)
            columns = _tent_taps(W, maps.shape[2])
        for y0 in range(0, H, band):
            y1 = min(H, y0 + band)
            if method == "bilinear":
                yield y0, y1, _sample_rows(ab_small, y0, y1, H, W)
                continue
            guide = lightness(rgb[y0:y1]).div_(100)
            if method == "joint":
                yield y0, y1, _joint_rows(maps, columns, guide, y0, y1, H, sigma_r)
                continue
            c = _sample_rows(coef, y0, y1, H, W)
            yield y0, y1, c[2:].addcmul_(c[:2], guide.unsqueeze(0)).clamp_(min=lo, max=hi)
