"""Folder throughput: images/s of ``tinct colorize DIR -o OUT`` against the code as it was before issue 17.

Three workloads, each a folder written under /tmp from the shared wallpapers (grey, resized, RGB JPEG q90):
100 photos of 512x512 -> JPEG, the same -> PNG (``--ext png``), and 20 "scans" of 4000x3000 (12 MP) -> JPEG.
Each run is a whole process (interpreter start-up, model load and the precision cache lookup included), and
the two contenders alternate (old, new, old, new, ...) so that load from other processes hits both alike:

- **old**: ``python bench_throughput.py --old SRC EXT OUT``, today's loop kept callable here (commit 3e76a9f): one
  photo at a time through ``Colorizer.colorize`` in fp32, one reader thread decoding 2 photos ahead, one
  writer thread, Pillow's default encoders (PNG zlib level 6, JPEG q95 4:2:0);
- **new**: ``python -m tinct.cli.main colorize SRC -o OUT --quiet`` (batched pipeline, ``--precision auto``,
  PNG level 1). Its precision cache is filled by one untimed run first (as a user's first run would).

    python benchmarks/bench_throughput.py [--repeats 3] [--json out.json] [--only jpeg|png|scans]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

WORKLOADS = {  # name: (count, width, height, --ext)
    "jpeg": (100, 512, 512, "same"),
    "png": (100, 512, 512, "png"),
    "scans": (20, 4000, 3000, "same"),
}
TARGETS = {"jpeg": 1.5, "png": 2.0, "scans": 1.3}


# --- today's code, kept callable ------------------------------------------------------------------------
def old_colorize_folder(src: Path, out: Path, ext: str) -> int:
    """``tinct colorize SRC -o OUT`` as of commit 3e76a9f (before the batched pipeline): -> failures."""
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    from tinct.files.read import open_image
    from tinct.pipeline.colorizer import Colorizer
    from tinct.files.write import ensure_folder, format_for, write_atomic

    col = Colorizer.load(device="auto")  # fp32: the only precision before issue 17
    files = sorted(p for p in src.iterdir() if p.suffix.lower() in (".jpg", ".png"))
    ensure_folder(out)

    def read(p):
        img = open_image(p, col.max_pixels)
        return img, img.getexif()

    def write(p, img, exif):
        dst = out / (p.stem + (p.suffix if ext == "same" else "." + ext))
        fmt = format_for(dst)
        kw = {"quality": 95} if fmt == "JPEG" else {}  # Pillow defaults otherwise: PNG zlib level 6
        data = exif.tobytes() if exif is not None and len(exif) else None
        write_atomic(dst, lambda f: img.save(f, fmt, **kw, **({"exif": data} if data else {})))

    failed = 0
    reads: deque = deque()
    writes: deque = deque()
    it = iter(files)
    readers = ThreadPoolExecutor(1)
    writers = ThreadPoolExecutor(1)

    def submit_read():
        p = next(it, None)
        if p is not None:
            reads.append((p, readers.submit(read, p)))

    def finish(block):
        nonlocal failed
        while writes and (block or writes[0].done() or len(writes) > 2):
            try:
                writes.popleft().result()
            except Exception:
                failed += 1
    for _ in range(2):
        submit_read()
    while reads:
        p, fut = reads.popleft()
        submit_read()
        img, exif = fut.result()
        writes.append(writers.submit(write, p, col.colorize(img), exif))
        finish(False)
    finish(True)
    readers.shutdown()
    writers.shutdown()
    return failed


# --- the benchmark ----------------------------------------------------------------------------------------
def make_folder(d: Path, n: int, w: int, h: int) -> Path:
    d.mkdir(parents=True)
    walls = sorted((C.SHARED_DATA / "wallpapers").glob("*.jpg")) or [None]
    for i in range(n):
        C.make_photo(d / f"img_{i:03d}.jpg", w, h, source=walls[i % len(walls)])
    return d


def run_once(cmd: list[str], out: Path, n: int, env: dict) -> float:
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    r = subprocess.run(cmd + [str(out)], capture_output=True, text=True, env=env)
    dt = time.perf_counter() - t0
    made = len([p for p in out.iterdir() if not p.name.startswith(".")]) if out.exists() else 0
    if r.returncode != 0 or made != n:
        raise SystemExit(f"run failed (rc {r.returncode}, {made}/{n} outputs): {' '.join(cmd)}\n{r.stderr[-800:]}")
    shutil.rmtree(out, ignore_errors=True)
    return dt


def main(argv=None) -> int:
    p = C.parser(__doc__.splitlines()[0])
    p.add_argument("--only", choices=list(WORKLOADS), action="append", help="run only these workloads")
    p.add_argument("--also-fp32", action="store_true",
                   help="a third contender: the new CLI forced to --precision fp32 (what batching alone gives)")
    p.add_argument("--count", type=int, default=None, help="photos per folder instead of 100 / 20")
    p.add_argument("--old", nargs=3, metavar=("SRC", "EXT", "OUT"), help=argparse.SUPPRESS)
    p.set_defaults(repeats=3)
    args = p.parse_args(argv)
    if args.old:
        return 1 if old_colorize_folder(Path(args.old[0]), Path(args.old[2]), args.old[1]) else 0
    m = C.setup(args)
    results: dict = {"benchmark": "throughput", "machine": m, "quick": args.quick, "repeats": args.repeats}
    rows = []
    with tempfile.TemporaryDirectory(prefix="tinct-throughput-", dir="/tmp") as d:
        d = Path(d)
        env = {**os.environ, "TINCT_CACHE_DIR": str(d / "cache")}
        for name in args.only or list(WORKLOADS):
            n, w, h, ext = WORKLOADS[name]
            n = args.count or n
            if args.quick:
                n, w, h = 4, w // 4, h // 4
            src = d / f"src_{n}_{w}x{h}"
            if not src.exists():
                make_folder(src, n, w, h)
            old = [sys.executable, __file__, "--old", str(src), ext]
            new = [sys.executable, "-m", "tinct.cli.main", "colorize", str(src), "--quiet", "--ext", ext, "-o"]
            run_once(new, d / "warm", n, env)  # fills the precision cache (a user's first run)
            cmds = {"old": old, "new": new}
            if args.also_fp32:
                cmds["new fp32"] = new[:-1] + ["--precision", "fp32", "-o"]
            ts: dict = {k: [] for k in cmds}
            for _ in range(args.repeats):
                for k, cmd in cmds.items():
                    ts[k].append(run_once(cmd, d / "out", n, env))
            med = {k: sorted(v)[len(v) // 2] for k, v in ts.items()}
            row = {"workload": f"{n} × {w}×{h} JPEG → {'PNG' if ext == 'png' else 'JPEG'}",
                   "old s": med["old"], "new s": med["new"], "old img/s": n / med["old"],
                   "new img/s": n / med["new"], "speed-up": med["old"] / med["new"], "target": TARGETS[name]}
            if args.also_fp32:
                row["new fp32 s"] = med["new fp32"]
                row["fp32 speed-up"] = med["old"] / med["new fp32"]
            rows.append(row)
            results[name] = {"row": row, "raw_s": ts}
            print(f"# {row['workload']}: " + ", ".join(f"{k} {v}" for k, v in ts.items()), flush=True)
        cache = d / "cache" / "precision.json"
        results["precision"] = json.loads(cache.read_text()) if cache.exists() else None
    print(f"\n## tinct colorize DIR, whole processes, old/new interleaved, median of {args.repeats}\n")
    print(C.table(rows))
    for rec in (results["precision"] or {}).values():
        print(f"\nprecision auto chose {rec['choice']}: bf16/fp32 time {rec['ratio']:.3f} "
              f"(fp32 {rec['fp32_ms']:.1f} ms, bf16 {rec['bf16_ms']:.1f} ms per image), "
              f"mean |Δab| {rec['ab_mean']:.2f}, max {rec['ab_max']:.2f}")
    C.write_json(args.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
