"""``tinct evaluate``: a model on a prepared dataset split or a folder of colour photos, beside the grey
baseline (ab = 0) computed in the same run, optionally also with N ground-truth hints per image."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..color import grey_rgb, rgb_from_u8, rgb_to_lab
from ..files.read import ImageError, list_images, open_image
from ..pipeline.colorizer import Colorizer, Options
from ..pipeline.hints import Hint
from ..color.metrics import MetricAccumulator


def iter_images(src: Path, split: str | None = None, limit: int | None = None):
    """Yield ``(name, uint8 RGB (H, W, 3))`` from a prepared dataset (manifest.json) or a folder."""
    src = Path(src)
    count = 0
    if (src / "manifest.json").exists():
        from ..data.shards import ShardDataset
        import json
        splits = json.loads((src / "manifest.json").read_text())["splits"]
        ds = ShardDataset(src, split or ("val" if "val" in splits else "train"))
        for i in range(len(ds)):
            if limit is not None and count >= limit:
                return
            yield f"{i}", np.array(ds[i][0])
            count += 1
        return
    files = list_images(src) \
        if src.is_dir() else [src]
    for p in files:
        if limit is not None and count >= limit:
            return
        try:
            yield str(p), np.asarray(open_image(p).convert("RGB"))
            count += 1
        except ImageError as e:
            print(f"tinct evaluate: {p}: skipped: {e}")


def ground_truth_hints(rgb: np.ndarray, n: int, rng: np.random.Generator) -> list[Hint]:
    """``n`` hints at random pixels, each carrying the true mean colour of a 3x3 patch there."""
    H, W = rgb.shape[:2]
    hints = []
    for _ in range(n):
        x, y = int(rng.integers(W)), int(rng.integers(H))
        patch = rgb[max(0, y - 1):y + 2, max(0, x - 1):x + 2].reshape(-1, 3).mean(0)
        hints.append(Hint(x + 0.5, y + 0.5, tuple(int(round(c)) for c in patch), radius=1.5))
    return hints


def hint_ab_errors(out: np.ndarray, hints: list[Hint]) -> list[float]:
    """CIELAB ab distance between each hint's colour and the output uint8 RGB at the hint's pixel."""
    errs = []
    for h in hints:
        px = rgb_from_u8(out[None, int(h.y):int(h.y) + 1, int(h.x):int(h.x) + 1])
        want = torch.tensor(h.rgb, dtype=torch.float32).view(1, 3, 1, 1) / 255
        errs.append(float((rgb_to_lab(px)[0, 1:, 0, 0] - rgb_to_lab(want)[0, 1:, 0, 0]).norm()))
    return errs


def evaluate(colorizer: Colorizer, src: Path, opts: Options | None = None, hints: int = 0, split: str | None = None,
             limit: int | None = None, keep_examples: int = 6, seed: int = 0) -> dict:
    """Returns ``{"model": metrics, "grey": metrics, ["hinted": metrics], "examples": [...]}``."""
    opts = opts or colorizer.options()
    accs = {"model": MetricAccumulator(), "grey": MetricAccumulator()}
    if hints:
        accs["hinted"] = MetricAccumulator()
    rng = np.random.default_rng(seed)
    examples = []
    hint_errors: list[float] = []
    for name, rgb in iter_images(src, split, limit):
        truth = rgb_from_u8(np.asarray(rgb)[None])
        lab = rgb_to_lab(truth)
        outs = {"model": colorizer.recombine(rgb, colorizer.predict_ab([rgb], [[]], opts)[0])}
        if hints:
            hl = ground_truth_hints(rgb, hints, rng)
            outs["hinted"] = colorizer.recombine(rgb, colorizer.predict_ab([rgb], [hl], opts)[0])
            hint_errors += hint_ab_errors(outs["hinted"], hl)
        grey = grey_rgb(lab[:, :1])
        outs["grey"] = (grey[0].permute(1, 2, 0) * 255).round().to(torch.uint8).numpy()
        for key, out in outs.items():
            pred = rgb_from_u8(np.asarray(out)[None])
            accs[key].update(rgb_to_lab(pred)[:, 1:], lab[:, 1:], pred, truth)
        if len(examples) < keep_examples:
            examples.append({"name": name, "truth": rgb, **outs})
    result = {k: a.result() for k, a in accs.items()}
    if hints and hint_errors:
        result["hinted"]["hint_ab_error_median"] = float(np.median(hint_errors))
    result["examples"] = examples
    result["options"] = {"decode": opts.decode, "temperature": opts.temperature, "size": opts.size,
                         "rebalance_correction": opts.rebalance_correction, "hints": hints}
    return result


def summary(result: dict) -> str:
    m, g = result["model"], result["grey"]
    lines = [f"{'':12s} {'AuC':>6s} {'AuC(rb)':>8s} {'PSNR':>7s} {'colourf.':>9s} {'ratio':>6s} {'gap':>6s}"]
    for key in ("grey", "model", "hinted"):
        if key in result:
            r = result[key]
            lines.append(f"{key:12s} {r['auc']:6.2f} {r['auc_rebalanced']:8.2f} {r['psnr']:7.2f} "
                         f"{r['colourfulness']:9.2f} {r['colourfulness_ratio']:6.2f} {r['colourfulness_gap']:6.2f}")
    lines.append(f"model - grey: AuC(rb) {m['auc_rebalanced'] - g['auc_rebalanced']:+.2f} points, "
                 f"PSNR {m['psnr'] - g['psnr']:+.2f} dB, colourfulness {m['colourfulness_ratio'] * 100:.0f}% of truth "
                 f"({m['images']} images)")
    lines.append(f"mean colour (cast): error {m['mean_colour_error']:.2f} ab (grey {g['mean_colour_error']:.2f}); "
                 f"mean a*, b* {m['mean_a']:+.2f}, {m['mean_b']:+.2f} (truth {m['mean_a_truth']:+.2f}, "
                 f"{m['mean_b_truth']:+.2f})")
    if "hinted" in result:
        h = result["hinted"]
        lines.append(f"hints ({result['options']['hints']}/image) - automatic: PSNR {h['psnr'] - m['psnr']:+.2f} dB, "
                     f"AuC {h['auc'] - m['auc']:+.2f} points, median ab error at the hint pixels "
                     f"{h.get('hint_ab_error_median', float('nan')):.2f}")
    return "\n".join(lines)
