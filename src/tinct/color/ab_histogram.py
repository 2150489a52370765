"""Soft ab histograms over the model's bins, globally or per lightness band (issue 27: reference colours).

A pixel's ab is soft-encoded onto its ``k`` nearest bin centres with Gaussian weights (std ``sigma``), exactly as
the training targets are (:func:`~.bins.encode_soft`), and the codes are summed. Lightness bands are soft: a pixel
of lightness L gives each band a linear ("tent") weight from its distance to the band centres, so neighbouring
bands share pixels and a histogram varies smoothly with L.
"""
from __future__ import annotations

import torch

from .bins import encode_soft

DEFAULT_BANDS = 5          # band centres at 10, 30, 50, 70, 90 in L (0-100)
DEFAULT_STRENGTH = 0.5     # how strongly a reference re-weights the logits: measured (benchmarks/bench_reference.py,
                           # BENCHMARKS.md "Reference colours"), the largest tried that keeps an unrelated reference
                           # within 1 dB of automatic


def band_centres(bands: int = DEFAULT_BANDS) -> torch.Tensor:
    """``(B,)`` evenly spaced band centres inside L in [0, 100] (one band: L 50)."""
    if bands < 1:
        raise ValueError(f"bands must be >= 1, not {bands}")
    return (torch.arange(bands, dtype=torch.float32) + 0.5) * (100.0 / bands)


def band_weights(L: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """Lightness ``(...)`` (0-100) -> tent weights ``(B, ...)`` summing to 1 over the bands ``centres``; below the
    first or above the last centre all weight goes to that band."""
    B = len(centres)
    if B == 1:
        return torch.ones(1, *L.shape, dtype=torch.float32, device=L.device)
    step = float(centres[1] - centres[0])
    pos = ((L.float() - float(centres[0])) / step).clamp(0, B - 1)      # fractional band index
    lo = pos.floor().long().clamp(max=B - 2)
    frac = pos - lo
    w = torch.zeros(B, *L.shape, dtype=torch.float32, device=L.device)
    w.scatter_(0, lo.unsqueeze(0), (1 - frac).unsqueeze(0))
    w.scatter_add_(0, (lo + 1).unsqueeze(0), frac.unsqueeze(0))
    return w


def ab_histogram(lab: torch.Tensor, centres: torch.Tensor, bands: torch.Tensor | None = None,
                 weights: torch.Tensor | None = None, k: int = 5, sigma: float = 5.0) -> torch.Tensor:
    """Lab pixels ``(3, N)`` (L 0-100, ab CIELAB) -> soft-encoded mass per bin ``(B, Q)`` float64 (``B = 1``
    when ``bands`` is None), unnormalized. ``weights`` ``(N,)`` scales each pixel's contribution (default 1)."""
    if lab.dim() != 2 or lab.shape[0] != 3:
        raise ValueError(f"expected Lab pixels (3, N), got {tuple(lab.shape)}")
    q = len(centres)
    idx, w = encode_soft(lab[1:].float().view(1, 2, 1, -1), centres, k, sigma)     # (1, k, 1, N)
    idx, w = idx.view(k, -1), w.view(k, -1).double()
    if weights is not None:
        w = w * weights.double().view(1, -1)
    bw = (torch.ones(1, lab.shape[1], dtype=torch.float64) if bands is None
          else band_weights(lab[0], bands).double())                                  # (B, N)
    out = torch.zeros(len(bw), q, dtype=torch.float64)
    for b in range(len(bw)):
        out[b].index_add_(0, idx.flatten(), (w * bw[b].view(1, -1)).flatten())
    return out
