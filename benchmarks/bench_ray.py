"""images/s of ``tinct colorize --ray`` with 1 and 2 Ray workers against plain ``tinct colorize`` in one process, for
512x512 and 12-megapixel black-and-white JPEGs, and the per-image overhead Ray adds.

Each Ray job includes its fixed costs (actor start, model load per worker); the per-image cost is the slope
between a job of n and one of 2n images, which cancels them: overhead = slope(Ray, 1 worker) - slope(plain, 1
torch thread), as a Ray worker runs its model on one thread (one CPU per actor). Jobs run interleaved.
Usage: python benchmarks/bench_ray.py [--quick] [--json out.json]"""
from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import make_photo, parser, setup, table, write_json  # noqa: E402

SIZES = {"512x512": ((512, 512), 16), "12MP (4000x3000)": ((4000, 3000), 2)}


def make_inputs(root: Path, wh: tuple, n: int) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    cands = sorted((Path(__file__).resolve().parents[2] / "shared" / "data" / "wallpapers").glob("*.jpg"))
    for i in range(n):
        make_photo(root / f"p{i:03d}.jpg", *wh, source=cands[i % len(cands)] if cands else None)
    return root


def plain(src: Path, out: Path, threads: int | None) -> float:
    import torch

    from tinct.cli.main import main
    old = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    rc = main(["colorize", str(src), "-o", str(out), "-q"])
    dt = time.perf_counter() - t0
    torch.set_num_threads(old)
    assert rc == 0
    return dt


def on_ray(src: Path, out: Path, workers: int) -> float:
    import tinct.cluster.job as job
    from tinct.cli.main import main
    real = job.colorize_rows
    job.colorize_rows = lambda rows, opts: real(rows, opts, workers=workers)
    shutil.rmtree(out, ignore_errors=True)
    try:
        t0 = time.perf_counter()
        rc = main(["colorize", str(src), "-o", str(out), "-q", "--ray"])
        dt = time.perf_counter() - t0
    finally:
        job.colorize_rows = real
    assert rc == 0
    return dt


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    m = setup(args)
    import ray
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    rows = []
    tmp = Path(tempfile.mkdtemp(prefix="tinct-bench-ray-"))
    try:
        for label, (wh, n) in SIZES.items():
            if args.quick:
                wh, n = (wh[0] // 8, wh[1] // 8), 2
            small = make_inputs(tmp / "in1", wh, n)
            big = make_inputs(tmp / "in2", wh, 2 * n)
            plain(small, tmp / "o", None)  # warm-up: imports, first model load
            t = {}
            for name, fn in [("plain", lambda s: plain(s, tmp / "o", None)),
                             ("plain 1 thread", lambda s: plain(s, tmp / "o", 1)),
                             ("ray 1 worker", lambda s: on_ray(s, tmp / "o", 1)),
                             ("ray 2 workers", lambda s: on_ray(s, tmp / "o", 2))]:
                t[name] = (fn(small), fn(big))
            for name, (t1, t2) in t.items():
                rows.append({"inputs": label, "run": name, f"s ({n} img)": t1, f"s ({2 * n} img)": t2,
                             "img/s (2n job)": 2 * n / t2, "s/img (slope)": (t2 - t1) / n})
            over = rows[-2]["s/img (slope)"] - rows[-3]["s/img (slope)"]
            rows.append({"inputs": label, "run": "Ray overhead per image (s)", "s/img (slope)": over})
            shutil.rmtree(small), shutil.rmtree(big)
            print(table([r for r in rows if r["inputs"] == label]), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        ray.shutdown()
    write_json(args.json, {"machine": m, "rows": rows})


if __name__ == "__main__":
    main()
