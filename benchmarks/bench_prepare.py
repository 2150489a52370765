"""``tinct prepare`` throughput and how it scales with ``--workers``: whole processes, round-robin, ratio to 1 worker.

Each repeat prepares the same sources from scratch into a fresh temporary folder (decode, skip grey/tiny/corrupt,
resize, write shards and the manifest); images/s counts every input file listed, kept or skipped.

    python benchmarks/bench_prepare.py [SRC ...] [--workers 1 2 4] [--json out.json] [--repeats 3]

SRC defaults to the shared MiniPlaces and Imagenette folders (12,000 images).
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402


def main(argv=None) -> int:
    p = C.parser(__doc__.splitlines()[0])
    p.add_argument("sources", type=Path, nargs="*",
                   default=[C.SHARED_DATA / "miniplaces", C.SHARED_DATA / "imagenette"])
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = p.parse_args(argv)
    m = C.setup(args)
    sources = args.sources
    if args.quick:  # one small source: a slice of imagenette
        sources = [C.SHARED_DATA / "imagenette"]

    with tempfile.TemporaryDirectory(prefix="tinct-prepare-") as d:
        d = Path(d)
        counts = {}

        def run(workers: int):
            out = d / f"w{workers}"
            shutil.rmtree(out, ignore_errors=True)
            subprocess.run([sys.executable, "-m", "tinct.cli.main", "prepare", *map(str, sources), "-o", str(out),
                            "--workers", str(workers), "--quiet"], check=True, stdout=subprocess.DEVNULL)
            man = json.loads((out / "manifest.json").read_text())
            counts[workers] = man

        t = C.interleaved({w: (lambda w=w: run(w)) for w in args.workers}, max(1, args.repeats), warmup=0)
        first = counts[args.workers[0]]
        n = _inputs(first)
        ref = t[args.workers[0]]["median"]
        rows = [{"workers": w, "images": n, "seconds": v["median"], "images/s": n / v["median"],
                 "speed-up vs first": ref / v["median"]} for w, v in t.items()]
    print(C.table(rows))
    C.write_json(args.json, {"benchmark": "prepare", "machine": m, "quick": args.quick,
                             "sources": [str(s) for s in sources], "rows": rows})
    return 0


def _inputs(manifest: dict) -> int:
    """Every input the run looked at: kept records plus skipped files."""
    kept = sum(manifest["counts"].values())
    return kept + len(manifest.get("skipped", []))


if __name__ == "__main__":
    sys.exit(main())
