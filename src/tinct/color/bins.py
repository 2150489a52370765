"""Quantization of the ab plane into bins, soft encoding and decoding.

Three grids (the paper's idea: 10x10 cells of the ab plane centred on multiples of 10, kept when sRGB reaches
them):
- ``srgb`` (default for new models): the cells holding the ab of at least one of the 256^3 8-bit sRGB colours,
  **261** cells. The paper's 313 also hold cells no sRGB colour reaches (it counted ImageNet pixels).
- ``gamut`` (the first release, kept because its weights were trained on it; bins travel with the weights):
  257 cells, derived by sampling Lab on a 1-unit grid whose points lie on cell edges, where ``torch.round``
  rounds halves to even; so it misses (-90, 80), (-70, 90), (70, -110), (90, -90), (90, 0), which sRGB
  reaches (e.g. RGB(253, 0, 140) -> Lab(54.85, 85.03, -3.22)), and keeps (20, -80), which it does not.
- ``grid18`` (the seed project): an 18x18 grid over [-110, 110], 324 bins, cell width 220/18.

Shapes: ab is ``(N, 2, H, W)`` in CIELAB units; logits/probabilities are ``(N, Q, H, W)``.
"""
from __future__ import annotations

from functools import lru_cache

import torch

from .lab import lab_to_linear, rgb_to_lab
from .nearest import nearest_bins

GRIDS = ("srgb", "gamut", "grid18")


@lru_cache(maxsize=None)
def _gamut_centres() -> torch.Tensor:
    """The first release's 257 cells (kept: the shipped weights were trained on them). Sampled on cell edges,
    where ``torch.round`` rounds halves to even, so 5 cells that sRGB reaches are missing; see ``srgb``."""
    ab = torch.arange(-115, 115.5, 1.0, dtype=torch.float64)
    A, B = torch.meshgrid(ab, ab, indexing="ij")
    keep = torch.zeros(25, 25, dtype=torch.bool)  # cell indices -12..12
    for L in range(0, 101):
        lin = lab_to_linear(torch.stack([torch.full_like(A, float(L)), A, B]))
        ok = ((lin >= -1e-6) & (lin <= 1 + 1e-6)).all(0)
        qa = torch.round(A[ok] / 10).long() + 12
        qb = torch.round(B[ok] / 10).long() + 12
        keep[qa, qb] = True
    ia, ib = keep.nonzero(as_tuple=True)
    return torch.stack([(ia - 12) * 10.0, (ib - 12) * 10.0], dim=1).float()


@lru_cache(maxsize=None)
def _srgb_centres() -> torch.Tensor:
    """Every 10x10 cell (centred on multiples of 10) nearest to the ab of at least one 8-bit sRGB colour:
    261 cells (the 257 of ``gamut`` but (20, -80), which no 8-bit colour reaches, plus the 5 it missed). The ab
    shadow of the solid cube is the shadow of its surface, so its six faces suffice (tests/test_bins.py checks
    this against all 256^3 colours)."""
    v = torch.arange(256, dtype=torch.float64) / 255
    U, V = torch.meshgrid(v, v, indexing="ij")
    faces = torch.stack([torch.stack([torch.full_like(U, e), U, V]).roll(k, 0) for e in (0.0, 1.0) for k in range(3)])
    ab = rgb_to_lab(faces).movedim(-3, 0)[1:].reshape(2, -1)
    q = torch.floor(ab / 10 + 0.5).long() + 12            # nearest centre; no 8-bit colour sits on a tie
    keep = torch.zeros(25, 25, dtype=torch.bool)
    keep[q[0], q[1]] = True
    ia, ib = keep.nonzero(as_tuple=True)
    return torch.stack([(ia - 12) * 10.0, (ib - 12) * 10.0], dim=1).float()


def bin_centres(grid: str = "srgb") -> torch.Tensor:
    """``(Q, 2)`` float32 ab centres of the named grid."""
    if grid == "srgb":
        return _srgb_centres().clone()
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
    if ab.shape[1] != 2:
        raise ValueError(f"expected ab (N, 2, H, W), got {tuple(ab.shape)}")
    d2, idx = nearest_bins(ab, centres, k)        # a lookup of candidate bins, not a search over all Q
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
    # the bins as the innermost axis (a free view of channels-last logits, as the CPU fast path and training
    # produce; one copy otherwise): every softmax then runs along contiguous memory, in parallel over pixels,
    # about 2.5x faster than along dim 1 of a channels-last tensor
    x = logits.float().movedim(1, -1).contiguous()
    if log_prior_shift is not None:
        x = x + log_prior_shift.to(x)
    c = centres.to(x)
    if method == "mode":
        return c[x.argmax(-1)].movedim(-1, 1).contiguous()
    if method == "mean":
        p = torch.softmax(x, -1)
    elif method == "annealed":
        if not temperature > 0:
            raise ValueError("temperature must be > 0")
        # softmax subtracts the max of log p / T, which is >= -log(Q) / T: finite for T >= 1e-30. Below that
        # (1e-300 is 0 in float32: 0/0 = NaN, a black image) scale (log p - max) by the largest finite float
        # instead: 0 at the mode, -inf elsewhere, so the weights tend to the mode however small T is
        z = torch.log_softmax(x, -1)
        if temperature >= 1e-30:
            p = torch.softmax(z / temperature if temperature != 1 else z, -1)   # z / 1 == z: one pass fewer
        else:
            p = torch.softmax((z - z.amax(-1, keepdim=True)) * torch.finfo(z.dtype).max, -1)
    else:
        raise ValueError(f"unknown decode {method!r}; choose from {DECODES}")
    return (p @ c).movedim(-1, 1).contiguous()
