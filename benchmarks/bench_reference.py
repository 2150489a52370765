"""Reference colours (issue 27): how much a reference photo or a palette helps, against grey and automatic.

Photos are held out (never trained on): by default the wallpapers in ../shared/data/wallpapers, and any folder
given with ``--photos`` (e.g. object photos of classes the model never saw). Every photo is greyed (its L only)
and colourised; scores are PSNR (dB, RGB) against the truth, means over the photos, all in one run:

- grey / automatic baselines;
- related: the photo's own left half as the reference, scored on the right half (grey and automatic too);
- oracle: the truth itself as the reference;
- unrelated: the next photo in the list as the reference, at each strength;
- palette: the truth's 5 dominant colours (k-means in Lab, weights = cluster sizes);
- pan clip (video / album): ``--frames`` crops panning over one wallpaper, the first colour crop as the
  reference: mean PSNR, flicker (mean |ab change| of the shared scene region between consecutive frames) and
  album spread (std over frames of the shared region's mean a, b), with and without the reference;
- speed: a 512x512 photo with a (cached) reference vs automatic, interleaved, same process.

Usage: python benchmarks/bench_reference.py [--photos DIR ...] [--strengths 0.5,1,1.5] [--bands 1,5] [--json F]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SHARED_DATA, interleaved, machine  # noqa: E402

from tinct.color import lab_to_rgb, rgb_from_u8, rgb_to_lab  # noqa: E402
from tinct.color.metrics import psnr  # noqa: E402
from tinct.files.read import list_images, open_image  # noqa: E402
from tinct.pipeline.colorizer import Colorizer  # noqa: E402
from tinct.pipeline.reference import DEFAULT_STRENGTH, ReferenceError, analyse_reference  # noqa: E402

SIDE = 384    # photos are scored at about this longer side (CPU budget)


def load(path: Path, side: int = SIDE) -> np.ndarray:
    img = open_image(path).convert("RGB")
    img.thumbnail((side, side), Image.LANCZOS)
    w, h = img.size
    return np.ascontiguousarray(np.asarray(img)[: h // 2 * 2, : w // 2 * 2])


def lab_of(rgb: np.ndarray) -> torch.Tensor:
    return rgb_to_lab(rgb_from_u8(rgb)).unsqueeze(0)


def grey_of(rgb: np.ndarray) -> np.ndarray:
    lab = lab_of(rgb)
    lab[:, 1:] = 0
    return (lab_to_rgb(lab)[0].permute(1, 2, 0).clamp(0, 1) * 255).round().byte().numpy()


def score(out: np.ndarray, truth: np.ndarray) -> float:
    return float(psnr(rgb_from_u8(out).unsqueeze(0), rgb_from_u8(truth).unsqueeze(0))[0])


def dominant_palette(rgb: np.ndarray, k: int = 5, iters: int = 20, seed: int = 0) -> list:
    """The ``k`` dominant colours of a photo (k-means on Lab pixels) as [("#rrggbb", weight)]."""
    lab = lab_of(rgb)[0].reshape(3, -1).T
    g = torch.Generator().manual_seed(seed)
    c = lab[torch.randperm(len(lab), generator=g)[:k]].clone()
    for _ in range(iters):
        a = torch.cdist(lab, c).argmin(1)
        for j in range(k):
            if (a == j).any():
                c[j] = lab[a == j].mean(0)
    counts = torch.bincount(a, minlength=k).float()
    rgb_c = (lab_to_rgb(c.T.reshape(1, 3, k, 1))[0, :, :, 0].T.clamp(0, 1) * 255).round().int().tolist()
    return [("#%02x%02x%02x" % tuple(v), float(n)) for v, n in zip(rgb_c, counts) if n > 0]


def photo_scores(col: Colorizer, photos: list, strengths: list, bands: list) -> dict:
    rows = {}

    def add(name, value):
        rows.setdefault(name, []).append(value)
    for i, truth in enumerate(photos):
        grey = grey_of(truth)
        w = truth.shape[1] // 2
        right = np.s_[:, w:]
        auto = col.colorize(grey, reference_strength=0)
        add("grey", score(grey, truth))
        add("automatic", score(auto, truth))
        add("grey, right half", score(grey[right], truth[right]))
        add("automatic, right half", score(auto[right], truth[right]))
        other = photos[(i + 1) % len(photos)]
        pal = dominant_palette(truth)
        for nb in bands:
            try:
                left = analyse_reference(np.ascontiguousarray(truth[:, :w]), col.centres.cpu(), bands=nb)
                whole = analyse_reference(truth, col.centres.cpu(), bands=nb)
                unrel = analyse_reference(other, col.centres.cpu(), bands=nb)
            except ReferenceError:
                continue
            for s in strengths:
                tag = f"bands={nb} strength={s:g}"
                add(f"related (left half), right half, {tag}",
                    score(col.colorize(grey, reference=left, reference_strength=s)[right], truth[right]))
                add(f"oracle, {tag}", score(col.colorize(grey, reference=whole, reference_strength=s), truth))
                add(f"unrelated, {tag}", score(col.colorize(grey, reference=unrel, reference_strength=s), truth))
        for s in strengths:
            add(f"palette (5 dominant), strength={s:g}",
                score(col.colorize(grey, palette=pal, reference_strength=s), truth))
    return {k: round(float(np.mean(v)), 3) for k, v in rows.items()} | {"photos": len(photos)}


def pan_clip(wallpaper: np.ndarray, frames: int, size: tuple = (320, 240)) -> tuple[list, tuple]:
    """``frames`` crops of ``size`` panning left to right over ``wallpaper``; -> (crops, (x0, x1) of the scene
    columns every crop holds, in scene coordinates) and the crops' x offsets."""
    H, W = wallpaper.shape[:2]
    cw, ch = size
    img = wallpaper
    if W < cw * 2 or H < ch:
        s = max(2 * cw / W, ch / H)
        img = np.asarray(Image.fromarray(wallpaper).resize((round(W * s), round(H * s)), Image.LANCZOS))
        H, W = img.shape[:2]
    xs = np.linspace(0, min(W - cw, cw // 2), frames).round().astype(int)   # half a frame: a shared region
    y0 = (H - ch) // 2
    return [np.ascontiguousarray(img[y0:y0 + ch, x:x + cw]) for x in xs], xs


def clip_scores(col: Colorizer, wallpaper: np.ndarray, frames: int, strength: float) -> dict:
    crops, xs = pan_clip(wallpaper, frames)
    cw = crops[0].shape[1]
    shared = (int(xs[-1]), int(xs[0]) + cw)           # scene columns in every crop
    out = {}
    from tinct.video.stabilize import colorize_frames
    runs = {"automatic": dict(reference_strength=0),
            "first frame as reference": dict(reference=crops[0], reference_strength=strength)}
    for name, kw in [(k, v) for k, v in runs.items()] + [(f"video stabiliser, {k}", v) for k, v in runs.items()]:
        if name.startswith("video"):
            res = list(colorize_frames(col, iter([grey_of(c) for c in crops]), **kw))
        else:
            res = col.colorize_many([grey_of(c) for c in crops], **kw)
        ps = [score(r, c) for r, c in zip(res[1:], crops[1:])]   # the reference frame itself is not scored
        abs_ = [lab_of(r)[0, 1:] for r in res]
        region = [ab[:, :, shared[0] - x: shared[1] - x] for ab, x in zip(abs_, xs)]
        means = torch.stack([r.mean((1, 2)) for r in region])               # (frames, 2)
        flicker = float(torch.stack([(b - a).abs().mean() for a, b in zip(region, region[1:])]).mean())
        out[name] = {"psnr": round(float(np.mean(ps)), 3), "flicker_ab": round(flicker, 3),
                     "shared_region_mean_ab_std": [round(float(v), 3) for v in means.std(0)],
                     "shared_region_width": shared[1] - shared[0]}
    truth_means = torch.stack([lab_of(c)[0, 1:, :, shared[0] - x: shared[1] - x].mean((1, 2))
                               for c, x in zip(crops, xs)])
    out["truth"] = {"shared_region_mean_ab_std": [round(float(v), 3) for v in truth_means.std(0)]}
    return out


def speed(col: Colorizer, photo: np.ndarray, strength: float) -> dict:
    img = np.asarray(Image.fromarray(photo).resize((512, 512), Image.LANCZOS))
    grey = grey_of(img)
    ref = img[:, ::-1].copy()
    col.colorize(grey, reference=ref)               # analysed once, then cached (as across a folder or clip)
    t = interleaved({"automatic": lambda: col.colorize(grey, reference_strength=0),
                     "with reference": lambda: col.colorize(grey, reference=ref, reference_strength=strength)},
                    repeats=7)
    a, r = t["automatic"]["median"], t["with reference"]["median"]
    return {"automatic_s": round(a, 4), "reference_s": round(r, 4), "ratio": round(r / a, 3)}


def pick(folder, limit: int, per_folder: int) -> list:
    """Images under ``folder``, sorted; with ``per_folder`` at most that many from each subfolder (class), so
    that a class-sorted set is sampled across its classes; at most ``limit`` in all."""
    paths = list_images(folder)
    if per_folder:
        seen: dict = {}
        paths = [p for p in paths if seen.setdefault(p.parent, []).append(p) or len(seen[p.parent]) <= per_folder]
    return paths[:limit]


def figure(col: Colorizer, paths: list, out: Path, strength: float, side: int = 256) -> None:
    """Rows of grey | automatic | with the reference | the reference | truth: the right half of each photo
    coloured with its own left half as the reference (the "related" case) -> a JPEG under 1 MB."""
    rows = []
    for p in paths:
        truth = load(p, 2 * side)
        w = truth.shape[1] // 2
        grey = grey_of(truth)
        auto = col.colorize(grey, reference_strength=0)
        refd = col.colorize(grey, reference=np.ascontiguousarray(truth[:, :w]), reference_strength=strength)
        tiles = [grey[:, w:], auto[:, w:], refd[:, w:], truth[:, :w], truth[:, w:]]
        tw, th = 150, 150                          # tiles: the same centre crop of every half
        tiles = [np.asarray(ImageOps.fit(Image.fromarray(np.ascontiguousarray(t)), (tw, th), Image.LANCZOS))
                 for t in tiles]
        gap = np.full((th, 4, 3), 255, np.uint8)
        rows.append(np.concatenate([x for t in tiles for x in (t, gap)][:-1], 1))
        rows.append(np.full((4, rows[-1].shape[1], 3), 255, np.uint8))
    Image.fromarray(np.concatenate(rows[:-1])).save(out, quality=85, optimize=True)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", nargs="*", default=[str(SHARED_DATA / "wallpapers")])
    ap.add_argument("--limit", type=int, default=60, help="at most this many photos per folder")
    ap.add_argument("--per-folder", type=int, default=0, help="at most this many photos per subfolder (class)")
    ap.add_argument("--figure", nargs="*", default=None, metavar="PHOTO",
                    help="only write docs/reference.jpg from these photos (grey | automatic | with the reference | "
                         "the reference | truth)")
    ap.add_argument("--strengths", default=f"0.5,{DEFAULT_STRENGTH:g},1.5")
    ap.add_argument("--bands", default="1,5")
    ap.add_argument("--frames", type=int, default=20)
    ap.add_argument("--clip-source", default=str(SHARED_DATA / "wallpapers" / "debwall_00001.jpg"))
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    col = Colorizer.load()
    if a.figure is not None:
        figure(col, [Path(p) for p in a.figure], Path(__file__).resolve().parents[1] / "docs" / "reference.jpg",
               DEFAULT_STRENGTH)
        return
    strengths = [float(s) for s in a.strengths.split(",")]
    bands = [int(b) for b in a.bands.split(",")]
    result = {"machine": machine(), "default_strength": DEFAULT_STRENGTH, "sets": {}}
    for folder in a.photos:
        paths = pick(folder, a.limit, a.per_folder)
        photos = [load(p) for p in paths]
        result["sets"][folder] = photo_scores(col, photos, strengths, bands)
        print(json.dumps({folder: result["sets"][folder]}, indent=1), flush=True)
    if a.frames:
        result["clip"] = clip_scores(col, load(Path(a.clip_source), 1024), a.frames, DEFAULT_STRENGTH)
        print(json.dumps({"clip": result["clip"]}, indent=1), flush=True)
        result["speed_512"] = speed(col, load(Path(a.clip_source), 1024), DEFAULT_STRENGTH)
        print(json.dumps({"speed_512": result["speed_512"]}), flush=True)
    if a.json:
        Path(a.json).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
