"""docs/upsample_crop.png: zoomed crops at edges, bilinear | joint | guided upsampling of the same prediction
(issue 11).

Per photo, the crop where bilinear and guided differ most (after a 9x9 mean, so a region rather than a pixel);
columns: the photo's truth, then each method; each crop shown 4x, nearest-neighbour.

    python benchmarks/upsample_crop.py IMG... [-o docs/upsample_crop.png] [--crop 64] [--zoom 4]
"""
from __future__ import annotations

import argparse

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

from tinct.pipeline.colorizer import Colorizer


def _crop_box(a: np.ndarray, b: np.ndarray, c: int) -> tuple[int, int]:
    d = torch.from_numpy(np.abs(a.astype(np.float32) - b).sum(2))[None, None]
    d = F.avg_pool2d(d, 9, 1, 4)[0, 0]
    H, W = d.shape
    d[: c // 2], d[H - c // 2:], d[:, : c // 2], d[:, W - c // 2:] = 0, 0, 0, 0
    y, x = divmod(int(d.argmax()), W)
    return max(0, y - c // 2), max(0, x - c // 2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("images", nargs="+")
    ap.add_argument("-o", "--out", default="docs/upsample_crop.png")
    ap.add_argument("--crop", type=int, default=64)
    ap.add_argument("--zoom", type=int, default=4)
    a = ap.parse_args()
    col = Colorizer.load(device="cpu")
    c, z, pad, head = a.crop, a.zoom, 6, 18
    tile = c * z
    names = ("truth", "bilinear", "joint", "guided")
    sheet = Image.new("RGB", (len(names) * tile + (len(names) + 1) * pad, head + len(a.images) * (tile + pad) + pad), "white")
    draw = ImageDraw.Draw(sheet)
    for i, name in enumerate(names):
        draw.text((pad + i * (tile + pad) + 4, 4), name, fill="black")
    for r, path in enumerate(a.images):
        rgb = np.asarray(Image.open(path).convert("RGB"))
        ab = col.predict_ab([rgb], [[]], col.options())[0]
        outs = [rgb] + [col.recombine(rgb, ab, m) for m in names[1:]]
        y, x = _crop_box(outs[1], outs[3], c)
        for i, o in enumerate(outs):
            im = Image.fromarray(np.ascontiguousarray(o[y:y + c, x:x + c])).resize((tile, tile), Image.NEAREST)
            sheet.paste(im, (pad + i * (tile + pad), head + r * (tile + pad)))
    sheet.save(a.out, optimize=True)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
