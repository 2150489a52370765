"""Choose decoding settings (temperature, rebalance correction, network size) for a trained run on its
held-out training images (never on val or test), and write them into the run's model file.

    python -m tinct.evaluate.tune RUN [--write]

Each held-out image goes through the network once per size; every (T, beta) pair is then decoded from the
same logits, recombined at full resolution and scored against the grey baseline. The pick maximizes
rebalanced AuC among settings whose PSNR is within ``--psnr-margin`` dB of grey and whose colourfulness is
within ``--colourfulness`` of the truth's.
"""
from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from ..color import decode, grey_rgb, rgb_from_u8, rgb_to_lab
from ..data.shards import ShardDataset
from ..model import load_model_file, model_file_step, save_model_file
from ..pipeline.colorizer import Colorizer
from ..color.metrics import MetricAccumulator
from ..data.splits import split_indices
from ..model import MODEL_FILE


def sweep(run: Path, temperatures, corrections, sizes, limit=None) -> list[dict]:
    cfg = json.loads((run / "config.json").read_text())
    ds = ShardDataset(cfg["data"], "train")
    _, hold = split_indices(len(ds), cfg["holdout"])
    hold = hold[:limit] if limit else hold
    col = Colorizer.load(run / MODEL_FILE, "cpu")
    accs = {(s, t, b): MetricAccumulator() for s in sizes for t in temperatures for b in corrections}
    grey = MetricAccumulator()
    with torch.inference_mode():
        for i in hold:
            rgb = np.array(ds[int(i)][0])
            truth = rgb_from_u8(rgb[None])
            lab = rgb_to_lab(truth)
            g = grey_rgb(lab[:, :1])
            g = (g * 255).round() / 255
            grey.update(torch.zeros_like(lab[:, 1:]), lab[:, 1:], g, truth)
            for s in sizes:
                logits = col.net(col.network_input(rgb, s))
                for t in temperatures:
                    for b in corrections:
                        ab = decode(logits, col.centres, "annealed", t, col.shift(b))
                        out = rgb_from_u8(col.recombine(rgb, ab)[None])
                        accs[(s, t, b)].update(rgb_to_lab(out)[:, 1:], lab[:, 1:], out, truth)
    g = grey.result()
    rows = []
    for (s, t, b), acc in accs.items():
        r = acc.result()
        rows.append({"size": s, "temperature": t, "correction": b, "auc_rb_gain": r["auc_rebalanced"] - g["auc_rebalanced"],
                     "psnr_gap": r["psnr"] - g["psnr"], "colourfulness_ratio": r["colourfulness_ratio"],
                     "auc_gain": r["auc"] - g["auc"]})
    return rows


def pick(rows, psnr_margin: float, cf_range) -> dict | None:
    ok = [r for r in rows if r["psnr_gap"] >= -psnr_margin and cf_range[0] <= r["colourfulness_ratio"] <= cf_range[1]]
    return max(ok, key=lambda r: r["auc_rb_gain"]) if ok else None


def _size_to_store(rows, best: dict, current: int) -> int:
    """The network size to write: the pick's, unless the model's current size scored exactly the same at the
    same (T, beta) -- as when the held-out images are smaller than both sizes and are never enlarged, so the
    held-out data says nothing about which size suits larger photos."""
    for r in rows:
        if (r["size"] == current and r["temperature"] == best["temperature"] and r["correction"] == best["correction"]
                and all(r[k] == best[k] for k in ("auc_rb_gain", "psnr_gap", "colourfulness_ratio"))):
            return current
    return best["size"]


def add_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("run", type=Path)
    p.add_argument("--temperatures", type=float, nargs="+", default=[0.2, 0.3, 0.38, 0.5, 0.7, 1.0])
    p.add_argument("--corrections", type=float, nargs="+", default=[0.0, 0.25, 0.5])
    p.add_argument("--sizes", type=int, nargs="+", default=[128, 256])
    p.add_argument("--limit", type=int, default=None, help="use at most this many held-out images")
    p.add_argument("--psnr-margin", type=float, default=0.5)
    p.add_argument("--colourfulness", type=float, nargs=2, default=[0.7, 1.2])
    p.add_argument("--write", action="store_true", help="store the pick in the run's model file")
    return p


def run(args, p=None) -> int:
    rows = sweep(args.run, args.temperatures, args.corrections, args.sizes, args.limit)
    print(f"{'size':>5s} {'T':>5s} {'beta':>5s} {'AuC(rb)+':>9s} {'AuC+':>6s} {'PSNR gap':>9s} {'colourf.':>9s}")
    for r in sorted(rows, key=lambda r: (r["size"], r["correction"], r["temperature"])):
        print(f"{r['size']:5d} {r['temperature']:5.2f} {r['correction']:5.2f} {r['auc_rb_gain']:9.2f} "
              f"{r['auc_gain']:6.2f} {r['psnr_gap']:9.2f} {r['colourfulness_ratio']:9.2f}")
    best = pick(rows, args.psnr_margin, args.colourfulness)
    (args.run / "tune.json").write_text(json.dumps({"rows": rows, "pick": best}, indent=1))
    if best is None:
        print("no setting meets the constraints")
        return 1
    print(f"pick: size {best['size']}, T {best['temperature']}, beta {best['correction']}")
    if args.write:
        m = load_model_file(args.run / MODEL_FILE)
        m.inference.input_size = _size_to_store(rows, best, m.inference.input_size)
        m.inference.temperature = best["temperature"]
        m.inference.rebalance_correction = best["correction"]
        save_model_file(args.run / MODEL_FILE, m.net, m.model_config, m.inference, m.prior, m.weights,
                        step=model_file_step(args.run / MODEL_FILE))
        print(f"wrote {asdict(m.inference)} into {args.run / MODEL_FILE}")
    return 0



def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tinct.evaluate.tune", description=__doc__.split("\n\n")[0])
    add_arguments(p)
    return run(p.parse_args(argv), p)

if __name__ == "__main__":
    raise SystemExit(main())
