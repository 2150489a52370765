"""Edge-aware propagation of hint colours over the photo's own lightness (issue 13).

In the spirit of Levin et al. 2004 ("Colorization using optimization": neighbours of similar lightness get
similar colour), but as an edge-aware *geodesic* spread, which lets one hint fill its region without a
second hint to stop it. Per hint k:

- ``D_k``: the geodesic distance (grid pixels) from the hint's disc, where a step between 4-neighbours costs
  ``1 + EDGE_COST * max(|L_r - L_s| - TEXTURE_L, 0)`` on a lightly smoothed L, so crossing an edge in L of
  30 L units costs ~100 pixels while fine texture costs nothing extra;
- its cover ``W_k = exp(-(D_k / reach)^6)`` (flat near the hint, then a quick fall) with ``reach`` = the hint's radius scaled by ``REACH_PER_RADIUS``, at least
  ``SPREAD`` of the grid's longer side;
Output ab = network ab + a * sum_k s_k (ab_k - n_k), with a = max_k W_k, n_k the network's own mean ab on hint
k's disc, and shares s_k proportional to W_k exp(-(D_k - min_j D_j) / (NEAREST * side)) (the geodesically
nearest hint wins, with a soft seam); exactly each hint's ab on its disc. So what spreads is each hint's
*correction* of the network's colour, not a flat fill: the colour holds at the point, the region of even
lightness it lies on moves by the same amount and keeps the network's own variation (a sky's gradient, shading),
the move stops at edges and fades out far away. (A flat fill, ``(1 - a) * network + a * sum_k s_k ab_k``, was
the rule until session 7: 0.14 dB less with 10 hints on held-out training images, BENCHMARKS.md.)
No hints -> the caller keeps the network's ab unchanged.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..color.lab import fit_chroma

EDGE_COST = 8.0     # extra grid pixels of distance per L unit of step above TEXTURE_L
TEXTURE_L = 2.0     # steps in smoothed L below this (texture, noise) cost no extra
SPREAD = 0.4        # minimum reach, as a share of the grid's longer side
REACH_PER_RADIUS = 8.0
NEAREST = 0.1       # hints compete: one nearer by this share of the side (geodesically) weighs e times more


def _step_costs(L: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """L ``(h, w)`` -> costs of horizontal ``(h, w-1)`` and vertical ``(h-1, w)`` steps."""
    Ls = F.avg_pool2d(L[None, None].float(), 3, 1, 1, count_include_pad=False)[0, 0]
    cx = 1 + EDGE_COST * ((Ls[:, 1:] - Ls[:, :-1]).abs() - TEXTURE_L).clamp(min=0)
    cy = 1 + EDGE_COST * ((Ls[1:, :] - Ls[:-1, :]).abs() - TEXTURE_L).clamp(min=0)
    return cx, cy


def geodesic_distance(L: torch.Tensor, seeds: torch.Tensor, limit: float) -> torch.Tensor:
    """Edge-aware distance (grid pixels; ``inf`` beyond ``limit``) from the ``True`` pixels of each seed mask
    ``(k, h, w)`` over lightness ``L (h, w)`` -> ``(k, h, w)``; Dijkstra on the 4-neighbour grid (scipy)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import dijkstra
    h, w = L.shape
    cx, cy = (c.double().numpy().ravel() for c in _step_costs(L))
    idx = np.arange(h * w).reshape(h, w)
    rows = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    cols = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    graph = coo_matrix((np.concatenate([cx, cy]), (rows, cols)), shape=(h * w, h * w)).tocsr()
    out = np.empty((len(seeds), h * w))
    for k, seed in enumerate(seeds):
        out[k] = dijkstra(graph, directed=False, indices=np.flatnonzero(seed.numpy().ravel()), min_only=True,
                          limit=limit)
    return torch.from_numpy(out).float().view(-1, h, w)


def apply_hints(ab_net: torch.Tensor, L: torch.Tensor, discs: torch.Tensor, abs_: torch.Tensor,
                radii: torch.Tensor) -> torch.Tensor:
    """Network ab ``(1, 2, h', w')`` (any size), grid lightness ``L (1, 1, h, w)`` (CIELAB, 0-100), each
    hint's disc on the grid ``(k, h, w)`` bool, its ab ``(k, 2)`` and radius in grid pixels ``(k,)``
    -> ab ``(1, 2, h, w)`` (module docstring)."""
    h, w = L.shape[-2:]
    base = F.interpolate(ab_net.float(), size=(h, w), mode="bilinear", align_corners=False)[0]
    keep = discs.flatten(1).any(1)
    discs, abs_, radii = discs[keep], abs_[keep].float(), radii[keep].float()
    if not len(discs):
        return base.unsqueeze(0)
    reach = torch.clamp(radii * REACH_PER_RADIUS, min=SPREAD * max(h, w))
    dist = geodesic_distance(L[0, 0], discs, float(3 * reach.max()))
    cover = torch.exp(-(dist / reach.view(-1, 1, 1)) ** 6)                             # (k, h, w)
    finite = torch.where(dist.isfinite(), dist, torch.full((), 1e9))
    share = torch.exp(-(finite - finite.min(0).values) / (NEAREST * max(h, w))) * cover
    share = share / share.sum(0).clamp(min=1e-12)                                      # the nearest hint wins
    alpha = cover.max(0).values
    own = torch.stack([base[:, d].mean(1) for d in discs])                              # (k, 2)
    out = base + alpha * torch.einsum("khw,kc->chw", share, abs_ - own)
    for k in range(len(discs)):  # later hints win where discs overlap, as when painting
        out[:, discs[k]] = abs_[k].view(2, 1)
    touched = (alpha > 0) | discs.any(0)      # hinted colours kept reachable at each pixel's own lightness
    out = torch.where(touched, fit_chroma(L[0, 0].float(), out), out)
    return out.unsqueeze(0)
