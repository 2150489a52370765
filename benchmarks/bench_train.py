"""Training-side benchmarks (issue 2): memory versus dataset size, loader versus training step, and the
default model's training throughput versus the paper's network, all on this machine.

    python benchmarks/bench_train.py DATASET [--steps 40] [--json FILE]

DATASET is a prepared dataset with at least 10 shards of 1,000 images (e.g. `tinct prepare
../shared/data/miniplaces ../shared/data/imagenette -o data/mp128`). Two views of it, 1 shard (1,000 images)
and 10 shards (10,000 images), are made by writing manifests that point at the same shard files.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
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


def loader_vs_step(data: Path, steps: int) -> dict:
    """Images/s of everything before the model (read, crop, Lab, hints, soft targets) versus a full step."""
    from tinct.color import bin_centres, encode_soft, rgb_to_lab
    from tinct.data.augment import random_resized_crop, simulate_hints
    from tinct.data.shards import ShardDataset
    from tinct.model import ModelConfig, build_model
    from tinct.train.loop import batch_indices, split_indices, to_float_rgb
    from tinct.train.loss import colorization_loss
    ds = ShardDataset(data, "train")
    train_idx, _ = split_indices(len(ds), 100)
    centres = bin_centres()

    def load(step):
        rgb_u8, _ = ds.batch(batch_indices(train_idx, step, 32, 0, 0, 1))
        g = torch.Generator().manual_seed(step)
        lab = rgb_to_lab(random_resized_crop(to_float_rgb(rgb_u8, "cpu"), 128, g))
        hints = simulate_hints(lab[:, 1:], g)
        idx, w = encode_soft(torch.nn.functional.avg_pool2d(lab[:, 1:], 4), centres)
        return lab[:, :1].contiguous(memory_format=torch.channels_last), hints, idx, w

    net = build_model(ModelConfig(num_classes=100)).to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(net.parameters(), 1e-4)
    load(0)
    t = time.perf_counter()
    for s in range(steps):
        load(s)
    loader = steps * 32 / (time.perf_counter() - t)
    batch = load(0)
    for _ in range(2):
        loss = colorization_loss(net(batch[0], batch[1]), batch[2], batch[3])
        loss.backward(); opt.step(); opt.zero_grad()
    t = time.perf_counter()
    for s in range(steps // 2):
        l, h, idx, w = load(s)
        loss = colorization_loss(net(l, h), idx, w)
        loss.backward(); opt.step(); opt.zero_grad()
    step = (steps // 2) * 32 / (time.perf_counter() - t)
    return {"loader_images_per_s": loader, "train_images_per_s": step, "ratio": loader / step}


def throughput(arch: str, width: float, steps: int = 6, batch: int = 16) -> float:
    from tinct.model import ModelConfig, build_model
    net = build_model(ModelConfig(arch=arch, width=width)).to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(net.parameters(), 1e-4)
    l = (torch.rand(batch, 1, 128, 128) * 100).contiguous(memory_format=torch.channels_last)
    times = []
    for i in range(steps + 1):
        t = time.perf_counter()
        net(l).float().logsumexp(1).mean().backward(); opt.step(); opt.zero_grad()
        times.append(time.perf_counter() - t)
    return batch / float(np.median(times[1:]))


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
        res["loader_vs_step"] = loader_vs_step(large, a.steps)
    d = throughput("default", 1.0)
    res["train_throughput_images_per_s_128px"] = {
        "default": d, "classic_w1.0": throughput("classic", 1.0, 3, 8), "classic_w0.5": throughput("classic", 0.5)}
    print(json.dumps(res, indent=1))
    if a.json:
        a.json.write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
