"""Before/after grids for looking at a model's output with one's own eyes.

    tinct gallery OUT.png --old PHOTO... --truth PHOTO... [--model M [--model M2 ...]] [--height 192]

``--old``: real black-and-white photos, shown as (input | each model). ``--truth``: colour photos, greyed first
and shown as (grey | each model | truth). Several ``--model`` give side-by-side columns (e.g. v1 | v2).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image, ImageDraw

from ..files.read import open_image
from ..pipeline.colorizer import Colorizer


def _fit(img: Image.Image, height: int) -> Image.Image:
    w, h = img.size
    return img.resize((max(1, round(w * height / h)), height), Image.LANCZOS)


def _label(img: Image.Image, text: str) -> Image.Image:
    d = ImageDraw.Draw(img)
    d.rectangle((0, 0, 7 * len(text) + 6, 14), fill=(0, 0, 0))
    d.text((3, 1), text, fill=(255, 255, 255))
    return img


def make_gallery(colorizers, old: list[Path], truth: list[Path], height: int = 192, **opts) -> Image.Image:
    """``colorizers``: one Colorizer, or a list of (column label, Colorizer)."""
    if not isinstance(colorizers, (list, tuple)):
        colorizers = [("tinct", colorizers)]
    rows = []
    for p, is_truth in [(p, False) for p in old] + [(p, True) for p in truth]:
        src = open_image(p).convert("RGB")
        grey = src.convert("L").convert("RGB")
        first = _label(_fit(grey, height), "grey") if is_truth else _label(_fit(src, height), p.name)
        rows.append([first] + [_label(_fit(c.colorize(grey, **opts), height), name) for name, c in colorizers]
                    + ([_label(_fit(src, height), "truth")] if is_truth else []))
    pad = 4
    width = max(sum(c.width for c in r) + pad * len(r) for r in rows)
    sheet = Image.new("RGB", (width, len(rows) * (height + pad)), "white")
    for i, r in enumerate(rows):
        x = 0
        for c in r:
            sheet.paste(c, (x, i * (height + pad)))
            x += c.width + pad
    return sheet


def add_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("out", type=Path)
    p.add_argument("--old", type=Path, nargs="*", default=[])
    p.add_argument("--truth", type=Path, nargs="*", default=[])
    p.add_argument("--model", action="append", default=None,
                   help="a model (shipped name, file or run folder); repeat for side-by-side columns")
    p.add_argument("--height", type=int, default=192)
    p.add_argument("--temperature", type=float, default=None)
    return p


def run(args, p=None) -> int:
    models = args.model or ["default"]
    cols = [(str(m) if len(models) > 1 else "tinct", Colorizer.load(m, "cpu")) for m in models]
    sheet = make_gallery(cols, args.old, args.truth, args.height, temperature=args.temperature)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out)
    print(f"wrote {args.out} ({sheet.width}x{sheet.height})")
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tinct.evaluate.gallery")
    add_arguments(p)
    return run(p.parse_args(argv), p)

if __name__ == "__main__":
    raise SystemExit(main())
