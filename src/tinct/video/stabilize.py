"""Temporal stability: smoothing the network's per-pixel bin distributions along optical flow, both ways.

For each frame the network predicts log-probabilities ``log p`` over the ab bins at 1/4 of its input grid (kept
as logits: the same up to one constant per pixel, which nothing below changes).
Distributions are mixed geometrically (a product of experts: a linear mixture of two different colours would
decode to their desaturated average), with per-pixel weights ``w = stability * confidence`` (confidence from the
warp error of L, 0 for points coming from outside the frame):

* forward (causal): ``F_t = (1 - w) log p_t + w warp(F_{t-1})``, the previous *smoothed* state pulled along the
  backward flow (bicubic: chained warps blur less than bilinear ones; as one sparse matrix per flow applied to all
  bins at once, ``flow.warp_matrix``);
* backward, over the next ``lookahead`` frames: ``G_t = (1 - w) log p_t + w warp(G_{t+1})``, ending at the last
  look-ahead frame's own prediction;
* output ``(F_t + w warp(G_{t+1})) / (1 + w)``: weights ``~ w^|k|`` on frame ``t + k``, a symmetric filter.

A causal filter alone lags: when the predictions drift (a zoom shows a subject bigger and the network grows
surer of its colour) it keeps stale colours, losing accuracy. The symmetric window has no lag for such drifts,
at the price of ``lookahead`` frames of delay (frames, their L and distributions held: memory stays bounded),
plus one frame whose network runs on a worker thread while the frames before it are written. ``stability`` 0
is plain per-frame colorization (no smoothing delay); 1 keeps colours as long as the flow is trusted. A scene
cut (L histogram jump) breaks both chains. The smoothed distribution is decoded exactly as for photos (the
same ab as ``tinct.color.decode`` with the colorizer's bins, temperature and rebalance correction, computed on
pixel rows: ``decode_rows``) and recombined with each frame's full-resolution L.

Hints ``{frame: [hint, ...]}`` are added to the network's hint channels from their frame on, moved along the
flow each frame, and dropped at the next cut. Frame references (``frame_options``: video/frame_references.py)
switch the reference colours from their frame on; the smoothing restarts there, so no frame before it is changed.
A reference's local term is also averaged over the shot along the flow before it re-weights each frame
(video/local_smoothing.py; afresh at cuts and at reference switches; not at stability 0).
"""
from __future__ import annotations

import weakref
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Iterable, Iterator

import numpy as np
import torch
import torch.nn.functional as F

from ..pipeline.hints import as_hints, render_hints
from .decode_rows import decode_rows
from .frame_references import frame_options
from .flow import FlowEstimator, confidence, is_cut, l_histogram, resize_flow, warp_matrix
from .local_smoothing import LocalTermSmoother

DEFAULT_STABILITY = 0.6
DEFAULT_LOOKAHEAD = 2   # frames


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
    """Stateful colorization of a frame sequence. ``push(rgb, tag)`` returns the frames now ready, as a list of
    ``(rgb, tag, ab)`` with ab low-resolution ``(1, 2, h/4, w/4)``; ``finish()`` returns the rest. Frames come out
    in order, each ``lookahead + 1`` frames after it went in (1 when ``stability`` is 0): the network of the
    newest frame runs on a worker thread while the caller writes the frames returned, so the network and the
    rest of the pipeline (decoding, flow, smoothing, recombining, encoding) share the cores. ``colorizer`` is a
    ``tinct.Colorizer``; ``opts`` its ``Options``; ``frame_options`` ``{frame index: Options}``: from that
    frame on, the network's distributions are re-weighted by those options' reference (video/frame_references.py),
    and the smoothing starts afresh there (the frames before it keep their colours)."""

    def __init__(self, colorizer, opts, stability: float = DEFAULT_STABILITY, hints=None,
                 lookahead: int = DEFAULT_LOOKAHEAD, frame_options: dict | None = None):
        if not 0 <= stability <= 1:
            raise ValueError(f"stability must be in [0, 1], not {stability}")
        if not 0 <= lookahead <= 16:
            raise ValueError(f"lookahead must be in 0..16 frames, not {lookahead}")
        self.c = colorizer
        self.opts = opts
        self.stability = float(stability)
        self.lookahead = int(lookahead) if self.stability > 0 else 0
        self.pending = hints_by_frame(hints)
        self.frame_options = dict(frame_options or {})
        self.active: list = []
        self.flow = FlowEstimator() if (self.stability > 0 or self.pending) else None
        self.shift = colorizer.shift(opts.rebalance_correction)
        self.index = 0
        self.prev = None   # (L (h, w), histogram) of the last frame in
        self.queue: list[_Frame] = []   # frames in, not yet out (the last one out is not kept)
        self.last_fwd = None   # F of the last frame settled
        self.worker = None     # one thread running the network, overlapping the rest of the pipeline
        self.running = None    # the _Job whose network is running
        self.cuts: list[int] = []
        self.smoother = None   # the reference's local term averaged over the shot (new at cuts; none per frame)

    @torch.inference_mode()
    def push(self, rgb: np.ndarray, tag=None) -> list:
        H, W = rgb.shape[:2]
        l = self.c.network_input(rgb, self.opts.size)  # (1, 1, h, w), CPU
        hist = l_histogram(l)
        flow = None
        cut = self.prev is not None and (self.prev[0].shape != l.shape[-2:] or is_cut(self.prev[1], hist))
        if cut:
            self.cuts.append(self.index)
            self.active = []
        elif self.prev is not None and self.flow is not None:
            flow = self.flow(self.prev[0], l[0, 0])
        if self.active and flow is not None:
            self.active = _move_hints(self.active, flow, (W, H))
        self.active = self.active + self.pending.pop(self.index, [])
        new_reference = self.index in self.frame_options
        if new_reference:   # a frame reference takes over: no smoothing across the switch
            self.opts = self.frame_options.pop(self.index)
            flow = None
        if self.stability > 0 and (self.smoother is None or cut or new_reference):   # its local term afresh
            self.smoother = LocalTermSmoother()
        hint = render_hints(self.active, (W, H), l.shape[-2:]).to(self.c.device) if self.active else None
        if self.worker is None:
            self.worker = _network_worker(self.c.device)
            weakref.finalize(self, self.worker.shutdown, wait=False)
        l_prev = self.prev[0] if flow is not None else None
        job = _Job(rgb, tag, l, l_prev, flow,
                   self.worker.submit(_predict, self.c, l, hint, self.opts,
                                      None if self.smoother is None else self.smoother.step(l_prev, l, flow)))
        self.prev = (l[0, 0], hist)
        self.index += 1
        if self.running is not None:   # the previous frame's network ran while this frame was prepared
            self._settle(self.running)
        self.running = job   # its network runs while the caller writes the frames returned now
        return [self._pop() for _ in range(len(self.queue) - self.lookahead)]

    @torch.inference_mode()
    def finish(self) -> list:
        """The frames still held back (call once, after the last ``push``)."""
        if self.running is not None:
            self._settle(self.running)
            self.running = None
        if self.worker is not None:
            self.worker.shutdown()
        return [self._pop() for _ in range(len(self.queue))]

    def _settle(self, job: "_Job") -> None:
        """Wait for ``job``'s network, smooth it forward along the flow from the frame before, queue it."""
        size, p = job.result.result()
        frame = _Frame(job.rgb, job.tag, p, p, None, size)
        if job.flow is not None and self.stability > 0:
            l_prev = F.interpolate(job.l_prev[None, None], size=size, mode="area")
            l_cur = F.interpolate(job.l, size=size, mode="area")
            f_back = resize_flow(job.flow, size)  # pulls the previous frame into this one
            w = self.stability * confidence(l_prev, l_cur, f_back).reshape(-1, 1)
            frame.fwd = torch.lerp(p, warp_matrix(f_back) @ self.last_fwd, w)  # (1 - w) p + w warp(F)
            if self.lookahead:
                f_fwd = resize_flow(self.flow(job.l[0, 0], job.l_prev), size)  # pulls this frame into the previous
                frame.back = (warp_matrix(f_fwd), self.stability * confidence(l_cur, l_prev, f_fwd).reshape(-1, 1))
        self.last_fwd = frame.fwd
        self.queue.append(frame)

    def _pop(self) -> tuple:
        q, frame = self.queue, self.queue[0]
        n = 1  # q[0 .. n-1]: this frame and the following ones of its shot, within the look-ahead
        while n < len(q) and n <= self.lookahead and q[n].back is not None:
            n += 1
        out = frame.fwd
        if n > 1:
            g = q[n - 1].p
            for j in range(n - 2, -1, -1):
                m, w = q[j + 1].back
                pulled = m @ g
                if j:
                    g = torch.lerp(q[j].p, pulled, w)
                else:
                    out = torch.addcmul(out, w, pulled).div_(1 + w)
        q.pop(0)
        ab = decode_rows(out, self.c.centres.cpu(), self.opts.decode, self.opts.temperature,
                         None if self.shift is None else self.shift.cpu())
        return frame.rgb, frame.tag, ab.T.reshape(1, 2, *frame.size)


NETWORK_THREADS = None   # torch threads of the network's worker on a CPU; None: all cores but one (at least 1)


def _network_worker(device) -> ThreadPoolExecutor:
    """One thread for the network. On a CPU it gets its own torch thread count (``NETWORK_THREADS``), so the
    network and the work beside it (flow, warps, recombining; codec threads) do not oversubscribe the cores;
    the caller's own count and the default for new threads stay as they were."""
    n = torch.get_num_threads()
    k = n if device.type != "cpu" else NETWORK_THREADS or max(1, n - 1)
    pool = ThreadPoolExecutor(1, thread_name_prefix="tinct-network", initializer=_set_threads, initargs=(k,))
    pool.submit(int).result()  # the thread is started and set up ...
    torch.set_num_threads(n)   # ... before the default for other threads is put back
    return pool


def _set_threads(k: int) -> None:
    torch.ones(1 << 16).add_(1)  # ATen sets a thread's count lazily on its first parallel op: do that first
    torch.set_num_threads(k)


def _predict(colorizer, l: torch.Tensor, hint, opts, smoother=None) -> tuple:
    """(the distributions' (h, w), logits ``(h*w, Q)``: pixels in rows): the network in the Colorizer's precision,
    re-weighted by the options' reference colours if any (their local term averaged over the shot by
    ``smoother``, a step of video/local_smoothing.py).

    Logits, not log-probabilities: they differ by one constant per pixel, and every step after (warps whose
    taps sum to 1, per-pixel mixing weights, a softmax per pixel in the decode) keeps such a constant one per
    pixel, so the decoded colours are the same without a log-softmax over every frame."""
    with torch.inference_mode():
        logits = colorizer.forward_logits(l, hint).float()
        logits = colorizer.reweight(logits, opts, l.to(logits.device), smoother).cpu()   # reference colours, if any
        return logits.shape[-2:], logits[0].flatten(1).T.contiguous()


@dataclass
class _Job:
    rgb: np.ndarray
    tag: object
    l: torch.Tensor                   # L at the network grid (1, 1, h, w)
    l_prev: torch.Tensor | None       # the previous frame's L (h, w) when there is a flow
    flow: np.ndarray | None           # backward flow from the previous frame (None at the start and at cuts)
    result: Future                    # of _predict


@dataclass
class _Frame:
    rgb: np.ndarray
    tag: object
    p: torch.Tensor            # the network's logits (h*w, Q): pixels in rows (see _predict)
    fwd: torch.Tensor          # forward-smoothed log-probabilities, same layout
    back: tuple | None         # (warp matrix pulling this frame into the previous one, weight (h*w, 1)) or None
    size: tuple                # (h, w) of the distributions


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
                    decode: str | None = None, temperature: float | None = None, size: int | None = None,
                    lookahead: int = DEFAULT_LOOKAHEAD, frame_references: dict | None = None,
                    **reference) -> Iterator[np.ndarray]:
    """Colorize a sequence of uint8 RGB frames ``(H, W, 3)`` (grey or colour: only L is used), lazily, with
    temporal stability; yields uint8 RGB frames of the same size, in order, reading at most ``lookahead`` frames
    ahead. ``hints``: a list (on frame 0) or ``{frame_index: [(x, y, (r, g, b)[, radius]), ...]}``; they carry
    forward through the shot. ``reference``: ``reference=``, ``palette=``, ``reference_strength=`` as
    ``Colorizer.options`` (analysed once for the clip). ``frame_references``: ``{frame_index: reference}``, each
    steering from its frame until the next (video/frame_references.py; all analysed before the first frame)."""
    opts = colorizer.options(decode, temperature, size, **reference)
    per_frame = frame_options(colorizer, frame_references, decode, temperature, size, **reference)
    state = TemporalColorizer(colorizer, opts, stability, hints, lookahead, per_frame)
    for rgb in frames:
        if not (isinstance(rgb, np.ndarray) and rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3):
            raise ValueError("frames must be uint8 RGB arrays (H, W, 3)")
        for src, _, ab in state.push(rgb):
            yield colorizer.recombine(src, ab)
    for src, _, ab in state.finish():
        yield colorizer.recombine(src, ab)
