"""The colorization loss, fully vectorized.

Per pixel: ``w(q*) * -sum_k z_k log p(q_k)``, the cross-entropy against the soft target ``z`` (sparse over its
``k`` nearest bins) weighted by the rebalancing weight of the nearest bin ``q*`` (Zhang et al. 2016, eq. 2).
Per image: the mean over its pixels. Per minibatch: the sum over its images.

``ab_regression_loss`` is an optional auxiliary term (``--ab-regression``): the L1 distance, in units of 10 ab,
between the distribution's mean colour ``E_p[ab]`` (the decode at T = 1) and the pooled true ab, reduced the
same way. It trains directly the colour the shipped decode shows, where the cross-entropy alone rewards a
confident but wrong saturated guess no more harshly than a near miss.
"""
from __future__ import annotations

import torch


def colorization_loss(logits: torch.Tensor, index: torch.Tensor, weight: torch.Tensor,
                      bin_weights: torch.Tensor | None = None) -> torch.Tensor:
    """``logits`` ``(N, Q, h, w)``; soft target ``index``/``weight`` ``(N, k, h, w)`` sorted nearest first;
    ``bin_weights`` ``(Q,)`` or None (no rebalancing) -> scalar loss."""
    logits = logits.float()
    if logits.dim() == 4 and logits.stride(1) == 1 and logits.shape[1] > 1:
        # channels-last (the training default): the bins are the innermost axis, so the log-softmax and gather
        # run along it with no (N, Q, h, w) copy to the contiguous layout and back (about 40 % of this loss's time)
        logp = torch.log_softmax(logits.permute(0, 2, 3, 1), dim=-1)
        ce = -(logp.gather(-1, index.permute(0, 2, 3, 1)) * weight.permute(0, 2, 3, 1)).sum(-1)
    else:
        logp = torch.log_softmax(logits, dim=1)
        ce = -(logp.gather(1, index) * weight).sum(1)             # (N, h, w)
    if bin_weights is not None:
        ce = ce * bin_weights.to(ce)[index[:, 0]]
    return ce.flatten(1).mean(1).sum()


AB_REGRESSION_UNIT = 10.0   # an average miss of 10 ab units costs 1, about one nat of the cross-entropy


def ab_regression_loss(logits: torch.Tensor, centres: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
    """``logits`` ``(N, Q, h, w)``, bin ``centres`` ``(Q, 2)``, true ``ab`` ``(N, 2, h, w)`` -> scalar: the sum over
    images of the per-pixel mean of ``|E_p[ab] - ab|_1 / AB_REGRESSION_UNIT``."""
    p = torch.softmax(logits.float(), dim=1)
    mean = torch.einsum("nqhw,qc->nchw", p, centres.to(p))
    return ((mean - ab.float()).abs().sum(1) / AB_REGRESSION_UNIT).flatten(1).mean(1).sum()
