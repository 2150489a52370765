"""Shared helpers for the benchmark scripts (not tests): timing, machine description, tables, JSON.

Timing rule for every script: each figure is the median of >= 5 repeats after warm-up, and every speed figure
is also given as a ratio to a reference measured in the same process, so that noisy machines still give
comparable numbers. Only public tools are used: ``time.perf_counter``, ``resource``, ``torch.profiler``.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def timeit(fn, repeats: int = 5, warmup: int = 1) -> dict:
    """Run ``fn`` ``warmup`` times, then ``repeats`` times; -> {median, min, max, n} in seconds."""
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return {"median": statistics.median(ts), "min": min(ts), "max": max(ts), "n": len(ts)}


def interleaved(fns: dict, repeats: int = 5, warmup: int = 1) -> dict:
    """Time several callables round-robin (A B C A B C ...) so that drifting machine load hits all alike."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    ts = {k: [] for k in fns}
    for _ in range(max(1, repeats)):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            ts[k].append(time.perf_counter() - t0)
    return {k: {"median": statistics.median(v), "min": min(v), "max": max(v), "n": len(v)} for k, v in ts.items()}


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return platform.processor() or platform.machine()


def cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def machine() -> dict:
    import torch
    flags = cpu_flags()
    return {
        "cpu": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "isa": " ".join(f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile") if f in flags),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "date_utc": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "loadavg_1min": round(os.getloadavg()[0], 2),
    }


def busy_warning() -> str | None:
    """A warning line when something else is loading the CPUs (e.g. a training run)."""
    load = os.getloadavg()[0]
    n = os.cpu_count() or 1
    if load > 0.5 * n:
        return (f"WARNING: load average {load:.2f} on {n} CPUs before starting: other work is running, "
                "figures are contaminated (ratios less so)")
    return None


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--json", type=Path, default=None, help="also write the results to this JSON file")
    p.add_argument("--repeats", type=int, default=5, help="timed repeats per figure (median reported; >= 5)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's default)")
    p.add_argument("--quick", action="store_true", help="smoke test: tiny sizes and 2 repeats (numbers not valid)")
    return p


def setup(args) -> dict:
    import torch
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.quick:
        args.repeats = min(args.repeats, 2)
    m = machine()
    print(f"# {m['cpu']}, {m['logical_cpus']} logical CPUs [{m['isa']}], torch {m['torch']} "
          f"({m['torch_threads']} threads), {m['date_utc']}")
    w = busy_warning()
    if w:
        print("# " + w)
    if args.quick:
        print("# --quick: smoke-test sizes and repeats; do not report these numbers")
    return m


def table(rows: list[dict], columns: list[str] | None = None) -> str:
    """Rows of dicts -> a GitHub-markdown table (floats to 3 significant digits)."""
    if not rows:
        return ""
    columns = columns or list(rows[0])

    def fmt(v):
        if isinstance(v, float):
            return f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"
        return "" if v is None else str(v)
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(fmt(r.get(c)) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def write_json(path: Path | None, payload: dict) -> None:
    if path is None:
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    print(f"# wrote {path}", file=sys.stderr)


def ms(seconds: float) -> float:
    return seconds * 1000.0


def make_photo(path: Path, width: int, height: int, quality: int = 90, source: Path | None = None) -> Path:
    """A black-and-white test photo (grey content in an RGB JPEG, as most scans are): a shared wallpaper
    resized to ``width`` x ``height``, or a synthetic gradient + noise picture when the data is absent."""
    import numpy as np
    from PIL import Image
    src = source
    if src is None:
        cands = sorted((SHARED_DATA / "wallpapers").glob("*.jpg"))
        src = cands[0] if cands else None
    if src is not None and Path(src).exists():
        img = Image.open(src).convert("L").resize((width, height), Image.BICUBIC)
    else:
        rng = np.random.default_rng(0)
        y, x = np.mgrid[0:height, 0:width].astype(np.float32)
        a = 128 + 60 * np.sin(x / max(width, 1) * 7) * np.cos(y / max(height, 1) * 5)
        a += rng.normal(0, 8, a.shape).astype(np.float32)
        img = Image.fromarray(a.clip(0, 255).astype(np.uint8), "L")
    img.convert("RGB").save(path, "JPEG", quality=quality)
    return Path(path)
