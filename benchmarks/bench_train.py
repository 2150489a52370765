"""Training speed (issue 10): the uint8 loader alone, the on-device preprocessing alone, forward+backward alone,
and the whole training loop, in one run. Comparisons with an earlier version are whole processes against a
released version in its own venv: benchmarks/bench_release.py.

    python benchmarks/bench_train.py DATASET [--device cpu|cuda] [--loop-steps 300] [--json FILE]
    python benchmarks/bench_train.py --synthetic 10000 --device cuda      # no dataset at hand: make one

DATASET is a prepared dataset (``tinct prepare``) with >= 10,000 training images; a view of its first 10,000
is used. ``--synthetic N`` generates N colourful 128-px images and prepares them first (a GPU machine needs no
data carried). Defaults per device: CPU batch 32 (loader 256), CUDA batch 256 (classic 64) in bf16.
"""
from __future__ import annotations

import argparse
import json
import math
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
    """Random batches over the whole view, page cache warm (as in training after the first epoch)."""
    from tinct.data.loader import BatchLoader
    from tinct.data.shards import ShardDataset
    ds = ShardDataset(data)
    for f in ds.files:
        with open(f, "rb") as fh:
            while fh.read(1 << 24):
                pass
    plan = {s: np.random.default_rng(s).integers(0, len(ds), batch) for s in range(batches)}
    new = []
    for _ in range(2):
        t = time.perf_counter()
        with BatchLoader(ds, plan.__getitem__, 0, batches, prefetch=6, workers=2) as loader:
            for _ in loader:
                pass
        new.append(batches * batch / (time.perf_counter() - t))
    return {"images_per_s": max(new), "batch": batch, "dataset_images": len(ds)}


def preprocessing_alone(data: Path, device: torch.device, batch: int, reps: int) -> dict:
    from tinct.color import bin_centres
    from tinct.data.shards import ShardDataset
    from tinct.train.batch import make_batch, step_generator
    ds = ShardDataset(data)
    rgb, labels = ds.batch(np.arange(batch))
    rgb_t, lab_t = torch.from_numpy(rgb), torch.from_numpy(labels)
    centres_dev = bin_centres().to(device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    def new(s):
        make_batch(rgb_t, lab_t, step_generator(0, s, 0), centres_dev, size=128, hints=True, hint_p_none=0.5,
                   soft_k=5, soft_sigma=5.0, device=device)

    new(0)
    sync()
    t = time.perf_counter()
    for s in range(reps):
        new(s)
    sync()
    return {"images_per_s": reps * batch / (time.perf_counter() - t)}


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


def new_steps(cfg, steps: int):
    """The loop of ``tinct train`` (train/loop.py) for ``steps`` steps, without its logging, validation and
    checkpoints (those run every few hundred steps), as a generator of (loss per image, seconds) per step."""
    from tinct.color import bin_centres, rebalance_weights
    from tinct.data.loader import BatchLoader
    from tinct.data.shards import ShardDataset
    from tinct.model import build_model
    from tinct.train.batch import make_batch, step_generator
    from tinct.train.guard import NonFiniteWatch
    from tinct.data.splits import batch_indices, split_indices
    from tinct.train.loop import estimate_prior, lr_factor, make_optimizer
    from tinct.train.loss import colorization_loss
    dev = torch.device(cfg.device)
    torch.manual_seed(cfg.seed)
    ds = ShardDataset(cfg.data, "train")
    train_idx, _ = split_indices(len(ds), cfg.holdout)
    centres = bin_centres(cfg.model.grid).to(dev)
    net = build_model(cfg.model)
    if cfg.pretrained and cfg.model.arch == "default":
        net.encoder.load_imagenet()
    weights = rebalance_weights(estimate_prior(ds, train_idx, cfg, centres.cpu()), cfg.rebalance_lambda,
                                cfg.rebalance_power).to(dev)
    net.to(dev).to(memory_format=torch.channels_last)
    model = torch.compile(net) if cfg.compile else net
    opt = make_optimizer(net, cfg, dev)
    watch, cuda = NonFiniteWatch(dev), dev.type == "cuda"

    def batch_of(step, rgb_u8, labels):
        return make_batch(rgb_u8, labels, step_generator(cfg.seed, step, 0), centres, size=cfg.size, hints=True,
                          hint_p_none=cfg.hint_p_none, soft_k=cfg.soft_k, soft_sigma=cfg.soft_sigma, device=dev)
    on_cpu = dev.type == "cpu"      # as train/loop.py: the CPU makes batches in the loader's threads
    loader = BatchLoader(ds, lambda s: batch_indices(train_idx, s, cfg.batch_size, cfg.seed, 0, 1), 0, steps,
                         cfg.prefetch, cfg.loader_workers, pin=cuda, prepare=batch_of if on_cpu else None)
    with loader:
        t0 = time.perf_counter()      # step to step, so waiting for the loader counts
        for step, *got in loader:
            b = got[0] if on_cpu else batch_of(step, *got)
            if cuda:
                ev = torch.cuda.Event()
                ev.record()
                loader.copied(step, ev)
            for gr in opt.param_groups:
                gr["lr"] = cfg.lr * lr_factor(cfg, step) * gr["lr_mult"]
            with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=cuda):
                logits = model(b.l, b.hints)
            loss = colorization_loss(logits, b.index, b.weight, weights)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            gnorm = torch.nn.utils.clip_grad_norm_(net.parameters(), cfg.clip * len(b.l))
            watch.update(step, loss, gnorm)
            if not cuda or (step + 1) % cfg.log_every == 0:
                watch.check("(benchmark)")
            opt.step()
            if cuda and (step + 1) % cfg.log_every != 0:
                loss_i = math.nan                                # no sync: the loss is read at logging steps
            else:
                loss_i = loss.item() / len(b.l)
            t1 = time.perf_counter()
            yield loss_i, t1 - t0
            t0 = time.perf_counter()


def whole_loop(data: Path, device: str, arch: str, batch: int, steps: int, compile_: bool = False) -> dict:
    """The loop of ``tinct train`` alone: images/s over the steps after the first 10, and the loss curve."""
    from tinct.model.config import ModelConfig
    from tinct.train.config import TrainConfig
    cfg = TrainConfig(data=str(data), model=ModelConfig(arch=arch), steps=steps, batch_size=batch, device=device,
                      holdout=100, prior_images=500, warmup=50, rebalance_power=0.5, compile=compile_)
    losses, secs = zip(*new_steps(cfg, steps))
    out = {"images_per_s": batch * len(secs[10:]) / sum(secs[10:])}
    if device == "cuda" or compile_:
        out["first_step_s"] = secs[0]
    a = np.array(losses)
    w = min(50, len(a))
    out["loss_per_image_by_50_steps"] = np.nanmean(a[:len(a) // w * w].reshape(-1, w), 1).round(3).tolist()
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("dataset", type=Path, nargs="?")
    p.add_argument("--synthetic", type=int, default=0, help="generate and prepare this many images instead")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--loop-steps", type=int, default=300, help="steps of each whole-loop run (0 = skip)")
    p.add_argument("--compile", action="store_true", help="also run the whole loop with torch.compile")
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
            archs = ("default", "classic") if cuda else ("default",)
            res["whole_loop"] = {arch: whole_loop(data, a.device, arch, batch[arch], a.loop_steps) for arch in archs}
            if a.compile:
                res["whole_loop_compiled"] = {arch: whole_loop(data, a.device, arch, batch[arch], a.loop_steps, True)
                                              for arch in archs}
    print(json.dumps(res, indent=1))
    if a.json:
        a.json.write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
