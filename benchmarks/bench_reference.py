"""Reference colours (issue 27): how much a reference photo or a palette helps, against grey and automatic.

Photos are held out (never trained on): by default the wallpapers in ../shared/data/wallpapers, and any folder
given with ``--photos`` (e.g. object photos of classes the model never saw). Every photo is greyed (its L only)
and colourised; scores are PSNR (dB, RGB) against the truth, means over the photos, all in one run:

- grey / automatic baselines;
- related: the photo's own left half as the reference, scored on the right half (grey and automatic too);
- oracle: the truth itself as the reference;
- unrelated: the next photo in the list as the reference, at each strength;
- palette: the truth's 5 dominant colours (k-means in Lab, weights = cluster sizes);
- clips (video / album; benchmarks/reference_clips.py): ``--frames`` crops panning over each of
  ``--clip-sources`` (default: every 4th wallpaper) and the colour videos ``--videos``, greyed, the first colour
  frame as the reference: mean PSNR, flicker and album spread, with and without the reference, per clip and
  mean;
- speed: a 512x512 photo with a (cached) reference vs automatic, interleaved, same process.

Usage: python benchmarks/bench_reference.py [--photos DIR ...] [--strengths 0.5,1,1.5] [--bands 1,5]
       [--methods band,local] [--frames 20] [--clip-sources PHOTO ...] [--videos CLIP ...] [--json F]
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
from reference_clips import mean_over, pan_scores, video_scores  # noqa: E402

from tinct.color import lab_to_rgb, rgb_from_u8, rgb_to_lab  # noqa: E402
from tinct.color.metrics import psnr  # noqa: E402
from tinct.files.read import list_images, open_image  # noqa: E402
from tinct.pipeline import reference_local  # noqa: E402
from tinct.pipeline.colorizer import Colorizer  # noqa: E402
from tinct.pipeline.reference import DEFAULT_STRENGTH, ReferenceError, analyse_reference  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
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


def photo_scores(col: Colorizer, photos: list, strengths: list, bands: list, methods=("local",)) -> dict:
    """Mean PSNR per case; ``methods``: "band" (histograms only) and/or "local" (+ local correspondence)."""
    rows = {}
    local_default = reference_local.LOCAL

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
            for s, method in [(s, m) for s in strengths for m in methods]:
                reference_local.LOCAL = method == "local"
                tag = f"bands={nb} strength={s:g}" + (" local" if method == "local" else "")
                add(f"related (left half), right half, {tag}",
                    score(col.colorize(grey, reference=left, reference_strength=s)[right], truth[right]))
                add(f"oracle, {tag}", score(col.colorize(grey, reference=whole, reference_strength=s), truth))
                add(f"unrelated, {tag}", score(col.colorize(grey, reference=unrel, reference_strength=s), truth))
            reference_local.LOCAL = local_default
        for s in strengths:
            add(f"palette (5 dominant), strength={s:g}",
                score(col.colorize(grey, palette=pal, reference_strength=s), truth))
    return {k: round(float(np.mean(v)), 3) for k, v in rows.items()} | {"photos": len(photos)}


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
    ap.add_argument("--methods", default="band,local",
                    help="band: lightness-band histograms only; local: with local correspondence (the default)")
    ap.add_argument("--frames", type=int, default=20)
    ap.add_argument("--clip-sources", nargs="*", default=None, metavar="PHOTO",
                    help="stills to pan over (default: every 4th wallpaper, sorted)")
    ap.add_argument("--videos", nargs="*", default=[str(ROOT / "examples" / "video" / "bbb_640x360_8s.mp4")],
                    metavar="CLIP", help="colour video files to grey and colour with their first frame as reference")
    ap.add_argument("--video-frames", type=int, default=None, help="at most this many frames of each video")
    ap.add_argument("--speed-only", action="store_true", help="only the 512x512 speed of a reference vs automatic")
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    col = Colorizer.load()
    if a.figure is not None:
        figure(col, [Path(p) for p in a.figure], Path(__file__).resolve().parents[1] / "docs" / "reference.jpg",
               DEFAULT_STRENGTH)
        return
    if a.speed_only:
        print(json.dumps({"machine": machine(), "speed_512": speed(col, load(list_images(a.photos[0])[0], 1024),
                                                                   DEFAULT_STRENGTH)}), flush=True)
        return
    strengths = [float(s) for s in a.strengths.split(",")]
    bands = [int(b) for b in a.bands.split(",")]
    result = {"machine": machine(), "default_strength": DEFAULT_STRENGTH, "sets": {}}
    for folder in a.photos:
        paths = pick(folder, a.limit, a.per_folder)
        photos = [load(p) for p in paths]
        result["sets"][folder] = photo_scores(col, photos, strengths, bands, a.methods.split(","))
        print(json.dumps({folder: result["sets"][folder]}, indent=1), flush=True)
    sources = a.clip_sources if a.clip_sources is not None else list_images(SHARED_DATA / "wallpapers")[::4]
    if a.frames and sources:
        pans = {Path(p).name: pan_scores(col, load(Path(p), 1024), a.frames, DEFAULT_STRENGTH, grey_of, lab_of, score)
                for p in sources}
        result["pans"] = pans | {"mean": mean_over(pans)}
        print(json.dumps({"pans": result["pans"]}, indent=1), flush=True)
    if a.videos:
        vids = {Path(v).name: video_scores(col, v, DEFAULT_STRENGTH, a.video_frames) for v in a.videos}
        result["videos"] = vids
        print(json.dumps({"videos": vids}, indent=1), flush=True)
    if a.frames and sources:
        result["speed_512"] = speed(col, load(Path(sources[0]), 1024), DEFAULT_STRENGTH)
        print(json.dumps({"speed_512": result["speed_512"]}), flush=True)
    if a.json:
        Path(a.json).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
