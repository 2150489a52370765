"""Two ``tinct colorize`` processes on the same cores: images/s of one process alone vs each of two at once,
before and after tinct's OpenMP setting (``OMP_WAIT_POLICY=PASSIVE``, set by ``import tinct`` unless the
environment already says otherwise).

"before" runs the CLI with torch imported first (its OpenMP runtime then starts with the default, spinning wait
policy), "after" runs it as shipped. Throughput is counted between a process's first and last output file
(mtimes), so start-up (imports, model load) is left out. Runs are interleaved (before/after alone, before/after
pair, repeated) so that drifting load from other work hits both.

    python benchmarks/bench_sharing.py [--images 60] [--size 768] [--repeats 2] [--json out.json]
"""
from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

DRIVER = {  # python -c programs running the CLI
    "before": "import torch, sys; from tinct.cli.main import main; sys.exit(main(sys.argv[1:]))",
    "after": "import sys; from tinct.cli.main import main; sys.exit(main(sys.argv[1:]))",
}


def env() -> dict:
    e = dict(os.environ)
    e["PYTHONPATH"] = str(C.REPO / "src") + os.pathsep + e.get("PYTHONPATH", "")
    for k in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "GOMP_SPINCOUNT"):
        e.pop(k, None)
    return e


def start(variant: str, src: Path, out: Path) -> subprocess.Popen:
    shutil.rmtree(out, ignore_errors=True)
    return subprocess.Popen([sys.executable, "-c", DRIVER[variant], "colorize", str(src), "-o", str(out), "-q"],
                            env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def images_per_s(proc: subprocess.Popen, out: Path) -> float:
    _, err = proc.communicate()
    if proc.returncode:
        raise RuntimeError(f"tinct colorize failed ({proc.returncode}): {err.decode()[-500:]}")
    t = sorted(p.stat().st_mtime for p in out.iterdir())
    return (len(t) - 1) / (t[-1] - t[0])


def measure(variant: str, src: Path, tmp: Path, n_procs: int) -> list[float]:
    outs = [tmp / f"out-{variant}-{i}" for i in range(n_procs)]
    procs = [start(variant, src, o) for o in outs]
    return [images_per_s(p, o) for p, o in zip(procs, outs)]


def main(argv=None) -> int:
    p = C.parser(__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=60)
    p.add_argument("--size", type=int, default=768, help="photo side in pixels")
    args = p.parse_args(argv)
    args.repeats = max(1, args.repeats if args.repeats != 5 else 2)
    m = C.setup(args)
    n = 6 if args.quick else args.images
    tmp = Path(tempfile.mkdtemp(prefix="tinct-bench-sharing-"))
    try:
        src = tmp / "photos"
        src.mkdir()
        first = C.make_photo(src / "p0000.jpg", args.size, args.size)
        for i in range(1, n):
            shutil.copy(first, src / f"p{i:04d}.jpg")
        res: dict = {(v, k): [] for v in DRIVER for k in (1, 2)}
        loads = []
        for r in range(args.repeats):
            for k in (1, 2):
                for v in DRIVER:
                    loads.append(os.getloadavg()[0])
                    t0 = time.perf_counter()
                    res[(v, k)] += measure(v, src, tmp, k)
                    print(f"# round {r + 1}: {v}, {k} process(es): "
                          f"{', '.join(f'{x:.2f}' for x in res[(v, k)][-k:])} images/s "
                          f"({time.perf_counter() - t0:.0f} s)", flush=True)
        rows = []
        for v in DRIVER:
            alone, pair = statistics.median(res[(v, 1)]), statistics.median(res[(v, 2)])
            rows.append({"OpenMP wait policy": "default (spin)" if v == "before" else "PASSIVE (tinct)",
                         "alone img/s": alone, "each of two img/s": pair, "each of two / alone": pair / alone,
                         "two together / alone": 2 * pair / alone})
        print(C.table(rows))
        ratio = statistics.median(res[("after", 1)]) / statistics.median(res[("before", 1)])
        print(f"\nalone, after / before: {ratio:.2f}; load average during the runs "
              f"{min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} CPUs")
        C.write_json(args.json, {"machine": m, "images": n, "size": args.size,
                                 "results": {f"{v}-{k}": x for (v, k), x in res.items()}, "rows": rows,
                                 "loadavg": loads})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
