"""Colorization metrics, streamed over batches.

- AuC (Zhang et al. 2016): fraction of pixels whose predicted ab lies within distance t of the truth, for
  t = 0..150, area under that curve normalized to [0, 1] (reported x 100).
- Rebalanced AuC: the same with each pixel weighted by 1 / p(bin of its true ab), p the evaluated set's own
  ab distribution over the 257 gamut bins, smoothed with sigma = 5 (rare colours count as much as common ones).
  Needs a first pass for p: ``MetricAccumulator(prior=...)``; see :func:`ab_prior_of`.
- PSNR of sRGB in [0, 1], per image, averaged.
- Colourfulness (Hasler & Suesstrunk 2003) of 0-255 sRGB, per image; its mean and mean |gap| to the truth's.
"""
from __future__ import annotations

import torch

from ..color import bin_centres, encode_hard, histogram, smooth_prior

THRESHOLDS = torch.arange(0, 151, dtype=torch.float32)


def colourfulness(rgb: torch.Tensor) -> torch.Tensor:
    """``(N, 3, H, W)`` in [0, 1] -> ``(N,)`` Hasler-Suesstrunk M on the 0-255 scale."""
    r, g, b = (rgb.float() * 255).unbind(1)
    rg, yb = r - g, 0.5 * (r + g) - b
    std = (rg.flatten(1).var(1, unbiased=False) + yb.flatten(1).var(1, unbiased=False)).sqrt()
    mean = (rg.flatten(1).mean(1) ** 2 + yb.flatten(1).mean(1) ** 2).sqrt()
    return std + 0.3 * mean


def psnr(pred: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    mse = (pred.float() - truth.float()).pow(2).flatten(1).mean(1).clamp(min=1e-10)
    return 10 * torch.log10(1 / mse)


def ab_prior_of(ab_batches) -> torch.Tensor:
    """Smoothed ab distribution ``(Q,)`` of an iterable of ``(N, 2, H, W)`` batches, over the gamut bins."""
    c = bin_centres("gamut")
    counts = sum(histogram(ab, c) for ab in ab_batches)
    return smooth_prior(counts, c, 5.0)


class MetricAccumulator:
    def __init__(self, prior: torch.Tensor | None = None):
        self.centres = bin_centres("gamut")
        self.inv_prior = None if prior is None else 1.0 / prior.clamp(min=1e-8)
        self.hits = torch.zeros(len(THRESHOLDS), dtype=torch.float64)
        self.hits_rb = torch.zeros(len(THRESHOLDS), dtype=torch.float64)
        self.pixels = 0.0
        self.pixels_rb = 0.0
        self.psnr, self.cf, self.cf_true = [], [], []

    def update(self, pred_ab, true_ab, pred_rgb, true_rgb) -> None:
        """ab ``(N, 2, H, W)`` CIELAB units; rgb ``(N, 3, H, W)`` in [0, 1]; same H, W."""
        d = (pred_ab.float() - true_ab.float()).pow(2).sum(1).sqrt().flatten()
        # pixels within t for every integer t: a histogram of ceil(d), cumulated (d > 150 falls off the end)
        bucket = d.ceil().long().clamp(max=len(THRESHOLDS))
        self.hits += torch.bincount(bucket, minlength=len(THRESHOLDS) + 1)[:-1].double().cumsum(0)
        self.pixels += d.numel()
        if self.inv_prior is not None:
            w = self.inv_prior[encode_hard(true_ab.float(), self.centres).flatten()].double()
            self.hits_rb += torch.bincount(bucket, weights=w, minlength=len(THRESHOLDS) + 1)[:-1].cumsum(0)
            self.pixels_rb += float(w.sum())
        self.psnr += psnr(pred_rgb, true_rgb).tolist()
        self.cf += colourfulness(pred_rgb).tolist()
        self.cf_true += colourfulness(true_rgb).tolist()

    def result(self) -> dict:
        n = max(len(self.psnr), 1)
        out = {"images": len(self.psnr),
               "auc": float((self.hits / max(self.pixels, 1)).mean() * 100),
               "psnr": sum(self.psnr) / n,
               "colourfulness": sum(self.cf) / n,
               "colourfulness_truth": sum(self.cf_true) / n,
               "colourfulness_gap": sum(abs(a - b) for a, b in zip(self.cf, self.cf_true)) / n,
               "auc_curve": (self.hits / max(self.pixels, 1)).tolist()}
        out["colourfulness_ratio"] = out["colourfulness"] / max(out["colourfulness_truth"], 1e-9)
        if self.inv_prior is not None:
            out["auc_rebalanced"] = float((self.hits_rb / max(self.pixels_rb, 1e-12)).mean() * 100)
            out["auc_rebalanced_curve"] = (self.hits_rb / max(self.pixels_rb, 1e-12)).tolist()
        return out
