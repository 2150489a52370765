"""Test-time views and output ensembles: does averaging the network's distributions over a mirrored input, a
second input size or several models move the PSNR-colour curve that the rebalance correction draws? (issue 28,
MODEL.md "v3, session 16").

    python benchmarks/bench_views.py --models v3=v3 --sets calib=/work/heldout/calib_train \
        --combos v3:id v3:id+v3:flip v3:id+v3:s192 --betas 0 -1 -2

A view is ``id`` (the input at the network size), ``flip`` (mirrored, its output mirrored back) or ``sN`` (the
input at size N, its log-probabilities resized bilinearly to the ``id`` grid). A combo is ``+``-joined
``MODEL:VIEW`` items; its distribution is the geometric mean of theirs (the mean of their log-probabilities),
decoded as the annealed mean at T 1 with the rebalance correction β of the first model's weights
(``logits - β log w``). Sets as bench_cast.py (``NAME=FOLDER[:COUNT]``), scored at the first model's ``id`` grid.
Cell: PSNR - grey · rebalanced AuC - grey · colourfulness (share of the truth's) · mean-colour error (ab).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cast import add_scoring_args, parse_sets  # noqa: E402
from tinct.color import lab_to_rgb, rgb_from_u8, rgb_to_lab  # noqa: E402
from tinct.color.bins import decode  # noqa: E402
from tinct.color.metrics import MetricAccumulator  # noqa: E402
from tinct.files.read import open_image  # noqa: E402
from tinct.pipeline.colorizer import Colorizer  # noqa: E402


def parse_combo(spec: str, models: dict) -> list[tuple[str, str]]:
    """'m:id+m:flip' -> [('m', 'id'), ('m', 'flip')]; SystemExit naming the spec for an unknown model or view."""
    items = []
    for item in spec.split("+"):
        m, _, v = item.partition(":")
        if m not in models or not re.fullmatch(r"id|flip|s[0-9]+", v):
            raise SystemExit(f"bench_views: --combos {spec}: expected MODEL:VIEW items joined by +, MODEL one of "
                             f"{sorted(models)}, VIEW id, flip or s<size>")
        items.append((m, v))
    return items


def view_logprobs(col: Colorizer, rgb: np.ndarray, view: str, size: int, grid: tuple[int, int]) -> torch.Tensor:
    """Log-probabilities ``(1, Q, gh, gw)`` of ``col`` for one view of ``rgb`` on the output ``grid``."""
    l = col.network_input(rgb, int(view[1:]) if view.startswith("s") else size)
    z = torch.log_softmax(col.forward_logits(l.flip(-1) if view == "flip" else l, None).cpu(), 1)
    if view == "flip":
        z = z.flip(-1)
    if tuple(z.shape[-2:]) != tuple(grid):
        z = torch.log_softmax(F.interpolate(z, size=grid, mode="bilinear", align_corners=False), 1)
    return z


def score(cols: dict, sets: dict, combos: list[str], betas: list[float], size: int | None = None,
          log=print) -> dict:
    """``{(set, combo, beta): metrics}``, and ``(set, 'grey', 0.0)`` for the grey baseline."""
    ref = next(iter(cols.values()))
    size = size or ref.defaults.size
    parsed = {c: parse_combo(c, cols) for c in combos}
    needed = sorted({item for items in parsed.values() for item in items})
    shifts = {b: ref.shift(b) for b in betas}
    acc: dict = {}
    for s, files in sets.items():
        for i, f in enumerate(files):
            rgb = np.asarray(open_image(f).convert("RGB"))
            l = ref.network_input(rgb, size)
            h, w = l.shape[-2:]
            grid = (h // 4, w // 4)
            small = np.asarray(Image.fromarray(rgb).resize((w, h), Image.BILINEAR, reducing_gap=2.0))
            truth = rgb_from_u8(small[None])
            lab = rgb_to_lab(truth)
            z = {(m, v): view_logprobs(cols[m], rgb, v, size, grid) for m, v in needed}
            outs = {(c, b): decode(torch.stack([z[it] for it in items]).mean(0), ref.centres.cpu(), "annealed",
                                   1.0, None if shifts[b] is None else shifts[b].cpu())
                    for c, items in parsed.items() for b in betas}
            outs[("grey", 0.0)] = torch.zeros(1, 2, *grid)
            for (c, b), ab in outs.items():
                ab = F.interpolate(ab, size=(h, w), mode="bilinear", align_corners=False)
                pred = lab_to_rgb(torch.cat([lab[:, :1], ab], 1)).clamp(0, 1)
                acc.setdefault((s, c, b), MetricAccumulator()).update(rgb_to_lab(pred)[:, 1:], lab[:, 1:], pred, truth)
            if i % 50 == 0:
                log(f"{s} {i}/{len(files)}")
    return {k: a.result() for k, a in acc.items()}


def markdown(res: dict) -> str:
    sets = list(dict.fromkeys(s for s, _, _ in res))
    lines = ["| combo | β | " + " | ".join(f"{s} ({res[(s, 'grey', 0.0)]['images']})" for s in sets) + " |",
             "| --- | --- |" + " --- |" * len(sets)]
    for c, b in dict.fromkeys((c, b) for _, c, b in res if c != "grey"):
        cells = []
        for s in sets:
            r, g = res[(s, c, b)], res[(s, "grey", 0.0)]
            cells.append(f"{r['psnr'] - g['psnr']:+.2f} dB · {r['auc_rebalanced'] - g['auc_rebalanced']:+.2f} · "
                         f"{r['colourfulness_ratio'] * 100:.0f} % · {r['mean_colour_error']:.2f}")
        lines.append(f"| {c} | {b:+.1f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", nargs="+", required=True, metavar="NAME=MODEL",
                   help="shipped name, model file or run folder, each named; the first gives bins and weights")
    p.add_argument("--combos", nargs="+", required=True, metavar="MODEL:VIEW[+MODEL:VIEW...]")
    p.add_argument("--betas", nargs="+", type=float, default=[0.0, -1.0])
    add_scoring_args(p, "the id view's input size (default: the first model's)")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    named = [m.partition("=") for m in a.models]
    if any(not n or not m for n, _, m in named):
        raise SystemExit("bench_views: --models: expected NAME=MODEL items")
    cols = {n: Colorizer.load(m, "cpu") for n, _, m in named}
    for c in a.combos:
        parse_combo(c, cols)
    res = score(cols, parse_sets(a.sets, a.seed), a.combos, a.betas, a.size, log=lambda m: print(m, flush=True))
    print(markdown(res))
    if a.json:
        a.json.write_text(json.dumps({f"{s}/{c}/{b}": r for (s, c, b), r in res.items()}, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
