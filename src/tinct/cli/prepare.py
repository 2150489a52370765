"""``tinct prepare SRC... -o DATASET``."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(sub):
    p = sub.add_parser("prepare", help="turn folders of photos (or a MiniPlaces tree) into training shards",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("sources", nargs="+", type=Path, help="folders of images, searched recursively, or MiniPlaces roots")
    p.add_argument("-o", "--out", required=True, type=Path, help="dataset folder to write")
    p.add_argument("--size", type=int, default=128, help="stored square size in pixels (short side resized, centre crop)")
    p.add_argument("--shard-size", type=int, default=1000, help="images per shard")
    p.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def run(args) -> int:
    from ..data.prepare import prepare
    for s in args.sources:
        if not s.is_dir():
            print(f"tinct prepare: {s}: not a folder", file=sys.stderr)
            return 2
    m = prepare(args.sources, args.out, args.size, args.shard_size, args.workers, progress=not args.quiet)
    counts = ", ".join(f"{k}: {v}" for k, v in m["counts"].items())
    print(f"prepared {counts} images at {m['size']}px into {args.out}; skipped {len(m['skipped'])}")
    for s in m["skipped"][:20]:
        print(f"  skipped {s['path']}: {s['reason']}")
    if len(m["skipped"]) > 20:
        print(f"  ... and {len(m['skipped']) - 20} more (see {args.out / 'manifest.json'})")
    return 0
