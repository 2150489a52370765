"""Keeping a reference's local term steady over a shot (issue 27): places whose match confidence sits on the ramp
``LOW..HIGH`` (pipeline/correspondence.py) can take different matched colours on consecutive frames, and the
stabiliser does not fully hide such a switch. :class:`LocalTermSmoother` keeps, per place of the logits' grid, a
running average of the local term and of its confidence, carried along the optical flow from frame to frame and
weighted by the flow's trust (as the stabiliser mixes distributions): ``x_t = lerp(x_new, warp(x_{t-1}), CARRY *
trust)``. One lives for one shot of one reference (the video path makes a new one at a cut and at a frame
reference switch); photos never get one, so their colours are exactly as without it."""
from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F

from .flow import confidence, resize_flow, warp

CARRY = 0.7   # the share of the (warped) running average kept at each frame; 0: no smoothing (BENCHMARKS.md)


class LocalTermSmoother:
    """``step(l_prev, l, flow)`` -> the callable ``(local, conf) -> (local, conf)`` that
    ``pipeline.reference_local.reweight`` applies to this frame's local term ``(N, Q, h, w)`` and confidence
    ``(N, 1, h, w)``: mixed with the previous frame's running averages pulled along the backward ``flow``
    (``(h', w', 2)`` pixels of the network grid; None, e.g. at the first frame: start afresh). Not thread-safe:
    the steps must run in frame order (the video path runs one network thread)."""

    def __init__(self, carry: float | None = None):
        self.carry = CARRY if carry is None else float(carry)
        if not 0 <= self.carry < 1:
            raise ValueError(f"carry must be in [0, 1), not {self.carry}")
        self.local: torch.Tensor | None = None
        self.conf: torch.Tensor | None = None

    def step(self, l_prev: torch.Tensor | None, l: torch.Tensor, flow: np.ndarray | None):
        return functools.partial(self._update, l_prev, l, flow)

    def _update(self, l_prev, l, flow, local: torch.Tensor, conf: torch.Tensor) -> tuple:
        prev = self.local
        if self.carry > 0 and flow is not None and prev is not None and prev.shape == local.shape \
                and local.shape[0] == 1:
            size = local.shape[-2:]
            f = resize_flow(flow, size)
            lp = F.interpolate(l_prev.view(1, 1, *l_prev.shape[-2:]).float(), size=size, mode="area")
            lc = F.interpolate(l.view(1, 1, *l.shape[-2:]).float(), size=size, mode="area")
            w = (self.carry * confidence(lp, lc, f)).to(local)                       # (1, 1, h, w)
            local = torch.lerp(local, warp(prev, f)[0].to(local), w)
            conf = torch.lerp(conf, warp(self.conf, f)[0].to(conf), w)
        self.local, self.conf = local.float().cpu(), conf.float().cpu()
        return local, conf
