"""Hint discs on a grid without a full-grid mask per hint (issue 25: 512 hints on a 1024² grid once took
512 full-size masks). A disc is kept as its circle (or, when given as a mask, its cropped bounding box) and its
mask is made on demand for its own box only, so memory grows with the discs' areas, not grid × hints."""
from __future__ import annotations

import math

import torch


class DiscSet:
    """``k`` discs on an ``(h, w)`` grid. ``patch(i)`` -> ``(y0, x0, bool mask (bh, bw))``: disc ``i`` is
    ``mask`` placed with its top-left at ``(y0, x0)``; every disc holds at least one pixel."""

    def __init__(self, grid: tuple[int, int]):
        self.grid = (int(grid[0]), int(grid[1]))
        self._items: list[tuple] = []

    def __len__(self) -> int:
        return len(self._items)

    def add_circle(self, cx: float, cy: float, r: float) -> None:
        """The pixels whose centres lie within ``r`` of ``(cx, cy)`` (grid pixels), and the pixel under the point."""
        self._items.append(("circle", float(cx), float(cy), float(r)))

    def add_mask(self, y0: int, x0: int, mask: torch.Tensor) -> None:
        self._items.append(("mask", int(y0), int(x0), mask.bool()))

    @classmethod
    def from_masks(cls, masks: torch.Tensor) -> tuple["DiscSet", list[int]]:
        """Dense masks ``(k, h, w)`` -> (their DiscSet, the indices of the non-empty ones it keeps)."""
        out, kept = cls(tuple(masks.shape[-2:])), []
        for i, m in enumerate(masks.bool()):
            ys, xs = m.any(1).nonzero(), m.any(0).nonzero()
            if len(ys):
                y0, y1, x0, x1 = int(ys[0]), int(ys[-1]) + 1, int(xs[0]), int(xs[-1]) + 1
                out.add_mask(y0, x0, m[y0:y1, x0:x1].clone())
                kept.append(i)
        return out, kept

    def patch(self, i: int) -> tuple[int, int, torch.Tensor]:
        item = self._items[i]
        if item[0] == "mask":
            return item[1], item[2], item[3]
        _, cx, cy, r = item
        h, w = self.grid
        py, px = min(int(cy), h - 1), min(int(cx), w - 1)          # the pixel under the point
        y0 = max(0, min(math.floor(cy - r - 1), py)) if math.isfinite(r) else 0
        y1 = min(h, max(math.ceil(cy + r + 1), py + 1)) if math.isfinite(r) else h
        x0 = max(0, min(math.floor(cx - r - 1), px)) if math.isfinite(r) else 0
        x1 = min(w, max(math.ceil(cx + r + 1), px + 1)) if math.isfinite(r) else w
        ys = torch.arange(y0, y1, dtype=torch.float32).view(-1, 1) + 0.5
        xs = torch.arange(x0, x1, dtype=torch.float32).view(1, -1) + 0.5
        mask = ((xs - cx) ** 2 + (ys - cy) ** 2) <= r * r
        mask[py - y0, px - x0] = True
        return y0, x0, mask

    def paint(self, planes: torch.Tensor, i: int, values: torch.Tensor) -> None:
        """Set disc ``i`` of ``planes (c, h, w)`` to ``values (c,)``, in place."""
        y0, x0, m = self.patch(i)
        view = planes[:, y0:y0 + m.shape[0], x0:x0 + m.shape[1]]
        view[:, m] = values.to(planes.dtype).view(-1, 1)

    def mean(self, planes: torch.Tensor, i: int) -> torch.Tensor:
        """The mean of ``planes (c, h, w)`` over disc ``i`` -> ``(c,)``."""
        y0, x0, m = self.patch(i)
        return planes[:, y0:y0 + m.shape[0], x0:x0 + m.shape[1]][:, m].mean(1)

    def flat_indices(self, i: int, factor: int = 1) -> "torch.Tensor":
        """Disc ``i``'s pixels as flat indices into the grid pooled by ``factor`` (its cells of factor² pixels,
        ceil-sized), sorted and unique."""
        y0, x0, m = self.patch(i)
        ys, xs = m.nonzero(as_tuple=True)
        ys, xs = (ys + y0) // factor, (xs + x0) // factor
        wc = -(-self.grid[1] // factor)
        return torch.unique(ys * wc + xs)

    def dense(self) -> torch.Tensor:
        """All discs as masks ``(k, h, w)`` (for small grids and tests)."""
        out = torch.zeros(len(self), *self.grid, dtype=torch.bool)
        for i in range(len(self)):
            y0, x0, m = self.patch(i)
            out[i, y0:y0 + m.shape[0], x0:x0 + m.shape[1]] = m
        return out
