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


def _cracks(g: torch.Generator, n: int, h: int, w: int, like: torch.Tensor) -> torch.Tensor:
    """``(N, 1, H, W)`` L offsets of up to MAX_CRACKS thin wavy lines per image."""
    k = MAX_CRACKS
    count = torch.randint(0, k + 1, (n, 1), generator=g)
    active = (torch.arange(k).view(1, -1) < count).float()
    cx, cy = _u(g, n, 0, w, k), _u(g, n, 0, h, k)
    theta = _u(g, n, 0, math.pi, k)
    half = _u(g, n, 0.1, 0.6, k) * max(h, w)
    wiggle, freq, phase = _u(g, n, 0, 3, k), _u(g, n, 0.05, 0.3, k), _u(g, n, 0, 2 * math.pi, k)
    width = _u(g, n, 0.4, 1.2, k)
    amp = _signed(g, n, k, 15, 45) * active
    p = [t.to(like.device, non_blocking=True).to(like.dtype).view(n, k, 1, 1)
         for t in (cx, cy, theta, half, wiggle, freq, phase, width, amp)]
    cx, cy, theta, half, wiggle, freq, phase, width, amp = p
    ys = torch.arange(h, device=like.device, dtype=like.dtype).view(1, 1, h, 1)
    xs = torch.arange(w, device=like.device, dtype=like.dtype).view(1, 1, 1, w)
    dx, dy = xs - cx, ys - cy
    along = dx * theta.cos() + dy * theta.sin()
    across = -dx * theta.sin() + dy * theta.cos() - wiggle * torch.sin(freq * along + phase)
    line = torch.exp(-(across / width) ** 2) * torch.sigmoid(half - along.abs())
    return (amp * line).sum(1, keepdim=True)


def _spots(g: torch.Generator, n: int, h: int, w: int, like: torch.Tensor) -> torch.Tensor:
    """``(N, 1, H, W)`` L offsets of up to MAX_SPOTS soft dust spots per image."""
    k = MAX_SPOTS
    count = torch.randint(0, k + 1, (n, 1), generator=g)
    active = (torch.arange(k).view(1, -1) < count).float()
    cx, cy, r = _u(g, n, 0, w, k), _u(g, n, 0, h, k), _u(g, n, 0.5, 2.5, k)
    amp = _signed(g, n, k, 15, 50) * active
    cx, cy, r, amp = [t.to(like.device, non_blocking=True).to(like.dtype).view(n, k, 1, 1) for t in (cx, cy, r, amp)]
    ys = torch.arange(h, device=like.device, dtype=like.dtype).view(1, 1, h, 1)
    xs = torch.arange(w, device=like.device, dtype=like.dtype).view(1, 1, 1, w)
    d2 = (xs - cx) ** 2 + (ys - cy) ** 2
    return (amp * torch.exp(-d2 / r ** 2)).sum(1, keepdim=True)


def degrade_l(l: torch.Tensor, g: torch.Generator, p: float) -> torch.Tensor:
    """CIELAB L ``(N, 1, H, W)`` in [0, 100] -> the same with each image, with probability ``p``, made to look
    like a damaged old print; the others are returned unchanged (bit for bit). The result stays in [0, 100].
    ``p`` = 0 draws nothing from ``g``."""
    if p <= 0:
        return l
    n, _, h, w = l.shape
    dev = l.device
    chosen = torch.rand(n, generator=g) < p

    def per_image(t):
        return t.to(dev, non_blocking=True).to(l.dtype).view(n, 1, 1, 1)

    sigma = _u(g, n, 0.0, 1.2)
    lo, hi, gamma = _u(g, n, 0, 20), _u(g, n, 80, 100), torch.exp(_u(g, n, -0.35, 0.35))
    stain = torch.randn(n, 1, 4, 4, generator=g) * _u(g, n, 0, 6).view(n, 1, 1, 1)
    grain_sd, grain_seed = _u(g, n, 0, 5), int(torch.randint(0, 2 ** 62, (1,), generator=g))
    x = _blur(l, sigma)
    x = (x / 100).clamp(0, 1) ** per_image(gamma)
    x = per_image(lo) + (per_image(hi) - per_image(lo)) * x
    x = x + F.interpolate(stain.to(dev, non_blocking=True).to(l.dtype), size=(h, w), mode="bicubic",
                          align_corners=False)
    noise = torch.randn(l.shape, generator=torch.Generator(dev).manual_seed(grain_seed), device=dev, dtype=l.dtype)
    x = x + per_image(grain_sd) * noise
    x = x + _cracks(g, n, h, w, l) + _spots(g, n, h, w, l)
    return torch.where(per_image(chosen.float()) > 0, x.clamp(0, 100), l)
