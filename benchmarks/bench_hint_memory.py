"""Peak memory and time of colorizing a 1024x1024 photo at size 1024 with 0 / 10 / 128 / 512 hints (issue 25:
hint propagation's cost must grow with the pixels, not pixels x hints).

Each configuration runs in its own child process (the model loaded there); the parent reads the child's peak
RSS from ``os.wait4``'s resource usage (``ru_maxrss``, KiB on Linux); the child reports the median time of
``Colorizer.colorize`` (after one warm-up) over ``--repeats`` runs. Hints: seeded random points, colours and
the default radius. Usage: ``python benchmarks/bench_hint_memory.py [--repeats 3] [--json out.json]``.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

CHILD = r"""
import json, statistics, sys, time
import numpy as np
from PIL import Image
from tinct.pipeline.colorizer import Colorizer
photo, n, size, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rgb = np.asarray(Image.open(photo).convert("RGB"))
H, W = rgb.shape[:2]
rng = np.random.default_rng(0)
hints = [(float(rng.uniform(0, W)), float(rng.uniform(0, H)), tuple(int(c) for c in rng.integers(0, 256, 3)))
         for _ in range(n)]
c = Colorizer.load(device="cpu")
c.colorize(rgb, hints=hints, size=size)          # warm-up
ts = []
for _ in range(repeats):
    t = time.perf_counter()
    c.colorize(rgb, hints=hints, size=size)
    ts.append(time.perf_counter() - t)
print(json.dumps({"median_s": statistics.median(ts), "min_s": min(ts)}))
"""


def run_child(photo: Path, hints: int, size: int, repeats: int) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(_common.REPO / "src") + os.pathsep + env.get("PYTHONPATH", "")
    p = subprocess.Popen([sys.executable, "-c", CHILD, str(photo), str(hints), str(size), str(repeats)],
                         stdout=subprocess.PIPE, env=env, text=True)
    out = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode:
        raise SystemExit(f"child for {hints} hints failed with {p.returncode}")
    return {"hints": hints, **json.loads(out.strip().splitlines()[-1]), "peak_rss_mb": usage.ru_maxrss / 1024}


def main() -> None:
    ap = _common.parser(__doc__.splitlines()[0])
    ap.add_argument("--hints", type=int, nargs="+", default=[0, 10, 128, 512])
    ap.add_argument("--side", type=int, default=1024, help="photo side and network size (default 1024)")
    args = ap.parse_args()
    args.repeats = 1 if args.quick else min(args.repeats, 3)
    m = _common.setup(args)
    print(f"# load average at start: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as d:
        photo = _common.make_photo(Path(d) / "photo.jpg", args.side, args.side)
        rows = [run_child(photo, n, args.side, args.repeats) for n in args.hints]
    base = next((r["median_s"] for r in rows if r["hints"] == 0), None)
    for r in rows:
        r["time_vs_0_hints"] = r["median_s"] / base if base else None
    print(_common.table(rows, ["hints", "median_s", "min_s", "time_vs_0_hints", "peak_rss_mb"]))
    _common.write_json(args.json, {"machine": m, "side": args.side, "rows": rows})


if __name__ == "__main__":
    main()
