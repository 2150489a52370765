"""Sweep the hint-propagation constants (pipeline/hint_propagation.py) on a training run's held-out
*training* images (never val or test), N ground-truth hints per image as ``tinct evaluate --hints`` places
them; reports PSNR with hints minus automatic PSNR for each setting.

    python benchmarks/tune_hint_propagation.py RUN [--model M] [--limit 100] [--hints 10 1]

The network runs once per image and hint set; each setting only redoes the propagation and recombining.
"""
from __future__ import annotations

import argparse
import itertools
import os
import json
from pathlib import Path

import numpy as np
import torch

from tinct.color import rgb_from_u8, rgb_to_lab
from tinct.color.metrics import MetricAccumulator
from tinct.data.shards import ShardDataset
from tinct.data.splits import split_indices
from tinct.evaluate.run import ground_truth_hints
from tinct.pipeline import hint_propagation as hp
from tinct.pipeline.colorizer import Colorizer

GRID = {"EDGE_COST": [4.0, 8.0, 16.0], "SPREAD": [0.2, 0.4, 0.7], "NEAREST": [0.03, 0.1]}
if os.environ.get("TINCT_HINT_GRID"):   # e.g. {"SPREAD": [0.4, 0.5], "REACH_PER_RADIUS": [8, 16]}
    GRID = json.loads(os.environ["TINCT_HINT_GRID"])


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("run", type=Path)
    p.add_argument("--model", default=None, help="default: the run's own model file")
    p.add_argument("--limit", type=int, default=100)
    p.add_argument("--hints", type=int, nargs="+", default=[10, 1])
    p.add_argument("--json", type=Path, default=None)
    a = p.parse_args(argv)
    cfg = json.loads((a.run / "config.json").read_text())
    ds = ShardDataset(cfg["data"], "train")
    _, hold = split_indices(len(ds), cfg["holdout"])
    col = Colorizer.load(a.model or a.run, "cpu")
    col.propagate_hints = False          # the raw network ab; propagation is redone per setting below
    opts = col.options()
    settings = [dict(zip(GRID, v)) for v in itertools.product(*GRID.values())]
    accs = {(n, i): MetricAccumulator() for n in a.hints for i in range(len(settings) + 1)}   # +1: none
    auto = MetricAccumulator()
    rng = np.random.default_rng(0)
    for idx in hold[:a.limit]:
        rgb = np.array(ds[int(idx)][0])
        truth = rgb_from_u8(rgb[None])
        lab = rgb_to_lab(truth)

        def score(acc, ab_small):
            out = rgb_from_u8(col.recombine(rgb, ab_small)[None])
            acc.update(rgb_to_lab(out)[:, 1:], lab[:, 1:], out, truth)
        score(auto, col.predict_ab([rgb], [[]], opts)[0])
        for n in a.hints:
            hl = ground_truth_hints(rgb, n, rng)
            l, h = col.net_inputs(rgb, hl, opts)
            ab = col.decode_logits(col.forward_logits(l, h[0]), opts)
            score(accs[(n, len(settings))], ab)
            for i, s in enumerate(settings):
                for k, v in s.items():
                    setattr(hp, k, v)
                score(accs[(n, i)], hp.apply_hints(ab, l, *h[1]))
    base = auto.result()["psnr"]
    rows = []
    for (n, i), acc in accs.items():
        r = acc.result()
        rows.append({"hints": n, "setting": settings[i] if i < len(settings) else "network only",
                     "psnr_gain": r["psnr"] - base, "auc_gain": r["auc"] - auto.result()["auc"]})
    rows.sort(key=lambda r: (r["hints"], -r["psnr_gain"]))
    for r in rows:
        print(f"{r['hints']:3d} hints  PSNR {r['psnr_gain']:+.2f} dB  AuC {r['auc_gain']:+.2f}  {r['setting']}")
    if a.json:
        a.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
