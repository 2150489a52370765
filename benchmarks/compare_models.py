"""Several models on several sets of colour photos, each against the grey baseline of the same run, as a
markdown table (the figures issue 11 and 13 ask for); optionally with N ground-truth hints per image.

    python benchmarks/compare_models.py --models v1 runs/v2 \
        --sets val=../shared/data/miniplaces/images/val objects=HELD_OUT_FOLDER \
        --hints 10 1 --hints-on val --json compare.json

Rows: AuC, rebalanced AuC and PSNR minus grey's, colourfulness as a share of the truth's, the mean-colour error
(per image |mean ab of output - mean ab of truth|, grey's in brackets) and the mean a*, b* of the outputs against
the truths' (the cast); with hints, the PSNR gain over the same model's automatic output and the median ab error
at the hint pixels.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from tinct.evaluate.run import evaluate
from tinct.pipeline.colorizer import Colorizer


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--models", nargs="+", required=True, help="shipped names, model files or run folders")
    p.add_argument("--sets", nargs="+", required=True, metavar="NAME=FOLDER")
    p.add_argument("--hints", type=int, nargs="*", default=[])
    p.add_argument("--hints-on", nargs="*", default=[], help="the sets to run with hints (default: none)")
    p.add_argument("--hint-models", nargs="*", default=None, help="models to run with hints (default: all)")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--json", type=Path, default=None)
    a = p.parse_args(argv)
    sets = dict(s.split("=", 1) for s in a.sets)
    rows = []
    for m in a.models:
        col = Colorizer.load(m, "cpu")
        for name, folder in sets.items():
            runs = [0] + ([n for n in a.hints] if name in a.hints_on and (a.hint_models is None or m in a.hint_models)
                          else [])
            for n in runs:
                t0 = time.time()
                r = evaluate(col, Path(folder), hints=n, limit=a.limit, keep_examples=0)
                mo, g = r["model"], r["grey"]
                if not mo["images"]:   # not a table of zeros and NaN: name the set and stop
                    raise SystemExit(f"compare_models: --sets {name}={folder}: no readable images (symlinked "
                                     "subfolders are not followed)")
                row = {"model": m, "set": name, "images": mo["images"], "hints": n, "seconds": time.time() - t0,
                       "auc_gain": mo["auc"] - g["auc"], "auc_rb_gain": mo["auc_rebalanced"] - g["auc_rebalanced"],
                       "psnr_gain": mo["psnr"] - g["psnr"], "colourfulness": mo["colourfulness_ratio"],
                       "precision": col.precision, "mean_colour_error": mo["mean_colour_error"],
                       "mean_colour_error_grey": g["mean_colour_error"], "mean_a": mo["mean_a"], "mean_b": mo["mean_b"],
                       "mean_a_truth": mo["mean_a_truth"], "mean_b_truth": mo["mean_b_truth"]}
                if n:
                    h = r["hinted"]
                    row.update(hint_psnr_gain=h["psnr"] - mo["psnr"], hint_ab_error=h.get("hint_ab_error_median"))
                rows.append(row)
                print(json.dumps(row), flush=True)
                if a.json:
                    a.json.write_text(json.dumps(rows, indent=1))
    print("\n| set | model | images | AuC − grey | AuC(rb) − grey | PSNR − grey | colourfulness | mean-colour error "
          "(grey) | mean a*, b* (truth) | hints: PSNR gain, ab error at hints |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        hint = f"{r['hints']}: {r['hint_psnr_gain']:+.2f} dB, {r['hint_ab_error']:.1f}" if r["hints"] else ""
        print(f"| {r['set']} | {r['model']} | {r['images']} | {r['auc_gain']:+.2f} | {r['auc_rb_gain']:+.2f} | "
              f"{r['psnr_gain']:+.2f} dB | {r['colourfulness'] * 100:.0f} % | {r['mean_colour_error']:.2f} "
              f"({r['mean_colour_error_grey']:.2f}) | {r['mean_a']:+.1f}, {r['mean_b']:+.1f} ({r['mean_a_truth']:+.1f}, "
              f"{r['mean_b_truth']:+.1f}) | {hint} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
