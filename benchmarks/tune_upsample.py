"""Tune the guided upsampler's radius and eps (pipeline/upsample.py) on colour photos: mean PSNR (RGB, dB) of
bilinear and of each (radius, eps), and colourfulness as a fraction of the truth's; the network runs once per
photo. A very large eps (e.g. 100) makes the guided filter a plain box blur of ab: the control for how much of a
gain is edge-awareness and how much is smoothing.

    python benchmarks/tune_upsample.py IMG... [--radii 1,2,4] [--eps 1e-4,1e-3,1e-2]
"""
from __future__ import annotations

import argparse

import numpy as np
import torch
from PIL import Image

from tinct.color.metrics import colourfulness, psnr
from tinct.pipeline.colorizer import BAND_PIXELS, Colorizer
from tinct.pipeline.fast_lab import recombine_band
from tinct.pipeline.upsample import upsample_bands


def _out(rgb, ab_small, **kw):
    out = np.empty_like(rgb)
    for y0, y1, ab in upsample_bands(rgb, ab_small, band_pixels=BAND_PIXELS, **kw):
        out[y0:y1] = recombine_band(rgb[y0:y1], ab)
    return out


def _t(rgb):
    return torch.from_numpy(np.array(rgb)).permute(2, 0, 1).unsqueeze(0).float() / 255


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("images", nargs="+")
    ap.add_argument("--radii", default="1,2,3,4")
    ap.add_argument("--eps", default="1e-4,3e-4,1e-3,3e-3,1e-2,3e-2")
    a = ap.parse_args()
    col = Colorizer.load(device="cpu")
    opts = col.options()
    arms = [("bilinear", {"method": "bilinear"})] + [
        (f"guided r={r} eps={e}", {"method": "guided", "radius": int(r), "eps": float(e)})
        for r in a.radii.split(",") for e in a.eps.split(",")]
    scores = {name: [] for name, _ in arms}
    cf = {name: [] for name, _ in arms}
    cf_true = []
    for path in a.images:
        rgb = np.asarray(Image.open(path).convert("RGB"))
        ab = col.predict_ab([rgb], [[]], opts)[0]
        truth = _t(rgb)
        cf_true.append(float(colourfulness(truth)[0]))
        for name, kw in arms:
            pred = _t(_out(rgb, ab, **kw))
            scores[name].append(float(psnr(pred, truth)[0]))
            cf[name].append(float(colourfulness(pred)[0]))
    print(f"| arm | mean PSNR dB ({len(a.images)} photos) | vs bilinear | colourfulness / truth's |\n|---|---|---|---|")
    base = np.mean(scores["bilinear"])
    for name, s in sorted(scores.items(), key=lambda kv: -np.mean(kv[1])):
        print(f"| {name} | {np.mean(s):.3f} | {np.mean(s) - base:+.3f} | {np.mean(cf[name]) / np.mean(cf_true):.3f} |")


if __name__ == "__main__":
    main()
