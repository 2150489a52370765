"""Suggested colours at a point: the distinct modes of the model's predicted ab distribution there (issue 13).

The network's bin probabilities at the point (softmax of its logits, T = 1, on the 1/4 grid cell under the
point) are grouped greedily: bins in order of probability each become a new mode unless within ``MERGE_AB``
(CIELAB ab units) of a mode already found, in which case their probability joins that mode. Each mode is
returned as the colour at the photo's own lightness there, with its summed probability.
"""
from __future__ import annotations

import torch

from ..color import lab_to_rgb
from .hints import as_hints, render_hints

MERGE_AB = 18.0


@torch.inference_mode()
def suggest_colours(colorizer, rgb, x: float, y: float, hints=None, count: int = 6, size: int | None = None,
                    opts=None) -> list[dict]:
    """uint8 RGB ``(H, W, 3)``, a point in its pixels and the current hints -> up to ``count`` dicts
    ``{"color": "#rrggbb", "rgb": [r, g, b], "ab": [a, b], "probability": p}``, most likely first
    (probabilities of all modes sum to 1). A point outside the image is a ValueError. ``opts`` (the colorizer's
    Options) may carry reference colours, which re-weight the distribution as in colorizing."""
    H, W = rgb.shape[:2]
    if not (0 <= x < W and 0 <= y < H):
        raise ValueError(f"point ({x:g}, {y:g}) is outside the {W}x{H} image")
    opts = opts if opts is not None else colorizer.options()
    if size is not None:
        opts = colorizer.options(size=size, reference=opts.reference, reference_strength=opts.reference_strength)
    l = colorizer.network_input(rgb, opts.size)
    hl = as_hints(hints)
    h = render_hints(hl, (W, H), l.shape[-2:]).to(colorizer.device) if hl else None
    logits = colorizer.reweight(colorizer.net(l.to(colorizer.device), h).float(), opts, l).cpu()
    gh, gw = logits.shape[-2:]
    p = logits[0, :, min(int(y * gh / H), gh - 1), min(int(x * gw / W), gw - 1)].softmax(0)
    centres = colorizer.centres.float().cpu()
    modes: list[list] = []  # [ab tensor, probability]
    for q in p.argsort(descending=True).tolist():
        ab = centres[q]
        near = [m for m in modes if float((m[0] - ab).norm()) < MERGE_AB]
        if near:
            near[0][1] += float(p[q])
        else:
            modes.append([ab, float(p[q])])
    L = float(l[0, 0, min(int(y * l.shape[-2] / H), l.shape[-2] - 1), min(int(x * l.shape[-1] / W), l.shape[-1] - 1)])
    out = []
    for ab, prob in sorted(modes, key=lambda m: -m[1])[:count]:
        lab = torch.tensor([L, float(ab[0]), float(ab[1])]).view(1, 3, 1, 1)
        c = [int(v) for v in (lab_to_rgb(lab)[0, :, 0, 0].clamp(0, 1) * 255).round().tolist()]
        out.append({"color": "#%02x%02x%02x" % tuple(c), "rgb": c, "ab": [round(float(ab[0]), 2),
                    round(float(ab[1]), 2)], "probability": round(prob, 4)})
    return out
