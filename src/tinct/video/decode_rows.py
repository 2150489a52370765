"""``tinct.color.decode`` for distributions laid out with pixels in rows, ``(h*w, Q)``, as the stabiliser keeps
them: the same ab, without transposing back to ``(1, Q, h, w)`` and with the expectation as one matrix product
(several times faster than the channel-first einsum for one frame)."""
from __future__ import annotations

import torch

from ..color.bins import DECODES


def decode_rows(logp: torch.Tensor, centres: torch.Tensor, method: str = "annealed", temperature: float = 0.38,
                log_prior_shift: torch.Tensor | None = None) -> torch.Tensor:
    """Log-probabilities ``(P, Q)`` (or any logits) -> ab ``(P, 2)``; equals ``decode`` of the transposed
    distributions (``mode``, ``mean``, ``annealed`` at ``temperature``, after ``log_prior_shift``)."""
    logits = logp.float()
    if log_prior_shift is not None:
        logits = logits + log_prior_shift.to(logits).view(1, -1)
    c = centres.to(logits)
    if method == "mode":
        return c[logits.argmax(1)]
    if method == "mean":
        z = logits
    elif method == "annealed":
        if not temperature > 0:
            raise ValueError("temperature must be > 0")
        if temperature == 1:
            z = logits  # softmax(log_softmax(x)) = softmax(x)
        elif temperature >= 1e-30:
            z = torch.log_softmax(logits, 1) / temperature
        else:  # as in ``decode``: the weights tend to the mode however small T is
            z = (logits - logits.amax(1, keepdim=True)) * torch.finfo(logits.dtype).max
    else:
        raise ValueError(f"unknown decode {method!r}; choose from {DECODES}")
    p = torch.softmax(z, 1)
    return p @ c
