"""Folder throughput of this checkout: images/s of ``tinct colorize DIR -o OUT`` (``--precision auto``, and with
``--also-fp32`` fp32 alternating with it). Against a released version: benchmarks/bench_release.py.

Three workloads, each a folder written under /tmp from the shared wallpapers (grey, resized, RGB JPEG q90):
100 photos of 512x512 -> JPEG, the same -> PNG (``--ext png``), and 20 "scans" of 4000x3000 (12 MP) -> JPEG.
Each run is a whole process (interpreter start-up, model load and the precision cache lookup included):
``python -m tinct.cli.main colorize SRC -o OUT --quiet``. Its precision cache is filled by one untimed run first
(as a user's first run would).

    python benchmarks/bench_throughput.py [--repeats 3] [--json out.json] [--only jpeg|png|scans]
"""
from __future__ import annotations

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
                   help="a second contender: --precision fp32, alternating with the default")
    p.add_argument("--count", type=int, default=None, help="photos per folder instead of 100 / 20")
    p.set_defaults(repeats=3)
    args = p.parse_args(argv)
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
            new = [sys.executable, "-m", "tinct.cli.main", "colorize", str(src), "--quiet", "--ext", ext, "-o"]
            run_once(new, d / "warm", n, env)  # fills the precision cache (a user's first run)
            cmds = {"auto": new}
            if args.also_fp32:
                cmds["fp32"] = new[:-1] + ["--precision", "fp32", "-o"]
            ts: dict = {k: [] for k in cmds}
            for _ in range(args.repeats):
                for k, cmd in cmds.items():
                    ts[k].append(run_once(cmd, d / "out", n, env))
            med = {k: sorted(v)[len(v) // 2] for k, v in ts.items()}
            row = {"workload": f"{n} × {w}×{h} JPEG → {'PNG' if ext == 'png' else 'JPEG'}",
                   "s": med["auto"], "img/s": n / med["auto"]}
            if args.also_fp32:
                row["fp32 s"] = med["fp32"]
                row["fp32 img/s"] = n / med["fp32"]
            rows.append(row)
            results[name] = {"row": row, "raw_s": ts}
            print(f"# {row['workload']}: " + ", ".join(f"{k} {v}" for k, v in ts.items()), flush=True)
        cache = d / "cache" / "precision.json"
        results["precision"] = json.loads(cache.read_text()) if cache.exists() else None
    print(f"\n## tinct colorize DIR, whole processes, median of {args.repeats}\n")
    print(C.table(rows))
    for rec in (results["precision"] or {}).values():
        print(f"\nprecision auto chose {rec['choice']}: bf16/fp32 time {rec['ratio']:.3f} "
              f"(fp32 {rec['fp32_ms']:.1f} ms, bf16 {rec['bf16_ms']:.1f} ms per image), "
              f"mean |Δab| {rec['ab_mean']:.2f}, max {rec['ab_max']:.2f}")
    C.write_json(args.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
