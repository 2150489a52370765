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

Cost (issue 25): hints are spread one at a time into running sums (no per-hint layer is kept), and when grid
pixels x hints exceeds :data:`WORK` the distances are computed on the grid pooled by an integer factor (cells of
f x f, the edge costs scaled so an edge costs the same grid distance) and the spread correction is upsampled:
memory grows with the pixels, time with at most WORK (512 hints on a 1024² grid: BENCHMARKS.md, "Hints: memory").
At the model's own size with a few hints (<= 64 hints at 256²) nothing is pooled and the result is the same.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..color.lab import fit_chroma
from .disc_set import DiscSet

EDGE_COST = 8.0     # extra grid pixels of distance per L unit of step above TEXTURE_L
TEXTURE_L = 2.0     # steps in smoothed L below this (texture, noise) cost no extra
SPREAD = 0.4        # minimum reach, as a share of the grid's longer side
REACH_PER_RADIUS = 8.0
NEAREST = 0.1       # hints compete: one nearer by this share of the side (geodesically) weighs e times more


NORMAL = 87.0       # exp(-x) is a float32 normal number up to here, a slow subnormal beyond
UNDERFLOW = 103.9   # ... and 0 beyond here: covers up to this still mark a pixel as reached (fit_chroma)
FIT_CHUNK = 2 ** 16  # pixels per fit_chroma call (bounded memory)
WORK = 2 ** 22      # pixel visits of the per-hint spreads: past grid pixels x hints = WORK, they run on a pooled grid


def pool_factor(h: int, w: int, hints: int) -> int:
    """The smallest ``f`` for which the grid pooled by ``f`` (ceil-sized cells of f x f) times ``hints`` is at most
    :data:`WORK` pixels: 1 (the grid itself) for a few hints at the model's own size."""
    f = 1
    while -(-h // f) * -(-w // f) * hints > WORK and f < max(h, w):
        f += 1
    return f


def _step_costs(L: torch.Tensor, factor: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """L ``(h, w)`` -> costs of horizontal ``(h, w-1)`` and vertical ``(h-1, w)`` steps, in units of ``factor``
    grid pixels (the pooled grid's step), so an edge costs the same grid distance at every ``factor``."""
    Ls = F.avg_pool2d(L[None, None].float(), 3, 1, 1, count_include_pad=False)[0, 0]
    cx = 1 + EDGE_COST / factor * ((Ls[:, 1:] - Ls[:, :-1]).abs() - TEXTURE_L).clamp(min=0)
    cy = 1 + EDGE_COST / factor * ((Ls[1:, :] - Ls[:-1, :]).abs() - TEXTURE_L).clamp(min=0)
    return cx, cy


def grid_graph(L: torch.Tensor, factor: int = 1):
    """The 4-neighbour graph of lightness ``L (h, w)`` with edge-aware step costs (a scipy CSR matrix, each step
    stored in both directions)."""
    from scipy.sparse import coo_matrix
    h, w = L.shape
    cx, cy = (c.double().numpy().ravel() for c in _step_costs(L, factor))
    idx = np.arange(h * w).reshape(h, w)
    rows = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    cols = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    both = (np.concatenate([cx, cy, cx, cy]), (np.concatenate([rows, cols]), np.concatenate([cols, rows])))
    return coo_matrix(both, shape=(h * w, h * w)).tocsr()    # both directions: Dijkstra skips a transpose per call


def geodesic_distance(graph, seeds, limit: float) -> np.ndarray:
    """Edge-aware distance (``inf`` beyond ``limit``) over ``graph`` from the flat pixel indices ``seeds`` ->
    float32 ``(nodes,)``; Dijkstra (scipy)."""
    from scipy.sparse.csgraph import dijkstra
    return dijkstra(graph, directed=True, indices=np.asarray(seeds), min_only=True, limit=limit).astype(np.float32)


def spread(L: torch.Tensor, discs: DiscSet, deltas: torch.Tensor, radii: torch.Tensor):
    """Each hint's correction ``deltas (k, 2)`` spread from its disc over lightness ``L (h, w)`` -> (``a * sum_k s_k
    delta_k`` ``(2, h, w)``, ``a`` ``(h, w)``, bool ``a > 0`` ``(h, w)``) (module docstring). One hint at a time,
    accumulated in place (a running softmax over the geodesic distances), on the grid pooled by :func:`pool_factor`:
    memory grows with the pixels and time with at most :data:`WORK`, not pixels x hints. (numpy, single-threaded:
    thousands of small element-wise steps, where torch's thread hand-offs cost more than the arithmetic.)"""
    h, w = L.shape
    f = pool_factor(h, w, len(discs))
    Lc = L.float() if f == 1 else F.avg_pool2d(L[None, None].float(), f, f, ceil_mode=True)[0, 0]
    shape = tuple(Lc.shape)
    graph = grid_graph(Lc, f)
    reach = (torch.clamp(radii * REACH_PER_RADIUS, min=SPREAD * max(h, w)) / f).numpy()   # in pooled pixels
    limit, soft = float(3 * reach.max()), np.float32(NEAREST * max(h, w) / f)
    deltas = deltas.float().numpy()
    n = shape[0] * shape[1]
    nearest = np.full(n, 1e9, np.float32)                   # running min of the (finite) distances
    total, acc, alpha = np.zeros(n, np.float32), np.zeros((2, n), np.float32), np.zeros(n, np.float32)
    reached = np.zeros(n, bool)                              # where any cover is above 0 in float32
    for i in range(len(discs)):
        dist = geodesic_distance(graph, discs.flat_indices(i, f).numpy(), limit)
        z = (dist / reach[i]) ** 6
        cover = exp_neg(z)
        reached |= z < UNDERFLOW
        finite = np.where(np.isfinite(dist), dist, np.float32(1e9))
        closer = np.minimum(nearest, finite)
        decay = exp_neg((nearest - closer) / soft)          # rescale the sums to the new nearest distance
        weight = exp_neg((finite - closer) / soft) * cover
        total *= decay
        total += weight
        acc *= decay
        acc += weight * deltas[i].reshape(2, 1)
        nearest = closer
        np.maximum(alpha, cover, out=alpha)
    corr = alpha * acc / np.maximum(total, np.float32(1e-12))   # the nearest hint wins (shares sum to 1)
    corr, alpha, reached = (torch.from_numpy(a).view(-1, *shape) for a in (corr, alpha, reached))
    if f > 1:
        up = F.interpolate(torch.cat([corr, alpha, reached.float()])[None], scale_factor=f,
                           mode="bilinear", align_corners=False)[0, :, :h, :w]
        return up[:2], up[2], up[3] > 0
    return corr, alpha[0], reached[0]


def exp_neg(x: np.ndarray) -> np.ndarray:
    """``exp(-x)`` for ``x >= 0``, flushed to 0 past :data:`NORMAL` (float32 subnormals are slow and negligible)."""
    out = np.exp(-np.minimum(x, np.float32(NORMAL)))
    out[x > NORMAL] = 0
    return out


def apply_hints(ab_net: torch.Tensor, L: torch.Tensor, discs, abs_: torch.Tensor,
                radii: torch.Tensor) -> torch.Tensor:
    """Network ab ``(1, 2, h', w')`` (any size), grid lightness ``L (1, 1, h, w)`` (CIELAB, 0-100), each
    hint's disc on the grid (a :class:`~.disc_set.DiscSet` or masks ``(k, h, w)`` bool), its ab ``(k, 2)`` and
    radius in grid pixels ``(k,)`` -> ab ``(1, 2, h, w)`` (module docstring)."""
    h, w = L.shape[-2:]
    base = F.interpolate(ab_net.float(), size=(h, w), mode="bilinear", align_corners=False)[0]
    if not isinstance(discs, DiscSet):
        discs, kept = DiscSet.from_masks(discs)
        abs_, radii = abs_[kept], radii[kept]
    abs_, radii = abs_.float(), radii.float()
    if not len(discs):
        return base.unsqueeze(0)
    own = torch.stack([discs.mean(base, i) for i in range(len(discs))])               # (k, 2)
    corr, alpha, reached = spread(L[0, 0], discs, abs_ - own, radii)
    out = base + corr
    touched = reached[None]            # hinted colours kept reachable at each pixel's own lightness
    for i in range(len(discs)):  # later hints win where discs overlap, as when painting
        discs.paint(out, i, abs_[i])
        discs.paint(touched, i, torch.ones(1))
    fit_chroma_where(L[0, 0].float(), out, touched[0])
    return out.unsqueeze(0)


def fit_chroma_where(L: torch.Tensor, ab: torch.Tensor, where: torch.Tensor, chunk: int = FIT_CHUNK) -> None:
    """:func:`~tinct.color.lab.fit_chroma` on the pixels of ``ab (2, h, w)`` where ``where (h, w)`` holds, in place,
    ``chunk`` pixels at a time (it needs ~1.3 KB a pixel at once: 1.3 GB for a 1024² grid in one piece)."""
    idx = where.flatten().nonzero().flatten()
    flat_L, flat_ab = L.reshape(-1), ab.view(2, -1)
    for i in range(0, len(idx), chunk):
        j = idx[i:i + chunk]
        lj, abj = flat_L[j].view(1, -1), flat_ab[:, j].view(2, 1, -1)
        # factors 1 and 0 only: a pixel left unchanged is in gamut as it is, where the full search keeps it too
        # (grey at L in 0-100 always fits), so only the others need the full search
        out = fit_chroma(lj, abj, steps=1)
        moved = (out != abj).any(0).flatten()
        if moved.any():
            out[:, :, moved] = fit_chroma(lj[:, moved], abj[:, :, moved])
        flat_ab[:, j] = out.view(2, -1)
