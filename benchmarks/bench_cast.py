"""Decode-time cast corrections of a model, one network run per photo, every variant scored at the network grid
(issue 28, MODEL.md "The cast, measured"). Writes the markdown table of MODEL.md and, with --json, the figures.

    python benchmarks/bench_cast.py --model v2 --sets mptrain=/work/heldout/mp_train150:150 \
        imagenette=../shared/data/imagenette:80 objects=/work/heldout/objects_s300:120 \
        faces=/work/heldout/faces_s150:100 wallpapers=../shared/data/wallpapers --json cast_v2.json

Decodes: `--variants` (default the list below). Each set is ``NAME=FOLDER[:COUNT]``: COUNT photos drawn with ``random.Random(--seed).sample`` of the sorted paths
(all when omitted). L is taken at the network size and the truth resized to it (for 128-px photos that is full
resolution). Variants: ``grey``; ``base`` (the shipped annealed mean, T = 1); ``T0.7``; ``rbB`` (logits - B log w,
the decode-time rebalance correction); ``divprior0.25`` / ``mulprior0.25`` (logits -/+ 0.25 log p_train);
``gainK`` (the model's own annealed decode, its T and β, with every ab scaled by K: chroma only);
``lowconf1.0`` (each pixel's ab moved toward the training prior's mean colour by its normalised entropy times the
image's mean gap); ``pull0.5`` (each image's mean ab pulled halfway to the prior's mean). Photos whose true mean
a* > 6 and b* > 18 in the ``--warm-from`` sets are also scored together as ``warm (SET)``.
Cell: mean-colour error (ab) · PSNR - grey · rebalanced AuC - grey · colourfulness (share of the truth's) · the
outputs' mean a*, b*; the grey row gives grey's error and the truths' mean a*, b*.
"""
from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from tinct.color import lab_to_rgb, rgb_from_u8, rgb_to_lab
from tinct.color.bins import decode
from tinct.color.metrics import MetricAccumulator
from tinct.files.read import list_images, open_image
from tinct.pipeline.colorizer import Colorizer

WARM_A, WARM_B = 6.0, 18.0
DEFAULT_VARIANTS = ("T0.7", "rb0.5", "rb1.0", "divprior0.25", "mulprior0.25", "lowconf1.0", "pull0.5")
KEYS = ("images", "auc_rebalanced", "psnr", "colourfulness_ratio", "mean_colour_error", "mean_a", "mean_b",
        "mean_a_truth", "mean_b_truth")


def variants(col: Colorizer, names=DEFAULT_VARIANTS) -> tuple[dict, list[float]]:
    """``{name: logits -> ab}`` for ``grey``, ``base`` and the named decode variants (``T0.7``, ``rb-0.5``:
    any number after T, rb, divprior or mulprior; ``gain0.8``: the model's own decode with ab scaled by 0.8;
    ``lowconf1.0``, ``pull0.5``), and the training prior's mean ab."""
    centres, prior = col.centres.float().cpu(), col.model.prior.float().cpu()
    own = col.options()   # the model's own decode, for gainK
    log_w = col.rebalance_weights.float().cpu().clamp(min=1e-12).log()
    log_p = prior.clamp(min=1e-12).log()
    prior_mean = (prior[:, None] * centres).sum(0).view(1, 2, 1, 1)

    def annealed(t=1.0, shift=None):
        return lambda z: decode(z, centres, "annealed", t, shift)

    def lowconf(z, g=1.0):
        ab = decode(z, centres, "annealed", 1.0)
        p = torch.softmax(z, 1)
        entropy = -(p * p.clamp(min=1e-12).log()).sum(1, keepdim=True) / np.log(len(centres))
        return ab + g * entropy * (prior_mean - ab.mean((2, 3), keepdim=True))

    def pull(z, g=0.5):
        ab = decode(z, centres, "annealed", 1.0)
        return ab + g * (prior_mean - ab.mean((2, 3), keepdim=True))

    def parametric(name):
        m = re.fullmatch(r"(T|rb|divprior|mulprior|gain)(-?[0-9.]+)", name)
        if not m:
            raise SystemExit(f"bench_cast: --variants {name}: expected T|rb|divprior|mulprior|gain then a number")
        kind, x = m.group(1), float(m.group(2))
        if kind == "gain":
            own_decode = annealed(own.temperature, col.shift(own.rebalance_correction))
            return lambda z: x * own_decode(z)
        shift = {"T": None, "rb": -x * log_w, "divprior": -x * log_p, "mulprior": x * log_p}[kind]
        return annealed(x if kind == "T" else 1.0, shift)

    fixed = {"grey": lambda z: torch.zeros(z.shape[0], 2, *z.shape[2:]), "base": annealed(),
             "lowconf1.0": lowconf, "pull0.5": pull}
    table = {n: fixed[n] if n in fixed else parametric(n) for n in ("grey", "base", *names)}
    return table, prior_mean.flatten().tolist()


def parse_sets(specs: list[str], seed: int) -> dict[str, list[Path]]:
    sets = {}
    for spec in specs:
        name, _, rest = spec.partition("=")
        folder, _, count = rest.partition(":")
        if not name or not folder or not Path(folder).is_dir():
            raise SystemExit(f"bench_cast: --sets {spec}: expected NAME=FOLDER[:COUNT] with an existing folder")
        files = list_images(Path(folder))
        n = int(count) if count else len(files)
        sets[name] = sorted(random.Random(seed).sample(files, min(n, len(files))))
    return sets


def photo_at_grid(col: Colorizer, path: Path, size: int) -> tuple[np.ndarray, torch.Tensor, torch.Tensor,
                                                                    torch.Tensor]:
    """-> (uint8 RGB, the network's L input ``(1, 1, h, w)`` at ``size``, the true RGB resized to that grid and
    its CIELAB, both ``(1, 3, h, w)``)."""
    rgb = np.asarray(open_image(path).convert("RGB"))
    l = col.network_input(rgb, size)
    h, w = l.shape[-2:]
    small = np.asarray(Image.fromarray(rgb).resize((w, h), Image.BILINEAR, reducing_gap=2.0))
    truth = rgb_from_u8(small[None])
    return rgb, l, truth, rgb_to_lab(truth)


def add_prediction(acc: MetricAccumulator, ab: torch.Tensor, lab: torch.Tensor, truth: torch.Tensor) -> None:
    """Score a low-resolution ab ``(1, 2, h', w')``: upsampled to the truth's grid, put with its L, clipped to RGB."""
    ab = torch.nn.functional.interpolate(ab, size=lab.shape[-2:], mode="bilinear", align_corners=False)
    pred = lab_to_rgb(torch.cat([lab[:, :1], ab], 1)).clamp(0, 1)
    acc.update(rgb_to_lab(pred)[:, 1:], lab[:, 1:], pred, truth)


def score(col: Colorizer, sets: dict[str, list[Path]], warm_from: list[str], log=print,
          names=DEFAULT_VARIANTS, size: int | None = None) -> dict:
    """``{(set, variant): result dict}``; warm photos also under ``("warm (SET)", variant)``. ``size``: the
    network's input size (default: the model's own)."""
    table, _ = variants(col, names)
    opts = col.options(size=size)
    acc: dict[tuple[str, str], MetricAccumulator] = {}
    for s, files in sets.items():
        for i, f in enumerate(files):
            _, l, truth, lab = photo_at_grid(col, f, opts.size)
            z = col.forward_logits(l, None).cpu()
            ta, tb = lab[0, 1:].mean((1, 2)).tolist()
            groups = [s] + ([f"warm ({s})"] if s in warm_from and ta > WARM_A and tb > WARM_B else [])
            for v, fn in table.items():
                ab = fn(z)
                for g in groups:
                    add_prediction(acc.setdefault((g, v), MetricAccumulator()), ab, lab, truth)
            if i % 50 == 0:
                log(f"{s} {i}/{len(files)}")
    return {k: {m: a.result()[m] for m in KEYS} for k, a in acc.items()}


def markdown(res: dict, order: list[str]) -> str:
    sets = [s for s in order if (s, "base") in res]
    names = list(dict.fromkeys(v for _, v in res))
    lines = ["| decode | " + " | ".join(f"{s} ({res[(s, 'base')]['images']})" for s in sets) + " |",
             "| --- |" + " --- |" * len(sets)]
    for v in names:
        cells = []
        for s in sets:
            r, g = res[(s, v)], res[(s, "grey")]
            if v == "grey":
                cells.append(f"{r['mean_colour_error']:.2f} · truth a* {r['mean_a_truth']:+.1f} "
                             f"b* {r['mean_b_truth']:+.1f}")
            else:
                cells.append(f"**{r['mean_colour_error']:.2f}** · {r['psnr'] - g['psnr']:+.2f} dB · "
                             f"{r['auc_rebalanced'] - g['auc_rebalanced']:+.1f} · "
                             f"{r['colourfulness_ratio'] * 100:.0f} % · "
                             f"a* {r['mean_a']:+.1f} b* {r['mean_b']:+.1f}")
        lines.append(f"| {'shipped (T 1)' if v == 'base' else v} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def add_scoring_args(p: argparse.ArgumentParser, size_help: str) -> None:
    """The options bench_cast.py and bench_views.py share: --sets, --size, --seed (of the set draws), --threads,
    --json."""
    p.add_argument("--sets", nargs="+", required=True, metavar="NAME=FOLDER[:COUNT]")
    p.add_argument("--size", type=int, default=None, help=size_help)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", type=Path, default=None)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="v2", help="shipped name, model file or run folder")
    p.add_argument("--warm-from", nargs="*", default=None, help="sets whose warm photos are also scored "
                   "together (default: every set but those named imagenette or faces)")
    p.add_argument("--variants", nargs="*", default=list(DEFAULT_VARIANTS),
                   help="decodes beside grey and base: T<t>, rb<beta>, divprior<x>, mulprior<x>, gain<k>, lowconf1.0, "
                   "pull0.5")
    add_scoring_args(p, "network input size (default: the model's own)")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    sets = parse_sets(a.sets, a.seed)
    warm_from = a.warm_from if a.warm_from is not None else [s for s in sets if s not in ("imagenette", "faces")]
    col = Colorizer.load(a.model, "cpu")
    print(f"{a.model}: training prior's mean a*, b* = {variants(col, a.variants)[1]}", flush=True)
    res = score(col, sets, warm_from, log=lambda m: print(m, flush=True), names=a.variants, size=a.size)
    print(markdown(res, list(sets) + [f"warm ({s})" for s in sets]))
    if a.json:
        a.json.write_text(json.dumps({f"{s}/{v}": r for (s, v), r in res.items()}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
