"""Old-print damage on the network's input, for training: the L channel a scanned old photo has.

A colorizer trained on clean photos reads cracks, dust and grain as texture and paints them (rainbow patches
along the cracks of a damaged studio portrait, MODEL.md). ``degrade_l`` gives a share of a batch's images the
look of an old print while the targets stay the clean photo's colours, so the network learns that damage has
no colour of its own. Per degraded image, each with its own random strength: soft focus (Gaussian blur), faded
and uneven tone (lifted blacks, dimmed whites, a gamma, a smooth stain field), film grain, thin wavy cracks
(bright where the emulsion is lost, or dark) and dust spots.

Every choice is drawn from the CPU generator ``g`` (no host synchronisation on an accelerator); the grain comes
from a generator on ``l``'s device seeded by a CPU draw, so a batch is a pure function of ``g``'s state on a
given device type (``--resume`` stays exact).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

MAX_CRACKS = 4
MAX_SPOTS = 12


def _u(g: torch.Generator, n: int, lo: float, hi: float, k: int | None = None) -> torch.Tensor:
    shape = (n,) if k is None else (n, k)
    return torch.empty(shape).uniform_(lo, hi, generator=g)


def _signed(g: torch.Generator, n: int, k: int, lo: float, hi: float) -> torch.Tensor:
    """Magnitudes in [lo, hi), each bright or dark with even odds."""
    sign = torch.where(torch.rand(n, k, generator=g) < 0.5, -1.0, 1.0)
    return sign * _u(g, n, lo, hi, k)


def _blur(l: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """A per-image Gaussian blur (``sigma`` ``(N,)`` pixels, 0 = none) as one grouped separable convolution."""
    n = l.shape[0]
    x = torch.arange(-3, 4, dtype=l.dtype, device=l.device).view(1, -1)
    s = sigma.to(l).clamp(min=1e-3).view(-1, 1)
    k = torch.exp(-0.5 * (x / s) ** 2)
    k = (k / k.sum(1, keepdim=True)).view(n, 1, 1, 7)
    y = F.conv2d(F.pad(l.reshape(1, n, *l.shape[2:]), (3, 3, 0, 0), mode="reflect"), k, groups=n)
    y = F.conv2d(F.pad(y, (0, 0, 3, 3), mode="reflect"), k.transpose(2, 3), groups=n)
    return y.view_as(l)


def _grid(h: int, w: int, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixel rows ``(1, 1, H, 1)`` and columns ``(1, 1, 1, W)`` on ``like``'s device and dtype."""
    ys = torch.arange(h, device=like.device, dtype=like.dtype).view(1, 1, h, 1)
    xs = torch.arange(w, device=like.device, dtype=like.dtype).view(1, 1, 1, w)
    return ys, xs


def _rows(rows: torch.Tensor, like: torch.Tensor, *draws: torch.Tensor) -> list[torch.Tensor]:
    """The chosen ``rows`` of CPU draws ``(N, ...)``, moved to ``like``'s device and dtype, shaped to broadcast
    over ``(M, K, H, W)``: ``(M, K, 1, 1)`` (a per-image draw is ``K`` = 1)."""
    return [t[rows].to(like.device, non_blocking=True).to(like.dtype).view(len(rows), -1, 1, 1) for t in draws]


def _draw_cracks(g: torch.Generator, n: int, h: int, w: int) -> list[torch.Tensor]:
    """Up to MAX_CRACKS thin wavy lines per image: centre, angle, half length, wiggle, width, signed strength."""
    k = MAX_CRACKS
    count = torch.randint(0, k + 1, (n, 1), generator=g)
    active = (torch.arange(k).view(1, -1) < count).float()
    cx, cy = _u(g, n, 0, w, k), _u(g, n, 0, h, k)
    theta = _u(g, n, 0, math.pi, k)
    half = _u(g, n, 0.1, 0.6, k) * max(h, w)
    wiggle, freq, phase = _u(g, n, 0, 3, k), _u(g, n, 0.05, 0.3, k), _u(g, n, 0, 2 * math.pi, k)
    width = _u(g, n, 0.4, 1.2, k)
    amp = _signed(g, n, k, 15, 45) * active
    return [cx, cy, theta, half, wiggle, freq, phase, width, amp]


def _cracks(draws, rows: torch.Tensor, h: int, w: int, like: torch.Tensor) -> torch.Tensor:
    """``(M, 1, H, W)`` L offsets of the chosen ``rows``' cracks (:func:`_draw_cracks`)."""
    cx, cy, theta, half, wiggle, freq, phase, width, amp = _rows(rows, like, *draws)
    ys, xs = _grid(h, w, like)
    dx, dy = xs - cx, ys - cy
    along = dx * theta.cos() + dy * theta.sin()
    across = -dx * theta.sin() + dy * theta.cos() - wiggle * torch.sin(freq * along + phase)
    line = torch.exp(-(across / width) ** 2) * torch.sigmoid(half - along.abs())
    return (amp * line).sum(1, keepdim=True)


def _draw_spots(g: torch.Generator, n: int, h: int, w: int) -> list[torch.Tensor]:
    """Up to MAX_SPOTS soft dust spots per image: centre, radius, signed strength."""
    k = MAX_SPOTS
    count = torch.randint(0, k + 1, (n, 1), generator=g)
    active = (torch.arange(k).view(1, -1) < count).float()
    cx, cy, r = _u(g, n, 0, w, k), _u(g, n, 0, h, k), _u(g, n, 0.5, 2.5, k)
    return [cx, cy, r, _signed(g, n, k, 15, 50) * active]


def _spots(draws, rows: torch.Tensor, h: int, w: int, like: torch.Tensor) -> torch.Tensor:
    """``(M, 1, H, W)`` L offsets of the chosen ``rows``' dust spots (:func:`_draw_spots`)."""
    cx, cy, r, amp = _rows(rows, like, *draws)
    ys, xs = _grid(h, w, like)
    d2 = (xs - cx) ** 2 + (ys - cy) ** 2
    return (amp * torch.exp(-d2 / r ** 2)).sum(1, keepdim=True)


def degrade_l(l: torch.Tensor, g: torch.Generator, p: float) -> torch.Tensor:
    """CIELAB L ``(N, 1, H, W)`` in [0, 100] -> the same with each image, with probability ``p``, made to look
    like a damaged old print; the others are returned unchanged (bit for bit). The result stays in [0, 100].
    ``p`` = 0 draws nothing from ``g``. Every image's draws are made whether it is chosen or not (a batch's
    draws do not depend on the choice); only the chosen images are computed."""
    if p <= 0:
        return l
    n, _, h, w = l.shape
    dev = l.device
    chosen = torch.rand(n, generator=g) < p
    sigma = _u(g, n, 0.0, 1.2)
    lo, hi, gamma = _u(g, n, 0, 20), _u(g, n, 80, 100), torch.exp(_u(g, n, -0.35, 0.35))
    stain = torch.randn(n, 1, 4, 4, generator=g) * _u(g, n, 0, 6).view(n, 1, 1, 1)
    grain_sd, grain_seed = _u(g, n, 0, 5), int(torch.randint(0, 2 ** 62, (1,), generator=g))
    cracks, spots = _draw_cracks(g, n, h, w), _draw_spots(g, n, h, w)
    rows = chosen.nonzero().flatten()                       # on the CPU: no host synchronisation
    if len(rows) == 0:
        return l
    rows_dev = rows.to(dev, non_blocking=True)
    sigma, lo, hi, gamma, grain_sd = _rows(rows, l, sigma, lo, hi, gamma, grain_sd)
    x = _blur(l[rows_dev], sigma.flatten())
    x = (x / 100).clamp(0, 1) ** gamma
    x = lo + (hi - lo) * x
    x = x + F.interpolate(stain[rows].to(dev, non_blocking=True).to(l.dtype), size=(h, w), mode="bicubic",
                          align_corners=False)
    noise = torch.randn(l.shape, generator=torch.Generator(dev).manual_seed(grain_seed), device=dev, dtype=l.dtype)
    x = x + grain_sd * noise[rows_dev]
    x = x + _cracks(cracks, rows, h, w, x) + _spots(spots, rows, h, w, x)
    return l.index_copy(0, rows_dev, x.clamp(0, 100))
