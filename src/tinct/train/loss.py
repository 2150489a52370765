"""The colorization loss, fully vectorized.

Per pixel: ``w(q*) * -sum_k z_k log p(q_k)``, the cross-entropy against the soft target ``z`` (sparse over its
``k`` nearest bins) weighted by the rebalancing weight of the nearest bin ``q*`` (Zhang et al. 2016, eq. 2).
Per image: the mean over its pixels. Per minibatch: the sum over its images.
"""
from __future__ import annotations

import torch


def colorization_loss(logits: torch.Tensor, index: torch.Tensor, weight: torch.Tensor,
                      bin_weights: torch.Tensor | None = None) -> torch.Tensor:
    """``logits`` ``(N, Q, h, w)``; soft target ``index``/``weight`` ``(N, k, h, w)`` sorted nearest first;
    ``bin_weights`` ``(Q,)`` or None (no rebalancing) -> scalar loss."""
    logp = torch.log_softmax(logits.float(), dim=1)
    ce = -(logp.gather(1, index) * weight).sum(1)                 # (N, h, w)
    if bin_weights is not None:
        ce = ce * bin_weights.to(ce)[index[:, 0]]
    return ce.flatten(1).mean(1).sum()
