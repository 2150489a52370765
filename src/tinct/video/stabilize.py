"""Temporal stability: frame-to-frame propagation of the network's per-pixel bin distributions.

For each frame the network predicts a distribution ``p`` over the ab bins at 1/4 of its input grid. The
previous frame's (already blended) distribution is pulled into the current frame along optical flow computed
on L, and mixed in geometrically: ``log p = (1 - w) log p_net + w warp(log p_prev)`` (a product of experts: a
linear mixture of two different colours would decode to their desaturated average) with ``w = stability * confidence`` per pixel
(confidence from the warp error of L; 0 for points coming from outside the frame). ``stability`` 0 is plain
per-frame colorization; 1 keeps colours as long as the flow is trusted. A scene cut (L histogram jump) resets
the memory. The blended distribution is decoded exactly as for photos (``tinct.color.decode`` with the
colorizer's bins, temperature and rebalance correction) and recombined with each frame's full-resolution L.

Hints ``{frame: [hint, ...]}`` are added to the network's hint channels from their frame on, moved along the
flow each frame, and dropped at the next cut.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Iterable, Iterator

import numpy as np
import torch
import torch.nn.functional as F

from ..color import decode
from ..pipeline.hints import as_hints, render_hints
from .flow import FlowEstimator, confidence, is_cut, l_histogram, resize_flow, warp

DEFAULT_STABILITY = 0.6


def hints_by_frame(hints) -> dict[int, list]:
    """``None``, a list (hints on frame 0) or ``{frame: hints}`` -> ``{frame: [Hint]}``."""
    if not hints:
        return {}
    if isinstance(hints, dict):
        out = {}
        for f, hl in hints.items():
            if int(f) < 0:
                raise ValueError(f"hint frame {f} is negative")
            out.setdefault(int(f), []).extend(as_hints(hl))
        return out
    return {0: as_hints(hints)}


class TemporalColorizer:
    """Stateful per-frame colorization. ``step(rgb)`` -> low-resolution ab ``(1, 2, h/4, w/4)``; feed frames in
    order. ``colorizer`` is a ``tinct.Colorizer``; ``opts`` its ``Options``."""

    def __init__(self, colorizer, opts, stability: float = DEFAULT_STABILITY, hints=None):
        if not 0 <= stability <= 1:
            raise ValueError(f"stability must be in [0, 1], not {stability}")
        self.c = colorizer
        self.opts = opts
        self.stability = float(stability)
        self.pending = hints_by_frame(hints)
        self.active: list = []
        self.flow = FlowEstimator() if (self.stability > 0 or self.pending) else None
        self.shift = colorizer.shift(opts.rebalance_correction)
        self.index = 0
        self.prev = None   # (L (h, w), histogram, p (1, Q, h/4, w/4)) of the previous frame
        self.cuts: list[int] = []

    @torch.inference_mode()
    def step(self, rgb: np.ndarray) -> torch.Tensor:
        H, W = rgb.shape[:2]
        l = self.c.network_input(rgb, self.opts.size)  # (1, 1, h, w), CPU
        hist = l_histogram(l)
        flow = None
        cut = self.prev is not None and (self.prev[0].shape != l.shape[-2:] or is_cut(self.prev[1], hist))
        if cut:
            self.cuts.append(self.index)
            self.active = []
        elif self.prev is not None and self.flow is not None and (self.stability > 0 or self.active):
            flow = self.flow(self.prev[0], l[0, 0])
        if self.active and flow is not None:
            self.active = _move_hints(self.active, flow, (W, H))
        self.active = self.active + self.pending.pop(self.index, [])
        hint = render_hints(self.active, (W, H), l.shape[-2:]).to(self.c.device) if self.active else None
        logits = self.c.net(l.to(self.c.device), hint).float().cpu()
        p = torch.log_softmax(logits, 1)  # log-probabilities: blended geometrically (stays as peaked as p_net)
        if flow is not None and self.stability > 0:
            size = p.shape[-2:]
            f_small = resize_flow(flow, size)
            l_prev = F.interpolate(self.prev[0][None, None], size=size, mode="area")
            l_cur = F.interpolate(l, size=size, mode="area")
            w = self.stability * confidence(l_prev, l_cur, f_small)
            p_prev, _ = warp(self.prev[2], f_small)
            p = (1 - w) * p + w * p_prev
        self.prev = (l[0, 0], hist, p)
        self.index += 1
        return decode(p, self.c.centres.cpu(), self.opts.decode, self.opts.temperature,
                      None if self.shift is None else self.shift.cpu())


def _move_hints(hints: list, flow: np.ndarray, image_size: tuple[int, int]) -> list:
    """Move hints (image pixels) to where the backward ``flow`` (network-grid pixels) says they went:
    ``x_new ~ x - flow(x)`` (flow: median around the point). Hints that leave the frame are dropped."""
    W, H = image_size
    h, w = flow.shape[:2]
    out = []
    for hint in hints:
        gx = min(max(int(hint.x * w / W), 0), w - 1)
        gy = min(max(int(hint.y * h / H), 0), h - 1)
        win = flow[max(gy - 3, 0):gy + 4, max(gx - 3, 0):gx + 4].reshape(-1, 2)
        dx, dy = np.median(win, 0)  # a 7x7 median: robust to one bad flow vector
        x, y = hint.x - float(dx) * W / w, hint.y - float(dy) * H / h
        if 0 <= x < W and 0 <= y < H:
            out.append(replace(hint, x=x, y=y))
    return out


def colorize_frames(colorizer, frames: Iterable[np.ndarray], stability: float = DEFAULT_STABILITY, hints=None,
                    decode: str | None = None, temperature: float | None = None, size: int | None = None
                    ) -> Iterator[np.ndarray]:
    """Colorize a sequence of uint8 RGB frames ``(H, W, 3)`` (grey or colour: only L is used), lazily, with
    temporal stability; yields uint8 RGB frames of the same size. ``hints``: a list (on frame 0) or
    ``{frame_index: [(x, y, (r, g, b)[, radius]), ...]}``; they carry forward through the shot."""
    opts = colorizer.options(decode, temperature, size)
    state = TemporalColorizer(colorizer, opts, stability, hints)
    for rgb in frames:
        if not (isinstance(rgb, np.ndarray) and rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3):
            raise ValueError("frames must be uint8 RGB arrays (H, W, 3)")
        yield colorizer.recombine(rgb, state.step(rgb))
