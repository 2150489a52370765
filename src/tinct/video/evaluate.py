"""``tinct evaluate-video CLIP...``: grey colour clips (CIELAB L kept), colorize them per frame and with temporal
stability, and report per-frame accuracy and flicker.

Accuracy: AuC, rebalanced AuC (the clip's own ab prior), PSNR per frame (``tinct.color.metrics``), beside the
grey baseline (ab = 0). Flicker: the mean ab distance (CIELAB units) between each output frame and the
previous output frame pulled along optical flow computed on the *truth* (DIS on L), over pixels whose source
is inside the frame, pairs across scene cuts left out; minus the same measure of the truth itself (its real
colour changes and the flow's warp error). The excess is the flicker the colorizer adds.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

from ..color import lab_to_rgb, rgb_to_lab
from ..color.metrics import MetricAccumulator
from .flow import FlowEstimator, is_cut, l_histogram, warp
from .stabilize import DEFAULT_STABILITY, colorize_frames


def _lab(rgb: np.ndarray) -> torch.Tensor:
    return rgb_to_lab(torch.from_numpy(np.array(rgb)).permute(2, 0, 1)[None].float() / 255)


class Flicker:
    """Accumulates motion-compensated ab change of an output sequence against its truth sequence."""

    def __init__(self):
        self.flow = FlowEstimator()
        self.prev = None
        self.sum_out = self.sum_true = 0.0
        self.pairs = 0

    def update(self, lab_true: torch.Tensor, ab_out: torch.Tensor) -> None:
        l_true = lab_true[0, 0]
        hist = l_histogram(l_true)
        if self.prev is not None and not is_cut(self.prev[1], hist):
            f = torch.from_numpy(self.flow(self.prev[0], l_true)).permute(2, 0, 1)[None]
            both, valid = warp(torch.cat([self.prev[2], self.prev[3]], 1), f)
            n = valid.sum().clamp(min=1)
            d_out = ((ab_out - both[:, 2:]).pow(2).sum(1, keepdim=True).sqrt() * valid).sum() / n
            d_true = ((lab_true[:, 1:] - both[:, :2]).pow(2).sum(1, keepdim=True).sqrt() * valid).sum() / n
            self.sum_out += float(d_out)
            self.sum_true += float(d_true)
            self.pairs += 1
        self.prev = (l_true, hist, lab_true[:, 1:], ab_out)

    def result(self) -> dict:
        n = max(self.pairs, 1)
        return {"flicker": self.sum_out / n, "flicker_truth": self.sum_true / n,
                "flicker_excess": (self.sum_out - self.sum_true) / n, "pairs": self.pairs}


def evaluate_clip(colorizer, frames_fn, stabilities=(0.0, DEFAULT_STABILITY), **opts) -> dict:
    """``frames_fn()`` -> a fresh iterator of colour uint8 RGB frames (called once per setting and once for
    grey). Returns ``{"grey": metrics, "s=0.0": metrics, ...}`` with accuracy and flicker per setting."""
    out = {}
    settings = [("grey", None)] + [(f"s={s:g}", s) for s in stabilities]
    for name, s in settings:
        acc, fl = MetricAccumulator(), Flicker()
        truth_iter = frames_fn()
        if s is None:
            pred_iter = (None for _ in iter(int, 1))
        else:
            pred_iter = colorize_frames(colorizer, frames_fn(), stability=s, **opts)
        for rgb, pred in zip(truth_iter, pred_iter):
            lab_t = _lab(rgb)
            if pred is None:
                lab_p = torch.cat([lab_t[:, :1], torch.zeros_like(lab_t[:, 1:])], 1)
                rgb_p = lab_to_rgb(lab_p).clamp(0, 1)
                lab_p = _lab((rgb_p[0].permute(1, 2, 0) * 255).round().byte().numpy())
            else:
                rgb_p = torch.from_numpy(pred).permute(2, 0, 1)[None].float() / 255
                lab_p = _lab(pred)
            acc.update(lab_p[:, 1:], lab_t[:, 1:], rgb_p, lab_to_rgb(lab_t).clamp(0, 1))
            fl.update(lab_t, lab_p[:, 1:])
        r = {k: v for k, v in acc.result().items() if not k.endswith("_curve")}
        r.update(fl.result())
        out[name] = r
    return out


def video_frames(path):
    """A factory of fresh frame iterators over the video file ``path``."""
    from .io import VideoReader

    def frames():
        with VideoReader(path) as r:
            for _, _, rgb in r.demux():
                yield rgb
    return frames


def table(results: dict) -> str:
    rows = ["| setting | AuC | rebalanced AuC | PSNR (dB) | flicker | flicker excess |", "| --- | --- | --- | --- | --- | --- |"]
    for name, r in results.items():
        rows.append(f"| {name} | {r['auc']:.2f} | {r['auc_rebalanced']:.2f} | {r['psnr']:.2f} | {r['flicker']:.3f} | "
                    f"{r['flicker_excess']:.3f} |")
    return "\n".join(rows)


def add_arguments(p) -> None:
    p.add_argument("clips", nargs="+", type=Path, metavar="CLIP", help="colour video files (mp4, mov, mkv, ...)")
    p.add_argument("--model", default=None, help="'default' (shipped), 'v1', a .safetensors file or a run folder")
    p.add_argument("--stability", type=float, action="append", default=None, metavar="S",
                   help=f"stability settings to compare with per-frame (0); repeatable (default {DEFAULT_STABILITY})")
    p.add_argument("--lookahead", type=int, default=None, metavar="N",
                   help="frames of the future the stabiliser smooths over (default 2; 0: past only)")
    p.add_argument("--json", type=Path, default=None, help="also write all figures to this JSON file")


def run(args, parser=None) -> int:
    from ..pipeline.colorizer import Colorizer
    from .io import VideoError
    colorizer = Colorizer.load(args.model)
    stabilities = [0.0] + [s for s in (args.stability or [DEFAULT_STABILITY]) if s != 0]
    all_results, rc = {}, 0
    opts = {} if args.lookahead is None else {"lookahead": args.lookahead}
    for clip in args.clips:
        try:
            res = evaluate_clip(colorizer, video_frames(clip), stabilities, **opts)
        except (VideoError, OSError) as e:
            print(f"tinct: {clip}: {e}", file=sys.stderr)
            rc = 1
            continue
        all_results[str(clip)] = res
        print(f"{clip}\n{table(res)}\n")
    if args.json:
        args.json.write_text(json.dumps(all_results, indent=1))
    return rc


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(ap)
    sys.exit(run(ap.parse_args()))
