"""Training speed (issue 10): the uint8 loader alone, the on-device preprocessing alone, forward+backward alone,
and the whole training loop against the loop as it was before (benchmarks/legacy_train.py), in one run.

    python benchmarks/bench_train.py DATASET [--device cpu|cuda] [--loop-steps 300] [--json FILE]
    python benchmarks/bench_train.py --synthetic 10000 --device cuda      # no dataset at hand: make one

DATASET is a prepared dataset (``tinct prepare``) with >= 10,000 training images; a view of its first 10,000
is used. ``--synthetic N`` generates N colourful 128-px images and prepares them first (a GPU machine needs no
data carried). Defaults per device: CPU batch 32 (loader 256), CUDA batch 256 (classic 64) in bf16.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

os.environ.setdefault("TQDM_DISABLE", "1")      # no progress bars in the benchmark's output

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import cpu_model  # noqa: E402
from legacy_train import legacy_run, old_batch, old_encode_soft, old_simulate_hints  # noqa: E402


def synthetic_dataset(n: int, out: Path) -> Path:
    """N smooth random colour images (128 px), prepared into ``out``."""
    from PIL import Image
    from tinct.data.prepare import prepare
    src = out / "images"
    src.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        small = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
        img = Image.fromarray(small).resize((128, 128), Image.BICUBIC)
        img.save(src / f"{i:06d}.png", compress_level=1)
    prepare([src], out / "data", 128, 1000, None, progress=False)
    return out / "data"


def view(src: Path, n_images: int, dst: Path) -> Path:
    """A dataset folder whose train split is the first shards of ``src`` holding >= n_images."""
    man = json.loads((src / "manifest.json").read_text())
    names, total = [], 0
    for name in man["splits"]["train"]:
        if total >= n_images:
            break
        names.append(name)
        total += json.loads((src / f"{name}.json").read_text())["count"]
        for ext in (".u8", ".json"):
            (dst / (name + ext)).symlink_to((src / (name + ext)).resolve())
    (dst / "manifest.json").write_text(json.dumps(dict(man, splits={"train": names})))
    return dst


def loader_alone(data: Path, batch: int, batches: int) -> dict:
    from tinct.data.loader import BatchLoader
    from tinct.data.shards import ShardDataset
    ds = ShardDataset(data)
    plan = {s: np.random.default_rng(s).integers(0, len(ds), batch) for s in range(batches + 2)}
    with BatchLoader(ds, plan.__getitem__, 0, 2) as warm:
        list(warm)
    t = time.perf_counter()
    with BatchLoader(ds, plan.__getitem__, 0, batches, prefetch=6, workers=2) as loader:
        for _ in loader:
            pass
    new = batches * batch / (time.perf_counter() - t)
    t = time.perf_counter()
    for s in range(max(batches // 4, 2)):
        old_batch(ds, plan[s])
    old = max(batches // 4, 2) * batch / (time.perf_counter() - t)
    return {"images_per_s": new, "old_batch_images_per_s": old, "batch": batch, "dataset_images": len(ds)}


def preprocessing_alone(data: Path, device: torch.device, batch: int, reps: int) -> dict:
    import torch.nn.functional as F
    from tinct.color import bin_centres, rgb_to_lab
    from tinct.data.augment import random_resized_crop
    from tinct.data.shards import ShardDataset
    from tinct.train.batch import make_batch, step_generator
    ds = ShardDataset(data)
    rgb, labels = ds.batch(np.arange(batch))
    rgb_t, lab_t = torch.from_numpy(rgb), torch.from_numpy(labels)
    centres = bin_centres()
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    def new(s):
        make_batch(rgb_t, lab_t, step_generator(0, s, 0), centres, size=128, hints=True, hint_p_none=0.5,
                   soft_k=5, soft_sigma=5.0, device=device)

    def old(s):
        g = step_generator(0, s, 0)
        lab = rgb_to_lab(random_resized_crop(rgb_t.permute(0, 3, 1, 2).float().div(255), 128, g))
        old_simulate_hints(lab[:, 1:], g)
        old_encode_soft(F.avg_pool2d(lab[:, 1:], 4), centres)

    out = {}
    for name, fn in (("new_on_device", new), ("old_on_cpu", old)):
        fn(0)
        sync()
        t = time.perf_counter()
        for s in range(reps):
            fn(s)
        sync()
        out[name + "_images_per_s"] = reps * batch / (time.perf_counter() - t)
    out["speedup"] = out["new_on_device_images_per_s"] / out["old_on_cpu_images_per_s"]
    return out


def forward_backward_alone(arch: str, device: torch.device, batch: int, reps: int) -> float:
    from tinct.model import ModelConfig, build_model
    net = build_model(ModelConfig(arch=arch)).to(device).to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(net.parameters(), 1e-4, **({"fused": True} if device.type == "cuda" else {"foreach": True}))
    l = (torch.rand(batch, 1, 128, 128, device=device) * 100).contiguous(memory_format=torch.channels_last)
    h = torch.zeros(batch, 3, 128, 128, device=device).contiguous(memory_format=torch.channels_last)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    def step():
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            out = net(l, h)
        out.float().logsumexp(1).mean().backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    for _ in range(2):
        step()
    sync()
    t = time.perf_counter()
    for _ in range(reps):
        step()
    sync()
    return reps * batch / (time.perf_counter() - t)


def whole_loop(data: Path, device: str, arch: str, batch: int, steps: int, tmp: Path, legacy: bool) -> dict:
    """The real ``tinct train`` loop vs the legacy loop, same config and data; images/s over steps after the
    first 10, and the per-image loss curves (the same data order and augmentation in both)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tinct.model.config import ModelConfig
    from tinct.train.config import TrainConfig
    from tinct.train.loop import train
    cfg = TrainConfig(data=str(data), out=str(tmp / f"run-{arch}"), model=ModelConfig(arch=arch), steps=steps,
                      batch_size=batch, device=device, holdout=100, prior_images=500, log_every=1, warmup=50,
                      rebalance_power=0.5, val_every=10 ** 9, image_every=10 ** 9, ckpt_every=10 ** 9)
    res = train(cfg)
    ea = EventAccumulator(str(Path(cfg.out) / "tensorboard"))
    ea.Reload()
    ips = [e.value for e in ea.Scalars("train/images_per_s")][10:]
    new_loss = [e.value for e in ea.Scalars("train/loss_per_image")]
    out = {"new_images_per_s": len(ips) / sum(1 / v for v in ips), "first_step_s": res.get("first_step_s")}
    if legacy:
        cfg.steps = steps
        old_loss, times = legacy_run(cfg, steps)
        out["old_images_per_s"] = batch * len(times[10:]) / sum(times[10:])
        out["speedup"] = out["new_images_per_s"] / out["old_images_per_s"]
        a, b = np.array(new_loss), np.array(old_loss)
        w = min(50, len(a))
        means_new, means_old = a[:len(a) // w * w].reshape(-1, w).mean(1), b[:len(b) // w * w].reshape(-1, w).mean(1)
        out["loss_per_image_by_50_steps"] = {"new": means_new.round(3).tolist(), "old": means_old.round(3).tolist()}
        out["max_abs_diff_of_50_step_means"] = float(np.abs(means_new - means_old).max())
        out["step_to_step_loss_std"] = float(np.std(np.diff(b)) / np.sqrt(2))
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("dataset", type=Path, nargs="?")
    p.add_argument("--synthetic", type=int, default=0, help="generate and prepare this many images instead")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--loop-steps", type=int, default=300, help="steps of each whole-loop run (0 = skip)")
    p.add_argument("--json", type=Path)
    a = p.parse_args()
    dev = torch.device(a.device)
    cuda = dev.type == "cuda"
    res = {"machine": f"{cpu_model()}, {torch.get_num_threads()} threads, torch {torch.__version__}"
                      + (f", {torch.cuda.get_device_name()}" if cuda else "")}
    batch = {"default": 256 if cuda else 32, "classic": 64 if cuda else 8}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        src = synthetic_dataset(a.synthetic, tmp / "syn") if a.synthetic else a.dataset
        if src is None:
            p.error("give a DATASET or --synthetic N")
        (tmp / "view").mkdir()
        data = view(src, 10_000, tmp / "view")
        res["loader_alone"] = loader_alone(data, 256, 40)
        print(json.dumps(res["loader_alone"]), file=sys.stderr)
        res["preprocessing_alone"] = preprocessing_alone(data, dev, batch["default"], 10 if cuda else 4)
        print(json.dumps(res["preprocessing_alone"]), file=sys.stderr)
        res["forward_backward_alone_images_per_s"] = {
            arch: forward_backward_alone(arch, dev, batch[arch], 10 if cuda else 3) for arch in batch}
        print(json.dumps(res["forward_backward_alone_images_per_s"]), file=sys.stderr)
        if a.loop_steps:
            res["whole_loop"] = {"default": whole_loop(data, a.device, "default", batch["default"], a.loop_steps,
                                                       tmp, legacy=True)}
            if cuda:
                res["whole_loop"]["classic"] = whole_loop(data, a.device, "classic", batch["classic"],
                                                          a.loop_steps, tmp, legacy=True)
    print(json.dumps(res, indent=1))
    if a.json:
        a.json.write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
