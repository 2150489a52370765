"""Clips for benchmarks/bench_reference.py (issue 27, video and album): each clip greyed, its first colour frame as
the reference, against per-frame automatic colour and the video stabiliser without a reference.

- Pans (:func:`pan_scores`): ``frames`` crops of 320x240 panning half a frame over one wallpaper (a fixed rule
  picks the wallpapers: every 4th of the sorted list, not chosen by result); PSNR on frames 2..n; flicker = mean
  |ab change| of the scene strip every crop holds, frame to frame; album spread = std over the frames of that
  strip's mean a, b.
- Real clips (:func:`video_scores`): a colour video file (e.g. examples/video/bbb_640x360_8s.mp4, CC BY 3.0),
  scored by ``tinct.video.evaluate`` (PSNR per frame; flicker along the truth's optical flow, minus the truth's
  own, "flicker excess"), per-frame (stability 0) and stabilised (0.6), with and without the reference.
"""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image


def pan_clip(wallpaper: np.ndarray, frames: int, size: tuple = (320, 240)) -> tuple[list, np.ndarray]:
    """``frames`` crops of ``size`` panning left to right over ``wallpaper``; -> (crops, their x offsets)."""
    H, W = wallpaper.shape[:2]
    cw, ch = size
    img = wallpaper
    if W < cw * 2 or H < ch:
        s = max(2 * cw / W, ch / H)
        img = np.asarray(Image.fromarray(wallpaper).resize((round(W * s), round(H * s)), Image.LANCZOS))
        H, W = img.shape[:2]
    xs = np.linspace(0, min(W - cw, cw // 2), frames).round().astype(int)   # half a frame: a shared region
    y0 = (H - ch) // 2
    return [np.ascontiguousarray(img[y0:y0 + ch, x:x + cw]) for x in xs], xs


def pan_scores(col, wallpaper: np.ndarray, frames: int, strength: float, grey_of, lab_of, score) -> dict:
    """One pan clip: album (``colorize_many``) and video (``colorize_frames``), automatic and with the first
    colour frame as reference at ``strength``."""
    from tinct.video.stabilize import colorize_frames
    crops, xs = pan_clip(wallpaper, frames)
    cw = crops[0].shape[1]
    shared = (int(xs[-1]), int(xs[0]) + cw)           # scene columns in every crop
    out = {}
    runs = {"automatic": dict(reference_strength=0),
            "first frame as reference": dict(reference=crops[0], reference_strength=strength)}
    greys = [grey_of(c) for c in crops]
    for name, kw in [(f"per frame, {k}", v) for k, v in runs.items()] + [(f"video, {k}", v) for k, v in runs.items()]:
        res = list(colorize_frames(col, iter(greys), **kw)) if name.startswith("video") else col.colorize_many(
            greys, **kw)
        ps = [score(r, c) for r, c in zip(res[1:], crops[1:])]   # the reference frame itself is not scored
        region = [lab_of(r)[0, 1:, :, shared[0] - x: shared[1] - x] for r, x in zip(res, xs)]
        means = torch.stack([r.mean((1, 2)) for r in region])               # (frames, 2)
        flicker = float(torch.stack([(b - a).abs().mean() for a, b in zip(region, region[1:])]).mean())
        out[name] = {"psnr": round(float(np.mean(ps)), 3), "flicker_ab": round(flicker, 3),
                     "shared_region_mean_ab_std": [round(float(v), 3) for v in means.std(0)]}
    truth = torch.stack([lab_of(c)[0, 1:, :, shared[0] - x: shared[1] - x].mean((1, 2)) for c, x in zip(crops, xs)])
    out["truth"] = {"shared_region_mean_ab_std": [round(float(v), 3) for v in truth.std(0)]}
    return out


def video_scores(col, path, strength: float, max_frames: int | None = None) -> dict:
    """A colour video file, greyed: per-frame and stabilised, automatic and with its first frame as reference."""
    import itertools

    from tinct.video.evaluate import evaluate_clip, video_frames
    frames = video_frames(path)

    def clip():
        return itertools.islice(frames(), max_frames)
    first = next(iter(clip()))
    auto = evaluate_clip(col, clip, (0.0, 0.6), reference_strength=0)
    refd = evaluate_clip(col, clip, (0.0, 0.6), reference=first, reference_strength=strength)
    keep = ("psnr", "auc", "flicker", "flicker_excess")
    pick = lambda r: {k: round(float(r[k]), 3) for k in keep}   # noqa: E731
    return {"grey": pick(auto["grey"]), "per frame, automatic": pick(auto["s=0"]),
            "video, automatic": pick(auto["s=0.6"]), "per frame, first frame as reference": pick(refd["s=0"]),
            "video, first frame as reference": pick(refd["s=0.6"])}


def mean_over(clips: dict) -> dict:
    """Per setting, the mean of each figure over the clips (lists averaged element-wise)."""
    out: dict = {}
    for res in clips.values():
        for setting, figs in res.items():
            for k, v in figs.items():
                out.setdefault(setting, {}).setdefault(k, []).append(v)
    return {s: {k: (np.round(np.mean(v, 0), 3).tolist()) for k, v in figs.items()} for s, figs in out.items()}
