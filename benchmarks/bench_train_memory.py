"""Training memory (issue 2): peak RSS of `tinct train` does not grow with the dataset.

    python benchmarks/bench_train_memory.py DATASET [--steps 40] [--json FILE]

DATASET is a prepared dataset with at least 10 shards of 1,000 images (e.g. `tinct prepare
../shared/data/miniplaces ../shared/data/imagenette -o data/mp128`). Two views of it, 1 shard (1,000 images)
and 10 shards (10,000 images), are made by writing manifests that point at the same shard files.
(Speed: benchmarks/bench_train.py.)
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import torch


def dataset_view(src: Path, shards: int, dst: Path) -> Path:
    man = json.loads((src / "manifest.json").read_text())
    names = man["splits"]["train"][:shards]
    if len(names) < shards:
        raise SystemExit(f"{src}: needs {shards} train shards, has {len(names)}")
    dst.mkdir(parents=True, exist_ok=True)
    for n in names:
        for ext in (".u8", ".json"):
            link = dst / (n + ext)
            if not link.exists():
                os.symlink((src / (n + ext)).resolve(), link)
    view = dict(man, splits={"train": names}, counts={"train": None})
    (dst / "manifest.json").write_text(json.dumps(view))
    return dst


def peak_rss_of_train(data: Path, steps: int, out: Path) -> float:
    """Peak RSS (MB) of one `tinct train` process, from the kernel's accounting of that child (wait4)."""
    cmd = [sys.executable, "-m", "tinct.cli.main", "train", str(data), "-o", str(out), "--steps", str(steps),
           "--batch-size", "32", "--val-every", "100000", "--image-every", "100000", "--ckpt-every", "100000",
           "--prior-images", "500", "--holdout", "100", "--log-every", "10"]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(p.pid, 0)
    if status != 0:
        raise SystemExit(f"train failed: {' '.join(cmd)}")
    return usage.ru_maxrss / 1024


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("dataset", type=Path)
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--json", type=Path)
    a = p.parse_args()
    res = {"machine": f"{os.cpu_count()} CPUs, torch {torch.__version__}, {torch.get_num_threads()} threads"}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        small = dataset_view(a.dataset, 1, tmp / "ds1k")
        large = dataset_view(a.dataset, 10, tmp / "ds10k")
        rss1 = peak_rss_of_train(small, a.steps, tmp / "r1")
        rss10 = peak_rss_of_train(large, a.steps, tmp / "r10")
        res["train_peak_rss_mb"] = {"1k": rss1, "10k": rss10, "ratio_10k_over_1k": rss10 / rss1}
    print(json.dumps(res, indent=1))
    if a.json:
        a.json.write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
