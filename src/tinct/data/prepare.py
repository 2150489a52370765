"""``tinct prepare``: a folder of photos (or a MiniPlaces tree) -> fixed-size uint8 shards on disk.

Layout of a prepared dataset::

    DATASET/manifest.json       # written last: size, shard list, splits, categories, skipped files
    DATASET/<split>-00000.u8    # raw (n, S, S, 3) uint8 RGB, C order
    DATASET/<split>-00000.json  # that shard's count and labels (-1 = none)

Why raw shards and not WebDataset tars: the images are decoded and resized once, here, so training reads
fixed-size records with one ``pread`` each (no JPEG decode per step, random access, no page-cache growth in
the process's RSS). Each image is resized (short side -> S) and centre-cropped to S x S.

Shards are a pure function of the sorted input list, so an interrupted run, rerun, skips finished shards
(each written to a temporary name and renamed) and produces the same bytes as an uninterrupted one. A finished
shard is reused only when its record says it was made from the same inputs at the same size.
"""
from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ..files.atomic import clean_stale_temps, write_atomic, write_bytes_atomic
from ..files.read import ImageError, list_images, open_image

MIN_SIDE = 32          # smaller images are skipped as tiny
GREY_CHROMA = 3.0      # images whose 99th-percentile |ab| is below this are skipped as already grey


@dataclass
class Item:
    path: str
    label: int = -1


def list_sources(src: Path) -> dict[str, list[Item]]:
    """Splits of a source: a MiniPlaces tree (train.txt / val.txt next to images/) or any folder (one 'train')."""
    src = Path(src)
    if (src / "train.txt").exists() and (src / "images").is_dir():
        splits = {}
        for split in ("train", "val"):
            txt = src / f"{split}.txt"
            if txt.exists():
                items = []
                for line in txt.read_text().split("\n"):
                    parts = line.split()
                    if parts:
                        items.append(Item(str(src / "images" / parts[0]), int(parts[1]) if len(parts) > 1 else -1))
                splits[split] = items
        return splits
    files = list_images(src)
    return {"train": [Item(str(p)) for p in files]}


def read_categories(src: Path) -> list[str] | None:
    cat = Path(src) / "categories.txt"
    if not cat.exists():
        return None
    pairs = [line.split() for line in cat.read_text().split("\n") if line.strip()]
    return [name for name, _ in sorted(pairs, key=lambda p: int(p[1]))]


def load_square(path: str, size: int) -> np.ndarray:
    """Decode, check and resize one image -> ``(size, size, 3)`` uint8. Raises ImageError when unusable."""
    img = open_image(path).convert("RGB")
    w, h = img.size
    if min(w, h) < MIN_SIDE:
        raise ImageError(f"too small ({w}x{h}, minimum side {MIN_SIDE})")
    scale = size / min(w, h)
    nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
    img = img.resize((nw, nh), Image.BICUBIC, reducing_gap=3.0)
    left, top = (nw - size) // 2, (nh - size) // 2
    arr = np.asarray(img.crop((left, top, left + size, top + size)), dtype=np.uint8)
    if _chroma_p99(arr) < GREY_CHROMA:
        raise ImageError("already grey (no colour to learn from)")
    return arr


def _chroma_p99(arr: np.ndarray) -> float:
    import torch
    from ..color import rgb_to_lab
    lab = rgb_to_lab(torch.from_numpy(np.ascontiguousarray(arr[::4, ::4])).permute(2, 0, 1).float() / 255)
    return float(torch.quantile(lab[1:].pow(2).sum(0).sqrt().flatten(), 0.99))


def _shard_key(items: list[Item], size: int) -> str:
    """What a shard is made of (stored size, input paths, labels): a finished shard is reused only if it matches."""
    h = hashlib.sha256(str(size).encode())
    for it in items:
        h.update(f"\0{it.path}\0{it.label}".encode())
    return h.hexdigest()[:16]


def _write_shard(job) -> dict:
    out, name, items, size = job
    final = Path(out) / f"{name}.u8"
    meta_path = Path(out) / f"{name}.json"
    key = _shard_key(items, size)
    if final.exists() and meta_path.exists():
        try:
            meta = json.loads(meta_path.read_text())
        except ValueError:
            meta = {}
        if meta.get("key") == key and final.stat().st_size == meta["count"] * size * size * 3:
            return meta
    records, labels, skipped = [], [], []
    for it in items:
        try:
            records.append(load_square(it.path, size))
            labels.append(it.label)
        except ImageError as e:
            skipped.append({"path": it.path, "reason": str(e)})
    data = np.stack(records) if records else np.zeros((0, size, size, 3), np.uint8)
    return write_shard(out, name, data.data, labels, skipped, key)


def write_shard(out, name: str, records, labels: list, skipped: list = (), key: str | None = None) -> dict:
    """Write shard ``name`` of the layout above: ``records`` (bytes-like, ``len(labels)`` raw S x S x 3 uint8
    records) first, then its json, whose presence says the shard is complete. Returns that json's record."""
    meta = {"name": name, "count": len(labels), "labels": labels, "skipped": list(skipped), "key": key}
    write_atomic(Path(out) / f"{name}.u8", lambda f: f.write(records))
    write_bytes_atomic(Path(out) / f"{name}.json", json.dumps(meta).encode())
    return meta


def write_manifest(out, size: int, categories, splits, metas: list[dict]) -> dict:
    """Write (last) the manifest of a dataset whose shards' records (``write_shard``) are ``metas``."""
    manifest = {"version": 1, "size": size, "categories": categories,
                "splits": {s: [m["name"] for m in metas if m["name"].startswith(s + "-")] for s in splits},
                "counts": {s: sum(m["count"] for m in metas if m["name"].startswith(s + "-")) for s in splits},
                "skipped": [x for m in metas for x in m["skipped"]]}
    write_bytes_atomic(Path(out) / "manifest.json", json.dumps(manifest, indent=1).encode())
    return manifest


def prepare(sources: list[Path], out: Path, size: int = 128, shard_size: int = 1000, workers: int | None = None,
            progress: bool = True) -> dict:
    """Prepare one dataset from one or more sources (their splits are concatenated, in order)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    splits: dict[str, list[Item]] = {}
    categories = None
    for src in sources:
        for split, items in list_sources(src).items():
            splits.setdefault(split, []).extend(items)
        categories = categories or read_categories(src)
    jobs = []
    for split, items in splits.items():
        for i in range(0, len(items), shard_size):
            jobs.append((str(out), f"{split}-{i // shard_size:05d}", items[i:i + shard_size], size))
    workers = workers or min(len(jobs), os.cpu_count() or 1) or 1
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            metas = list(_progress(pool.map(_write_shard, jobs), len(jobs), progress))
    else:
        metas = list(_progress(map(_write_shard, jobs), len(jobs), progress))
    manifest = write_manifest(out, size, categories, splits, metas)
    clean_stale_temps(out)  # temporary files an interrupted run left behind
    return manifest


def _progress(it, total, enabled):
    if not enabled:
        return it
    from tqdm import tqdm
    return tqdm(it, total=total, desc="shards", unit="shard")
