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

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cast import add_prediction, add_scoring_args, parse_sets, photo_at_grid  # noqa: E402
from tinct.color.bins import decode  # noqa: E402
from tinct.color.metrics import MetricAccumulator  # noqa: E402
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


def view_size(view: str, size: int) -> int:
    """The network input size of a view: N for ``sN``, else ``size``."""
    return int(view[1:]) if view.startswith("s") else size


def view_logprobs(col: Colorizer, l: torch.Tensor, flip: bool, grid: tuple[int, int]) -> torch.Tensor:
    """Log-probabilities ``(1, Q, gh, gw)`` of ``col`` on the network input ``l`` (mirrored and the output mirrored
    back if ``flip``), resized to the output ``grid`` if they are not on it."""
    z = torch.log_softmax(col.forward_logits(l.flip(-1) if flip else l, None).cpu(), 1)
    if flip:
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
    sizes = {view_size(v, size) for _, v in needed}
    centres = ref.centres.cpu()
    shifts = {b: None if ref.shift(b) is None else ref.shift(b).cpu() for b in betas}
    acc: dict = {}
    for s, files in sets.items():
        for i, f in enumerate(files):
            rgb, l, truth, lab = photo_at_grid(ref, f, size)
            grid = (l.shape[-2] // 4, l.shape[-1] // 4)
            inputs = {n: l if n == size else ref.network_input(rgb, n) for n in sizes}   # shared by models, views
            z = {(m, v): view_logprobs(cols[m], inputs[view_size(v, size)], v == "flip", grid) for m, v in needed}
            outs = {(c, b): decode(torch.stack([z[it] for it in items]).mean(0), centres, "annealed", 1.0, shifts[b])
                    for c, items in parsed.items() for b in betas}
            outs[("grey", 0.0)] = torch.zeros(1, 2, *grid)
            for (c, b), ab in outs.items():
                add_prediction(acc.setdefault((s, c, b), MetricAccumulator()), ab, lab, truth)
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
