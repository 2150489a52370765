"""``tinct train``: one readable training loop (single process, or DDP under torchrun)."""
from __future__ import annotations

import json
import math
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..device import resolve_device
from ..color import bin_centres, decode, encode_soft, histogram, lab_to_rgb, rebalance_weights, rgb_to_lab, smooth_prior
from ..data.augment import random_resized_crop, simulate_hints
from ..data.shards import ShardDataset
from ..evaluate.metrics import MetricAccumulator
from ..model import build_model, save_model_file
from ..model.config import InferenceConfig, ModelConfig, from_dict
from . import distributed as ddp
from .checkpoint import load_checkpoint, save_checkpoint
from .config import TrainConfig
from .loss import colorization_loss
from .visualize import comparison_grid, save_png

MODEL_FILE = "model.safetensors"


class TrainingError(RuntimeError):
    pass




def split_indices(n: int, holdout: int) -> tuple[np.ndarray, np.ndarray]:
    """A fixed (seed-independent) split of a dataset into (train, holdout) indices."""
    perm = np.random.default_rng(12345).permutation(n)
    return np.sort(perm[holdout:]), np.sort(perm[:holdout])


def batch_indices(train_idx: np.ndarray, step: int, batch: int, seed: int, rank: int, world: int) -> np.ndarray:
    """The indices rank ``rank`` trains on at ``step``: an epoch-wise shuffle, a disjoint slice per rank."""
    per_step = batch * world
    steps_per_epoch = max(len(train_idx) // per_step, 1)
    epoch, k = divmod(step, steps_per_epoch)
    perm = np.random.default_rng([seed, epoch]).permutation(len(train_idx))
    chunk = perm[k * per_step:(k + 1) * per_step]
    return train_idx[chunk[rank::world]]


def lr_factor(cfg: TrainConfig, step: int) -> float:
    if step < cfg.warmup:
        return (step + 1) / cfg.warmup
    t = (step - cfg.warmup) / max(cfg.steps - cfg.warmup, 1)
    if cfg.schedule == "cosine":
        return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * min(t, 1.0)))
    if cfg.schedule == "step":
        return 1.0 if t < 0.6 else 0.1 if t < 0.85 else 0.01
    return 1.0


def to_float_rgb(rgb_u8: np.ndarray, device) -> torch.Tensor:
    """uint8 (N, H, W, 3) -> float (N, 3, H, W) in [0, 1]."""
    return torch.from_numpy(rgb_u8).to(device).permute(0, 3, 1, 2).float().div_(255)


def estimate_prior(ds, idx, cfg, centres):
    sample = idx[np.random.default_rng(cfg.seed).permutation(len(idx))[:cfg.prior_images]]
    counts = torch.zeros(len(centres), dtype=torch.float64)
    for i in range(0, len(sample), 256):
        rgb, _ = ds.batch(sample[i:i + 256])
        ab = rgb_to_lab(to_float_rgb(rgb[:, ::2, ::2], "cpu"))[:, 1:]
        counts += histogram(ab, centres)
    return smooth_prior(counts, centres, cfg.prior_sigma)


@torch.inference_mode()
def predict(net, l, centres, inference: InferenceConfig, weights=None, hints=None):
    """Logits at 1/4 -> ab at full size (bilinear), as the colorize pipeline does."""
    logits = net(l, hints)
    shift = None if weights is None or not inference.rebalance_correction else \
        -inference.rebalance_correction * weights.log()
    ab = decode(logits, centres, inference.decode, inference.temperature, shift)
    return F.interpolate(ab, size=l.shape[-2:], mode="bilinear", align_corners=False)


@torch.inference_mode()
def validate(net, ds, idx, cfg, centres, weights, device):
    """Metrics of the automatic colorizer and of the grey baseline on held-out training images."""
    net.eval()
    truths = []
    for i in range(0, len(idx), 64):
        rgb, _ = ds.batch(idx[i:i + 64])
        truths.append(to_float_rgb(rgb, device))
    model_acc, grey_acc = MetricAccumulator(), MetricAccumulator()
    for rgb in truths:
        lab = rgb_to_lab(rgb)
        ab = predict(net, lab[:, :1], centres, cfg.inference, weights)
        pred_rgb = lab_to_rgb(torch.cat([lab[:, :1], ab], 1))
        grey_rgb = lab_to_rgb(torch.cat([lab[:, :1], torch.zeros_like(ab)], 1))
        model_acc.update(ab.cpu(), lab[:, 1:].cpu(), pred_rgb.cpu(), rgb.cpu())
        grey_acc.update(torch.zeros_like(ab).cpu(), lab[:, 1:].cpu(), grey_rgb.cpu(), rgb.cpu())
    net.train()
    return model_acc.result(), grey_acc.result()


def config_from_dict(d: dict) -> TrainConfig:
    d = dict(d)
    d["model"] = from_dict(ModelConfig, d.get("model", {}))
    d["inference"] = from_dict(InferenceConfig, d.get("inference", {}))
    return from_dict(TrainConfig, d)


def train(cfg: TrainConfig, resume: bool = False, steps: int | None = None) -> dict:
    """Train per ``cfg``. With ``resume``, the run's saved config wins (so the model is rebuilt exactly);
    ``steps``, when given, sets a new total (the LR schedule follows it from the current step on)."""
    device = resolve_device(cfg.device)
    rank, world, master = ddp.setup(device)
    run = Path(cfg.out)
    ckpt = load_checkpoint(run) if resume else None
    if ckpt is not None:
        cfg = config_from_dict(ckpt["config"])
    if steps is not None:
        cfg.steps = steps
    if master:
        run.mkdir(parents=True, exist_ok=True)
        (run / "config.json").write_text(json.dumps(asdict(cfg), indent=1))
    torch.manual_seed(cfg.seed)

    ds = ShardDataset(cfg.data, "train")
    train_idx, hold_idx = split_indices(len(ds), cfg.holdout)
    has_labels = bool((ds.labels[train_idx] >= 0).any()) and cfg.scene_weight > 0
    if has_labels and not cfg.model.num_classes:
        cfg.model.num_classes = int(ds.labels.max()) + 1
    centres = bin_centres(cfg.model.grid).to(device)

    net = build_model(cfg.model)
    if ckpt is None and cfg.pretrained and cfg.model.arch == "default":
        net.encoder.load_imagenet()
    if ckpt is not None:
        net.load_state_dict(ckpt["model"])
        prior = ckpt["prior"]
    else:
        prior = estimate_prior(ds, train_idx, cfg, centres.cpu())
    weights = rebalance_weights(prior, cfg.rebalance_lambda, cfg.rebalance_power)
    net.to(device)
    if cfg.channels_last:
        net.to(memory_format=torch.channels_last)
    if getattr(net, "scene", None) is not None and not has_labels:
        # a scene head (e.g. --num-classes) with no labels to learn from: frozen, as DDP needs every trainable
        # parameter to take part in the loss
        net.scene.requires_grad_(False)
    model = ddp.wrap(net, device)

    enc = [p for n, p in net.named_parameters() if n.startswith("encoder._")]
    rest = [p for n, p in net.named_parameters() if not n.startswith("encoder._")]
    groups = [{"params": rest, "lr_mult": 1.0}]
    if enc:
        groups.append({"params": enc, "lr_mult": cfg.encoder_lr_mult if cfg.pretrained else 1.0})
    opt = torch.optim.AdamW(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)
    step = 0
    if ckpt is not None:
        opt.load_state_dict(ckpt["optimizer"])
        step = ckpt["step"]
    bf16 = cfg.precision == "bf16" or (cfg.precision == "auto" and device.type == "cuda")

    writer = None
    if master:
        from torch.utils.tensorboard import SummaryWriter
        # events are logged at the number of steps done; the checkpoint's own step (logged before it was saved)
        # stays, anything after it is redone and purged
        writer = SummaryWriter(str(run / "tensorboard"), purge_step=step + 1 if step else None)
        prior_path = run / "prior.json"
        prior_path.write_text(json.dumps({"prior": prior.tolist(), "weights": weights.tolist()}))

    def save(step):
        bad = [n for n, t in net.state_dict().items() if t.is_floating_point() and not torch.isfinite(t).all()]
        if bad:  # never replace the last good checkpoint with a diverged one
            raise TrainingError(f"weights became non-finite ({bad[0]}, ...) at step {step}; stopping. The last good "
                                f"checkpoint is kept in {run / 'checkpoint.pt'} (lower --lr, or check the data)")
        state = {"model": net.state_dict(), "optimizer": opt.state_dict(), "step": step, "config": asdict(cfg),
                 "prior": prior, "weights": weights}
        save_checkpoint(run, state)
        save_model_file(run / MODEL_FILE, net, cfg.model, cfg.inference, prior, weights)

    pool = ThreadPoolExecutor(2)
    future = {s: pool.submit(ds.batch, batch_indices(train_idx, s, cfg.batch_size, cfg.seed, rank, world))
              for s in range(step, min(step + cfg.prefetch, cfg.steps))}
    bar = None
    if master:
        from tqdm import tqdm
        bar = tqdm(total=cfg.steps, initial=step, unit="step", dynamic_ncols=True, file=sys.stderr)
    t_last, imgs_since = time.perf_counter(), 0
    result = {}
    while step < cfg.steps:
        rgb_u8, labels = future.pop(step).result()
        nxt = step + cfg.prefetch
        if nxt < cfg.steps:
            future[nxt] = pool.submit(ds.batch, batch_indices(train_idx, nxt, cfg.batch_size, cfg.seed, rank, world))
        g = torch.Generator().manual_seed(cfg.seed * 1_000_003 + step * 1009 + rank)
        rgb = random_resized_crop(to_float_rgb(rgb_u8, "cpu"), cfg.size, g)
        lab = rgb_to_lab(rgb)
        hints = simulate_hints(lab[:, 1:], g, cfg.hint_p_none) if cfg.model.hints else None
        ab_small = F.avg_pool2d(lab[:, 1:], 4)
        idx, w = encode_soft(ab_small, centres.cpu(), cfg.soft_k, cfg.soft_sigma)
        l = lab[:, :1].to(device)
        if cfg.channels_last:
            l = l.contiguous(memory_format=torch.channels_last)
        lr = cfg.lr * lr_factor(cfg, step)
        for gr in opt.param_groups:
            gr["lr"] = lr * gr["lr_mult"]
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            logits, scene = model(l, None if hints is None else hints.to(device), return_scene=True)
        loss = colorization_loss(logits, idx.to(device), w.to(device),
                                 weights.to(device) if cfg.rebalance_power else None)
        if scene is not None and has_labels:
            loss = loss + cfg.scene_weight * F.cross_entropy(scene.float(), torch.from_numpy(labels).to(device),
                                                             ignore_index=-1, reduction="sum")
        if not torch.isfinite(loss):
            raise TrainingError(f"loss became {loss.item()} at step {step}; stopping. The last good checkpoint "
                                f"is kept in {run / 'checkpoint.pt'} (lower --lr, or check the data)")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gnorm = torch.nn.utils.clip_grad_norm_(net.parameters(), cfg.clip * len(rgb_u8) if cfg.clip else float("inf"))
        if not torch.isfinite(gnorm):  # a step on NaN/inf gradients would poison every weight
            raise TrainingError(f"gradient norm became {float(gnorm)} at step {step}; stopping. The last good "
                                f"checkpoint is kept in {run / 'checkpoint.pt'} (lower --lr, or check the data)")
        opt.step()
        step += 1
        imgs_since += len(rgb_u8) * world
        if master:
            bar.update(1)
            if step % cfg.log_every == 0 or step == cfg.steps:
                now = time.perf_counter()
                ips = imgs_since / (now - t_last)
                t_last, imgs_since = now, 0
                per_image = loss.item() / len(rgb_u8)
                bar.set_postfix(loss=f"{per_image:.3f}", ips=f"{ips:.0f}")
                writer.add_scalar("train/loss_per_image", per_image, step)
                writer.add_scalar("train/lr", lr, step)
                writer.add_scalar("train/images_per_s", ips, step)
                writer.add_scalar("train/grad_norm_per_image", float(gnorm) / len(rgb_u8), step)
            if step % cfg.image_every == 0 or step == cfg.steps:
                show = hold_idx[::max(1, len(hold_idx) // 8)][:8]
                rgb_h, _ = ds.batch(show)
                truth = to_float_rgb(rgb_h, device)
                lab_h = rgb_to_lab(truth)
                net.eval()
                ab = predict(net, lab_h[:, :1], centres, cfg.inference, weights)
                net.train()
                grey = lab_to_rgb(torch.cat([lab_h[:, :1], torch.zeros_like(ab)], 1))
                grid = comparison_grid(grey, lab_to_rgb(torch.cat([lab_h[:, :1], ab], 1)), truth)
                save_png(grid, run / "images" / f"step_{step:07d}.png")
                writer.add_image("val/grey_pred_truth", grid, step, dataformats="HWC")
            if step % cfg.val_every == 0 or step == cfg.steps:
                m, gr = validate(net, ds, hold_idx[:cfg.val_images], cfg, centres, weights, device)
                for k in ("auc", "auc_rebalanced", "psnr", "colourfulness_ratio"):
                    writer.add_scalar(f"val/{k}", m[k], step)
                    writer.add_scalar(f"val_grey/{k}", gr[k], step)
                result = {"step": step, "model": {k: v for k, v in m.items() if not k.endswith("curve")},
                          "grey": {k: v for k, v in gr.items() if not k.endswith("curve")}}
                with open(run / "val.jsonl", "a") as f:
                    f.write(json.dumps(result) + "\n")
            if step % cfg.ckpt_every == 0 or step == cfg.steps:
                save(step)
        if step % cfg.ckpt_every == 0:
            ddp.barrier()
    pool.shutdown(wait=False, cancel_futures=True)
    if master:
        bar.close()
        writer.close()
    ddp.teardown()
    return result
