"""Peak memory (max RSS) of ``tinct colorize`` on big photos at full resolution, each run a fresh process.

Peak RSS is the child's ``ru_maxrss`` from ``os.wait4`` (the same number ``/usr/bin/time -v`` prints as
"Maximum resident set size"). Rows: a baseline process that only imports tinct and loads the model, then
``tinct colorize IMG -o OUT.{png,jpg}`` on a 6000x4000 JPEG (target: <= 1.5 GB) and smaller sizes for scaling.
``--breakdown`` adds the peak of each pipeline stage in one process (Linux: ``/proc/self/clear_refs`` resets
the high-water mark between stages).

    python benchmarks/bench_memory.py [--json out.json] [--breakdown] [--sizes 6000x4000,4000x3000]
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

TARGET_MB = 1500

BASELINE = "import tinct.pipeline.colorizer as c; c.Colorizer.load(device='cpu')"

BREAKDOWN = r"""
import io, sys, time
def hwm():
    for line in open('/proc/self/status'):
        if line.startswith(('VmHWM', 'VmRSS')):
            yield line.split()[0][:-1], int(line.split()[1]) / 1024
def reset():
    try:
        open('/proc/self/clear_refs', 'w').write('5')
    except OSError:
        pass
def mark(stage, t0):
    d = dict(hwm())
    print(f"{stage}\t{d['VmHWM']:.0f}\t{d['VmRSS']:.0f}\t{time.perf_counter() - t0:.3f}", flush=True)
    reset()
t0 = time.perf_counter(); reset()
import numpy as np, torch
from tinct.pipeline.colorizer import Colorizer
from tinct.files.read import open_image
c = Colorizer.load(device='cpu'); mark('import + load model', t0)
t0 = time.perf_counter(); img = open_image(sys.argv[1]); mark('decode JPEG (PIL)', t0)
t0 = time.perf_counter(); rgb, alpha = c._read(img); mark('to uint8 array', t0)
del img
t0 = time.perf_counter(); opts = c.options(); ab = c.predict_ab([rgb], [[]], opts)[0]; mark('network input + predict', t0)
t0 = time.perf_counter(); out = c.recombine(rgb, ab); mark('recombine (full-res, bands)', t0)
from PIL import Image
t0 = time.perf_counter(); pil = Image.fromarray(out); mark('to PIL image', t0)
del rgb, out
t0 = time.perf_counter(); n = len(__import__('tinct.files.write', fromlist=['x']).encode_bytes(pil, sys.argv[2])); mark('encode ' + sys.argv[2], t0)
"""


def run_peak(cmd: list[str]) -> tuple[float, float, int, str]:
    """-> (peak RSS MB, wall s, return code, stderr tail) of ``cmd`` run as a child process."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    dt = time.perf_counter() - t0
    return ru.ru_maxrss / 1024, dt, p.returncode, err.decode(errors="replace").strip()[-300:]


def main(argv=None) -> int:
    p = C.parser(__doc__.splitlines()[0])
    p.add_argument("--sizes", default="6000x4000,4000x3000,1024x1024", help="comma-separated WxH list")
    p.add_argument("--breakdown", action="store_true", help="per-stage peaks for the first size")
    args = p.parse_args(argv)
    m = C.setup(args)
    sizes = [tuple(int(v) for v in s.lower().split("x")) for s in args.sizes.split(",")]
    if args.quick:
        sizes = [(1024, 768)]
    tinct = shutil.which("tinct") or str(Path(sys.executable).with_name("tinct"))
    rows = []
    breakdown = []
    with tempfile.TemporaryDirectory(prefix="tinct-mem-") as d:
        d = Path(d)
        peak, wall, rc, err = run_peak([sys.executable, "-c", BASELINE])
        rows.append({"run": "baseline: import tinct + load model (no image)", "peak RSS MB": peak, "wall s": wall,
                     "ok": rc == 0})
        for w, h in sizes:
            photo = C.make_photo(d / f"bw_{w}x{h}.jpg", w, h)
            for ext in ("png", "jpg"):
                out = d / f"out_{w}x{h}.{ext}"
                peak, wall, rc, err = run_peak([tinct, "colorize", str(photo), "-o", str(out), "--overwrite", "-q"])
                ok = rc == 0 and out.exists()
                rows.append({"run": f"tinct colorize {w}×{h} JPEG -o OUT.{ext}", "peak RSS MB": peak, "wall s": wall,
                             "ok": ok, "≤ target": peak <= TARGET_MB if (w, h) == (6000, 4000) else None})
                if not ok:
                    print(f"# failed ({rc}): {err}")
                out.unlink(missing_ok=True)
            if args.breakdown and not breakdown:
                r = subprocess.run([sys.executable, "-c", BREAKDOWN, str(photo), "PNG"], capture_output=True,
                                   text=True)
                for line in r.stdout.splitlines():
                    stage, hwm, rss, secs = line.split("\t")
                    breakdown.append({"stage": stage, "stage peak RSS MB": float(hwm), "RSS after MB": float(rss),
                                      "s": float(secs)})
                if r.returncode:
                    print(f"# breakdown failed: {r.stderr.strip()[-500:]}")
                bd_size = f"{w}×{h}"
            photo.unlink()
    print(f"\n## peak RSS (target for 6000×4000: ≤ {TARGET_MB} MB)\n")
    print(C.table(rows, ["run", "peak RSS MB", "wall s", "ok", "≤ target"]))
    if breakdown:
        print(f"\n## per-stage peak RSS, {bd_size}, one process\n")
        print(C.table(breakdown))
    C.write_json(args.json, {"benchmark": "memory", "machine": m, "quick": args.quick, "target_mb": TARGET_MB,
                             "rows": rows, "breakdown": breakdown})
    return 0


if __name__ == "__main__":
    sys.exit(main())
