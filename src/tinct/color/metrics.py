"""Colorization metrics, streamed over batches.

- AuC (Zhang et al. 2016): fraction of pixels whose predicted ab lies within distance t of the truth, for
  t = 0..150, area under that curve normalized to [0, 1] (reported x 100).
- Rebalanced AuC: the same with each pixel weighted by 1 / p(bin of its true ab), p the evaluated set's own
  ab distribution over the 257 gamut bins, smoothed with sigma = 5 (rare colours count as much as common ones).
- PSNR of sRGB in [0, 1], per image (capped at 48.13 dB, one 8-bit level RMS), averaged.
- Colourfulness (Hasler & Suesstrunk 2003) of 0-255 sRGB, per image; its mean and mean |gap| to the truth's.
- Mean-colour error (the cast, issue 28): per image |mean ab of the output - mean ab of the truth| (ab units),
  averaged; with the set's mean a*, b* of the outputs and of the truths (their signed difference is the cast).
"""
from __future__ import annotations

import torch

from .bins import bin_centres, encode_hard
from .rebalance import histogram, smooth_prior

THRESHOLDS = torch.arange(0, 151, dtype=torch.float32)


def colourfulness(rgb: torch.Tensor) -> torch.Tensor:
    """``(N, 3, H, W)`` in [0, 1] -> ``(N,)`` Hasler-Suesstrunk M on the 0-255 scale."""
    r, g, b = (rgb.float() * 255).unbind(1)
    rg, yb = r - g, 0.5 * (r + g) - b
    std = (rg.flatten(1).var(1, unbiased=False) + yb.flatten(1).var(1, unbiased=False)).sqrt()
    mean = (rg.flatten(1).mean(1) ** 2 + yb.flatten(1).mean(1) ** 2).sqrt()
    return std + 0.3 * mean


PSNR_CAP_MSE = (1 / 255) ** 2  # an 8-bit photo cannot be measured closer than one level: PSNR <= 48.13 dB


def psnr(pred: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR (dB) of ``(N, C, H, W)`` in [0, 1], capped at 48.13 dB (RMS error of one 8-bit level),
    so that an exact image (e.g. the grey baseline on an already-grey photo) does not swamp the mean."""
    mse = (pred.float() - truth.float()).pow(2).flatten(1).mean(1).clamp(min=PSNR_CAP_MSE)
    return 10 * torch.log10(1 / mse)


def ab_prior_of(ab_batches) -> torch.Tensor:
    """Smoothed ab distribution ``(Q,)`` of an iterable of ``(N, 2, H, W)`` batches, over the gamut bins."""
    c = bin_centres("gamut")
    counts = sum(histogram(ab, c) for ab in ab_batches)
    return smooth_prior(counts, c, 5.0)


def mean_colour_stats(pred_means, true_means) -> dict:
    """Per-image mean ab pairs (lists of ``(a, b)``) -> the mean-colour error (mean Euclidean distance, ab units)
    and the set's mean a*, b* of the outputs and of the truths."""
    p = torch.tensor(pred_means, dtype=torch.float64).view(-1, 2)
    t = torch.tensor(true_means, dtype=torch.float64).view(-1, 2)
    if len(p) == 0:
        return {"mean_colour_error": 0.0, "mean_a": 0.0, "mean_b": 0.0, "mean_a_truth": 0.0, "mean_b_truth": 0.0}
    return {"mean_colour_error": float((p - t).norm(dim=1).mean()),
            "mean_a": float(p[:, 0].mean()), "mean_b": float(p[:, 1].mean()),
            "mean_a_truth": float(t[:, 0].mean()), "mean_b_truth": float(t[:, 1].mean())}


class MetricAccumulator:
    """Streams batches; keeps a joint histogram (true bin x ceil(distance)) so that the rebalanced AuC needs
    one pass. ``prior`` fixes the rebalancing distribution; by default it is the evaluated set's own
    (smoothed, sigma = 5)."""

    def __init__(self, prior: torch.Tensor | None = None):
        self.centres = bin_centres("gamut")
        self.prior = prior
        self.joint = torch.zeros(len(self.centres), len(THRESHOLDS) + 1, dtype=torch.float64)
        self.psnr, self.cf, self.cf_true = [], [], []
        self.mean_ab, self.mean_ab_true = [], []  # per image (a, b)

    def update(self, pred_ab, true_ab, pred_rgb, true_rgb) -> None:
        """ab ``(N, 2, H, W)`` CIELAB units; rgb ``(N, 3, H, W)`` in [0, 1]; same H, W."""
        d = (pred_ab.float() - true_ab.float()).pow(2).sum(1).sqrt().flatten()
        bucket = d.ceil().long().clamp(max=len(THRESHOLDS))  # d > 150 lands in the overflow bucket
        q = encode_hard(true_ab.float(), self.centres).flatten()
        cols = len(THRESHOLDS) + 1
        self.joint += torch.bincount(q * cols + bucket, minlength=self.joint.numel()).view_as(self.joint).double()
        self.psnr += psnr(pred_rgb, true_rgb).tolist()
        self.cf += colourfulness(pred_rgb).tolist()
        self.cf_true += colourfulness(true_rgb).tolist()
        self.mean_ab += pred_ab.float().flatten(2).mean(2).tolist()
        self.mean_ab_true += true_ab.float().flatten(2).mean(2).tolist()

    def result(self) -> dict:
        n = max(len(self.psnr), 1)
        per_bin = self.joint.sum(1)
        curve = self.joint.sum(0)[:-1].cumsum(0) / per_bin.sum().clamp(min=1)
        prior = self.prior if self.prior is not None else smooth_prior(per_bin, self.centres, 5.0)
        w = 1.0 / prior.double().clamp(min=1e-8)
        rb = (self.joint[:, :-1] * w.view(-1, 1)).sum(0).cumsum(0) / (per_bin * w).sum().clamp(min=1e-12)
        out = {"images": len(self.psnr),
               "auc": float(curve.mean() * 100),
               "auc_rebalanced": float(rb.mean() * 100),
               "psnr": sum(self.psnr) / n,
               "colourfulness": sum(self.cf) / n,
               "colourfulness_truth": sum(self.cf_true) / n,
               "colourfulness_gap": sum(abs(a - b) for a, b in zip(self.cf, self.cf_true)) / n,
               "auc_curve": curve.tolist(), "auc_rebalanced_curve": rb.tolist()}
        out.update(mean_colour_stats(self.mean_ab, self.mean_ab_true))
        out["colourfulness_ratio"] = out["colourfulness"] / max(out["colourfulness_truth"], 1e-9)
        return out
