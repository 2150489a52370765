"""Empirical ab prior and class-rebalancing weights (Zhang et al. 2016, sec. 2.2).

The prior ``p`` is a ``(Q,)`` histogram of hard-encoded training pixels. ``smooth_prior`` blurs it with a
Gaussian of std ``sigma`` in ab units over the bin centres. Weights follow the paper,
``w = ((1 - lam) * p_smooth + lam / Q) ** -power``, normalized so that ``sum(p_smooth * w) == 1``
(E[w] = 1 under the prior). ``power = 1`` is the paper; ``power = 0`` turns rebalancing off (the seed's
plain ``-log p`` loss).
"""
from __future__ import annotations

import torch

from .bins import encode_hard


def histogram(ab: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """Counts ``(Q,)`` float64 of the nearest bins of every pixel in ``ab`` ``(N, 2, H, W)``."""
    idx = encode_hard(ab, centres).flatten()
    return torch.bincount(idx, minlength=len(centres)).double()


def smooth_prior(counts: torch.Tensor, centres: torch.Tensor, sigma: float = 5.0) -> torch.Tensor:
    """Normalize ``counts`` and blur with a Gaussian (std ``sigma``) over the bin centres; sums to 1."""
    p = counts.double() / counts.sum().clamp(min=1e-12)
    if sigma > 0:
        d2 = torch.cdist(centres.double(), centres.double()).pow(2)
        k = torch.exp(-d2 / (2 * sigma ** 2))
        p = k @ p
    return (p / p.sum()).float()


def rebalance_weights(prior: torch.Tensor, lam: float = 0.5, power: float = 1.0) -> torch.Tensor:
    """Per-bin weights ``(Q,)`` with E_prior[w] = 1."""
    if not 0 <= lam <= 1:
        raise ValueError(f"rebalance lambda must be in [0, 1], not {lam}")
    q = prior.numel()
    # clamped: with lam = 0, bins the prior never saw (p = 0) would get w = inf and make every weight NaN
    w = ((1 - lam) * prior.double() + lam / q).clamp(min=1e-12) ** (-power)
    w = w / (prior.double() * w).sum()
    return w.float()


def correction_shift(weights: torch.Tensor, beta: float) -> torch.Tensor | None:
    """The decode-time ``log_prior_shift`` that undoes a fraction ``beta`` of the rebalancing a model was trained
    with (a negative ``beta`` strengthens it instead: rarer, more saturated colours): ``-beta * log w`` ``(Q,)``
    (``w`` clamped at 1e-12 so that an unseen bin stays finite), None if beta is 0."""
    if not beta:
        return None
    return -beta * weights.float().clamp(min=1e-12).log()
