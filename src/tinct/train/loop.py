"""``tinct train``: one readable training loop (single process, or DDP under torchrun).

Per step: the loader hands over a uint8 batch read ahead by its threads; ``make_batch`` does all preprocessing on
the training device (on the CPU, in the loader's threads, so it overlaps the previous step; the batch is the same
pure function of (seed, step, rank) either way); forward (bf16 autocast on CUDA, and on a CPU where
``--precision auto`` measured it faster: train/precision.py), loss, backward, clipping, AdamW. Nothing forces a host
synchronisation on an accelerator except at logging, validation and checkpoint steps.
"""
from __future__ import annotations

import json
import math
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..color import bin_centres, histogram, rebalance_weights, rgb_from_u8, rgb_to_lab, smooth_prior
from ..data.loader import BatchLoader
from ..data.shards import ShardDataset
from ..data.splits import batch_indices, fit_holdout, split_indices
from ..device import resolve_device
from ..model import MODEL_FILE, build_model, load_model_file, save_model_file
from ..model.config import InferenceConfig, ModelConfig, from_dict
from . import distributed as ddp
from .batch import make_batch, step_generator
from .checkpoint import load_checkpoint, save_checkpoint
from .config import TrainConfig
from .guard import NonFiniteWatch, TrainingError, kept_checkpoint
from .loss import ab_regression_loss, colorization_loss
from .monitor import validate, write_image_grid
from .precision import describe, measure, resolve

__all__ = ["train", "TrainingError", "config_from_dict", "estimate_prior", "lr_factor", "make_optimizer"]


def lr_factor(cfg: TrainConfig, step: int) -> float:
    if step < cfg.warmup:
        return (step + 1) / cfg.warmup
    t = (step - cfg.warmup) / max(cfg.steps - cfg.warmup, 1)
    if cfg.schedule == "cosine":
        return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * min(t, 1.0)))
    if cfg.schedule == "step":
        return 1.0 if t < 0.6 else 0.1 if t < 0.85 else 0.01
    return 1.0


def estimate_prior(ds, idx, cfg, centres):
    sample = idx[np.random.default_rng(cfg.seed).permutation(len(idx))[:cfg.prior_images]]
    counts = torch.zeros(len(centres), dtype=torch.float64)
    for i in range(0, len(sample), 256):
        rgb, _ = ds.batch(sample[i:i + 256])
        ab = rgb_to_lab(rgb_from_u8(rgb[:, ::2, ::2]))[:, 1:]
        counts += histogram(ab, centres)
    return smooth_prior(counts, centres, cfg.prior_sigma)


def make_optimizer(net, cfg: TrainConfig, device: torch.device) -> torch.optim.Optimizer:
    """AdamW, the pretrained encoder at ``encoder_lr_mult``; one fused kernel on CUDA, foreach elsewhere."""
    enc = [p for n, p in net.named_parameters() if n.startswith("encoder._")]
    rest = [p for n, p in net.named_parameters() if not n.startswith("encoder._")]
    groups = [{"params": rest, "lr_mult": 1.0}]
    if enc:
        groups.append({"params": enc, "lr_mult": cfg.encoder_lr_mult if cfg.pretrained else 1.0})
    impl = {"fused": True} if device.type == "cuda" else {"foreach": True}
    return torch.optim.AdamW(groups, lr=cfg.lr, weight_decay=cfg.weight_decay, **impl)


def trim_val_log(path: Path, step: int) -> None:
    """After a resume from ``step``, drop the held-out records of the steps that will be redone."""
    if path.exists():
        keep = [ln for ln in path.read_text().splitlines() if ln.strip() and json.loads(ln)["step"] <= step]
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text("".join(ln + "\n" for ln in keep))
        os.replace(tmp, path)


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
    start = load_model_file(cfg.init_from) if ckpt is None and cfg.init_from else None
    if start is not None:
        cfg.model = start.model_config   # the weights define the network
    if master:
        run.mkdir(parents=True, exist_ok=True)
        (run / "config.json").write_text(json.dumps(asdict(cfg), indent=1))
    torch.manual_seed(cfg.seed)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True

    ds = ShardDataset(cfg.data, "train")
    if len(ds) < 2:
        raise TrainingError(f"{cfg.data}: {len(ds)} training image(s); training needs at least 2")
    holdout = fit_holdout(len(ds), cfg.holdout)
    if holdout != cfg.holdout and master:
        print(f"tinct train: {len(ds)} images: holding out {holdout} (a fifth) for validation instead of "
              f"--holdout {cfg.holdout}", file=sys.stderr)
    train_idx, hold_idx = split_indices(len(ds), holdout)
    has_labels = bool((ds.labels[train_idx] >= 0).any()) and cfg.scene_weight > 0
    if has_labels and not cfg.model.num_classes:
        cfg.model.num_classes = int(ds.labels.max()) + 1
    centres = bin_centres(cfg.model.grid).to(device)

    net = build_model(cfg.model)
    if start is not None:
        try:
            net.load_state_dict(start.net.state_dict())
        except RuntimeError as e:
            raise TrainingError(f"--init-from {cfg.init_from}: its weights do not fit this run's network "
                                f"({str(e).splitlines()[0]}); a scene head needs one in the file too") from None
    elif ckpt is None and cfg.pretrained and cfg.model.arch == "default":
        net.encoder.load_imagenet()
    if ckpt is not None:
        net.load_state_dict(ckpt["model"])
        prior = ckpt["prior"]
    else:
        prior = estimate_prior(ds, train_idx, cfg, centres.cpu())
    weights = rebalance_weights(prior, cfg.rebalance_lambda, cfg.rebalance_power)
    weights_dev = weights.to(device)
    net.to(device)
    if cfg.channels_last:
        net.to(memory_format=torch.channels_last)
    if getattr(net, "scene", None) is not None and not has_labels:
        # a scene head (e.g. --num-classes) with no labels to learn from: frozen, as DDP needs every trainable
        # parameter to take part in the loss
        net.scene.requires_grad_(False)
    model = ddp.wrap(net, device)
    if cfg.compile:
        model = torch.compile(model)
    opt = make_optimizer(net, cfg, device)
    step = 0
    if ckpt is not None:
        opt.load_state_dict(ckpt["optimizer"])
        step = ckpt["step"]

    def batch_of(step, rgb_u8, labels):
        return make_batch(rgb_u8, labels, step_generator(cfg.seed, step, rank), centres, size=cfg.size,
                          hints=cfg.model.hints, hint_p_none=cfg.hint_p_none, soft_k=cfg.soft_k,
                          soft_sigma=cfg.soft_sigma, hint_mean_points=cfg.hint_mean_points,
                          hint_max_patch=cfg.hint_max_patch, degrade=cfg.degrade, device=device,
                          channels_last=cfg.channels_last)

    def step_loss(model, b, bf16):
        """The training loss of batch ``b``: the forward in bf16 autocast or not, the loss in fp32."""
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            logits, scene = model(b.l, b.hints, return_scene=True)
        loss = colorization_loss(logits, b.index, b.weight, weights_dev if cfg.rebalance_power else None)
        if cfg.ab_regression:
            loss = loss + cfg.ab_regression * ab_regression_loss(logits, centres, b.ab)
        if scene is not None and has_labels:
            loss = loss + cfg.scene_weight * F.cross_entropy(scene.float(), b.labels, ignore_index=-1,
                                                             reduction="sum")
        return loss

    if ckpt is not None and cfg.precision == "auto":   # a run from before the CPU probe: auto meant this
        precision, prec_rec = ("bf16" if device.type == "cuda" else "fp32"), None
    else:
        def probe():
            rgb, lab = ds.batch(batch_indices(train_idx, step, cfg.batch_size, cfg.seed, rank, world))
            b0 = batch_of(step, torch.from_numpy(rgb), torch.from_numpy(lab))
            return measure(net, lambda m, bf: step_loss(m, b0, bf), device)
        # rank 0 resolves (and on a CPU measures) once; every rank trains as it chose
        precision, prec_rec = resolve(cfg.precision, device, probe) if master else (None, None)
        precision = ddp.broadcast_object(precision)
        cfg.precision = precision   # stored in config.json and every checkpoint: --resume keeps it
    bf16 = precision == "bf16"

    writer = None
    if master:
        if prec_rec is not None and ckpt is None:   # the first start: the choice and its measurement, kept
            (run / "precision.json").write_text(json.dumps(prec_rec, indent=1) + "\n")
            (run / "config.json").write_text(json.dumps(asdict(cfg), indent=1))
            if prec_rec["requested"] == "auto":
                print(f"tinct train: {describe(prec_rec)}", file=sys.stderr)
        from torch.utils.tensorboard import SummaryWriter
        # events are logged at the number of steps done; the checkpoint's own step (logged before it was saved)
        # stays, anything after it is redone and purged
        writer = SummaryWriter(str(run / "tensorboard"), purge_step=step + 1 if step else None)
        (run / "prior.json").write_text(json.dumps({"prior": prior.tolist(), "weights": weights.tolist()}))
        if step:
            trim_val_log(run / "val.jsonl", step)

    def save(step):
        bad = [n for n, t in net.state_dict().items() if t.is_floating_point() and not torch.isfinite(t).all()]
        if bad:  # never replace the last good checkpoint with a diverged one
            raise TrainingError(f"weights became non-finite ({bad[0]}, ...) at step {step}; stopping. "
                                f"{kept_checkpoint(run / 'checkpoint.pt')} (lower --lr, or check the data)")
        state = {"model": net.state_dict(), "optimizer": opt.state_dict(), "step": step, "config": asdict(cfg),
                 "prior": prior, "weights": weights}
        save_checkpoint(run, state)
        save_model_file(run / MODEL_FILE, net, cfg.model, cfg.inference, prior, weights, step=step)

    cuda = device.type == "cuda"
    check_every = 1 if device.type == "cpu" else cfg.log_every   # CPU: a sync is free, check before every update
    watch = NonFiniteWatch(device)
    on_cpu = device.type == "cpu"   # the CPU: preprocessing in the loader's threads, overlapping the step
    loader = BatchLoader(ds, lambda s: batch_indices(train_idx, s, cfg.batch_size, cfg.seed, rank, world), step,
                         cfg.steps, cfg.prefetch, cfg.loader_workers, pin=cuda, prepare=batch_of if on_cpu else None)
    bar = None
    if master:
        from tqdm import tqdm
        bar = tqdm(total=cfg.steps, initial=step, unit="step", dynamic_ncols=True, file=sys.stderr)
    t_start = t_last = time.perf_counter()
    imgs_since, side_time, first_step_s = 0, 0.0, None
    result = {}
    with loader:
        for step, *got in loader:
            t_step = time.perf_counter()
            b = got[0] if on_cpu else batch_of(step, *got)
            if cuda:  # the loader refills this pinned buffer only once the copy is done
                copied = torch.cuda.Event()
                copied.record()
                loader.copied(step, copied)
            lr = cfg.lr * lr_factor(cfg, step)
            for gr in opt.param_groups:
                gr["lr"] = lr * gr["lr_mult"]
            loss = step_loss(model, b, bf16)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            gnorm = torch.nn.utils.clip_grad_norm_(net.parameters(),
                                                   cfg.clip * len(b.l) if cfg.clip else float("inf"))
            watch.update(step, loss, gnorm)
            done = step + 1
            if done % check_every == 0 or done % cfg.ckpt_every == 0 or done == cfg.steps:
                watch.check(run / "checkpoint.pt")   # a NaN/inf step would poison every weight
            opt.step()
            step = done
            imgs_since += len(b.l) * world
            if first_step_s is None:
                first_step_s = time.perf_counter() - t_step    # with --compile: mostly the compilation
            if master:
                bar.update(1)
                if step % cfg.log_every == 0 or step == cfg.steps:
                    now = time.perf_counter()
                    ips, t_last, imgs_since = imgs_since / (now - t_last), now, 0
                    per_image = loss.item() / len(b.l)
                    bar.set_postfix(loss=f"{per_image:.3f}", ips=f"{ips:.0f}")
                    writer.add_scalar("train/loss_per_image", per_image, step)
                    writer.add_scalar("train/lr", lr, step)
                    writer.add_scalar("train/images_per_s", ips, step)
                    writer.add_scalar("train/grad_norm_per_image", float(gnorm) / len(b.l), step)
                t_side = time.perf_counter()
                if step % cfg.image_every == 0 or step == cfg.steps:
                    write_image_grid(net, ds, hold_idx, cfg, centres, weights, device, run, writer, step)
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
                side_time += time.perf_counter() - t_side
                if step % cfg.log_every == 0 or step == cfg.steps:  # validation, images, checkpoints: their share
                    writer.add_scalar("time/side_share", side_time / (time.perf_counter() - t_start), step)
            if step % cfg.ckpt_every == 0:
                ddp.barrier()
    if master:
        if first_step_s is not None:
            writer.add_scalar("time/first_step_s", first_step_s, step)
            result.update(first_step_s=first_step_s, side_share=side_time / (time.perf_counter() - t_start))
        bar.close()
        writer.close()
    ddp.teardown()
    return result
