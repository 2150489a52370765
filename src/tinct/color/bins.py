"""Quantization of the ab plane into bins, soft encoding and decoding.

Two grids:
- ``gamut`` (default, the paper's idea): 10x10 cells centred on multiples of 10, kept when any sRGB colour
  falls inside the cell. "Any sRGB colour" is measured on L = 0..100 (step 1) x a, b on a 1-unit grid over
  [-115, 115], converted to linear sRGB and kept when every channel is in [0, 1]. This gives **257** bins
  (the paper's 313 came from colours observed in ImageNet JPEGs, which stray slightly outside sRGB).
- ``grid18`` (the seed project): an 18x18 grid over [-110, 110], 324 bins, cell width 220/18.

Shapes: ab is ``(N, 2, H, W)`` in CIELAB units; logits/probabilities are ``(N, Q, H, W)``.
"""
from __future__ import annotations

from functools import lru_cache

import torch

from .lab import _KAPPA, _RGB_FROM_XYZ, _WHITE_D65

GRIDS = ("gamut", "grid18")


@lru_cache(maxsize=None)
def _gamut_centres() -> torch.Tensor:
    ab = torch.arange(-115, 115.5, 1.0, dtype=torch.float64)
    A, B = torch.meshgrid(ab, ab, indexing="ij")
    keep = torch.zeros(25, 25, dtype=torch.bool)  # cell indices -12..12
    for L in range(0, 101):
        fy = (L + 16) / 116
        f = torch.stack([fy + A / 500, torch.full_like(A, fy), fy - B / 200])
        xyz = torch.where(f > 6 / 29, f ** 3, (f - 16 / 116) / _KAPPA) * _WHITE_D65.view(3, 1, 1)
        lin = torch.einsum("ij,jhw->ihw", _RGB_FROM_XYZ, xyz)
        ok = ((lin >= -1e-6) & (lin <= 1 + 1e-6)).all(0)
        qa = torch.round(A[ok] / 10).long() + 12
        qb = torch.round(B[ok] / 10).long() + 12
        keep[qa, qb] = True
    ia, ib = keep.nonzero(as_tuple=True)
    return torch.stack([(ia - 12) * 10.0, (ib - 12) * 10.0], dim=1).float()


def bin_centres(grid: str = "gamut") -> torch.Tensor:
    """``(Q, 2)`` float32 ab centres of the named grid."""
    if grid == "gamut":
        return _gamut_centres().clone()
    if grid == "grid18":
        step = 220 / 18
        c = -110 + step / 2 + step * torch.arange(18, dtype=torch.float32)
        A, B = torch.meshgrid(c, c, indexing="ij")
        return torch.stack([A.flatten(), B.flatten()], dim=1)
    raise ValueError(f"unknown bin grid {grid!r}; choose from {GRIDS}")


def _sq_dist(ab: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """``(N, 2, H, W)`` x ``(Q, 2)`` -> squared distances ``(N, Q, H, W)`` (no ``(N, Q, 2, H, W)`` temporary)."""
    c = centres.to(ab)
    cross = torch.einsum("nchw,qc->nqhw", ab, c)
    return (ab.pow(2).sum(1, keepdim=True) - 2 * cross + c.pow(2).sum(1).view(1, -1, 1, 1)).clamp_(min=0)


def encode_hard(ab: torch.Tensor, centres: torch.Tensor, chunk: int = 1 << 16) -> torch.Tensor:
    """Index of the nearest bin, ``(N, H, W)`` int64; works through ``chunk`` pixels at a time."""
    n, _, h, w = ab.shape
    flat = ab.permute(1, 0, 2, 3).reshape(2, 1, -1, 1)       # pixels as one long column
    out = torch.empty(flat.shape[2], dtype=torch.long, device=ab.device)
    for i in range(0, flat.shape[2], chunk):
        out[i:i + chunk] = _sq_dist(flat[:, :, i:i + chunk].permute(1, 0, 2, 3), centres).argmin(1).flatten()
    return out.view(n, h, w)


def encode_soft(ab: torch.Tensor, centres: torch.Tensor, k: int = 5, sigma: float = 5.0):
    """Soft encoding over the ``k`` nearest bins with Gaussian weights (std ``sigma``).

    Returns ``(index, weight)``, each ``(N, k, H, W)``; weights sum to 1 over ``k``. Sparse on purpose:
    the loss gathers ``k`` log-probabilities instead of materializing ``Q`` target channels.
    """
    d2, idx = _sq_dist(ab, centres).topk(k, dim=1, largest=False)
    w = torch.softmax(-d2 / (2 * sigma ** 2), dim=1)
    return idx, w


def to_dense(index: torch.Tensor, weight: torch.Tensor, q: int) -> torch.Tensor:
    """Sparse soft code -> dense ``(N, Q, H, W)`` distribution."""
    n, _, h, w = index.shape
    return torch.zeros(n, q, h, w, dtype=weight.dtype, device=weight.device).scatter_add_(1, index, weight)


DECODES = ("annealed", "mode", "mean")


def decode(logits: torch.Tensor, centres: torch.Tensor, method: str = "annealed", temperature: float = 0.38,
           log_prior_shift: torch.Tensor | None = None) -> torch.Tensor:
    """Per-pixel distribution over bins -> ab ``(N, 2, H, W)``.

    ``mode``: centre of the most probable bin (the seed). ``mean``: expectation. ``annealed``: expectation
    under ``softmax(log p / T)`` (the paper, T = 0.38; T = 1 is ``mean``, T -> 0 is ``mode``).
    ``log_prior_shift`` (``(Q,)``) is added to the log-probabilities first, e.g. ``-beta * log w`` to undo
    part of the class rebalancing a model was trained with.
    """
    logits = logits.float()
    if log_prior_shift is not None:
        logits = logits + log_prior_shift.to(logits).view(1, -1, 1, 1)
    c = centres.to(logits)
    if method == "mode":
        return c[logits.argmax(1)].permute(0, 3, 1, 2)
    if method == "mean":
        p = torch.softmax(logits, 1)
    elif method == "annealed":
        if not temperature > 0:
            raise ValueError("temperature must be > 0")
        # softmax subtracts the max of log p / T, which is >= -log(Q) / T: finite for T >= 1e-30. Below that
        # (1e-300 is 0 in float32: 0/0 = NaN, a black image) scale (log p - max) by the largest finite float
        # instead: 0 at the mode, -inf elsewhere, so the weights tend to the mode however small T is
        z = torch.log_softmax(logits, 1)
        if temperature >= 1e-30:
            p = torch.softmax(z / temperature, 1)
        else:
            p = torch.softmax((z - z.amax(1, keepdim=True)) * torch.finfo(z.dtype).max, 1)
    else:
        raise ValueError(f"unknown decode {method!r}; choose from {DECODES}")
    return torch.einsum("nqhw,qc->nchw", p, c)
