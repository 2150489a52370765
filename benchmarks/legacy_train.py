"""The training step as it was before issue 10, kept callable so bench_train.py can compare against it.

Faithful to the old ``train/loop.py``: a 2-thread pool prefetches ``ShardDataset.batch`` (one ``pread`` and a
numpy copy per image); crop, Lab, simulated hints (one average pooling and two convolutions per patch size) and
the soft encoding (distances to all Q bins, top-k over the bin axis) run on the CPU in the main thread; a
per-parameter AdamW loop; ``.item()``-style checks of the loss and gradient norm on every step.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
import torch.nn.functional as F

from tinct.color import bin_centres, rebalance_weights, rgb_to_lab
from tinct.data.augment import draw_hint_points, random_resized_crop
from tinct.data.shards import ShardDataset
from tinct.model import build_model
from tinct.data.splits import batch_indices, split_indices
from tinct.train.loop import estimate_prior, lr_factor
from tinct.train.loss import colorization_loss


def old_simulate_hints(ab, g, p_none=0.5, mean_points=8.0, max_points=24, sizes_=(1, 3, 5, 7)):
    n, _, h, w = ab.shape
    active, ys, xs, sizes = draw_hint_points(n, h, w, g, p_none, mean_points, max_points, len(sizes_))
    hint_ab, mask = torch.zeros_like(ab), torch.zeros(n, 1, h, w, dtype=ab.dtype)
    batch_idx = torch.arange(n).view(-1, 1).expand(n, max_points)
    for si, s in enumerate(sizes_):
        sel = active & (sizes == si)
        if not sel.any():
            continue
        mean_ab = F.avg_pool2d(ab, s, 1, s // 2, count_include_pad=False) if s > 1 else ab
        b, y, x = batch_idx[sel], ys[sel], xs[sel]
        centre = torch.zeros(n, 1, h, w, dtype=ab.dtype)
        centre[b, 0, y, x] = 1.0
        val = torch.zeros_like(ab)
        val[b, :, y, x] = mean_ab[b, :, y, x]
        if s > 1:
            k = torch.ones(1, 1, s, s, dtype=ab.dtype)
            cover = F.conv2d(centre, k, padding=s // 2)
            val = F.conv2d(val, k.expand(2, 1, s, s), padding=s // 2, groups=2)
            centre = cover
        hint_ab += val
        mask += centre
    filled = mask > 0
    hint_ab = torch.where(filled, hint_ab / mask.clamp(min=1), torch.zeros_like(hint_ab))
    return torch.cat([hint_ab / 110.0, filled.to(ab.dtype)], 1)


def old_encode_soft(ab, centres, k=5, sigma=5.0):
    c = centres.to(ab)
    cross = torch.einsum("nchw,qc->nqhw", ab, c)
    d2 = (ab.pow(2).sum(1, keepdim=True) - 2 * cross + c.pow(2).sum(1).view(1, -1, 1, 1)).clamp_(min=0)
    d2, idx = d2.topk(k, dim=1, largest=False)
    return idx, torch.softmax(-d2 / (2 * sigma ** 2), dim=1)


def old_batch(ds, idx):
    out = np.empty((len(idx), ds.size, ds.size, 3), np.uint8)
    for j, i in enumerate(idx):
        out[j] = ds[int(i)][0]
    return out, ds.labels[np.asarray(idx, dtype=np.int64)]


def legacy_steps(cfg, steps: int):
    """The old loop for ``steps`` steps of ``cfg``, as a generator of (loss per image, seconds) per step. As
    before, all preprocessing runs on the CPU; only the network step runs on ``cfg.device`` (bf16 on CUDA)."""
    dev = torch.device(cfg.device if cfg.device != "auto" else "cpu")
    torch.manual_seed(cfg.seed)
    ds = ShardDataset(cfg.data, "train")
    train_idx, _ = split_indices(len(ds), cfg.holdout)
    centres = bin_centres(cfg.model.grid)
    net = build_model(cfg.model)
    if cfg.pretrained and cfg.model.arch == "default":
        net.encoder.load_imagenet()
    weights = rebalance_weights(estimate_prior(ds, train_idx, cfg, centres), cfg.rebalance_lambda,
                                cfg.rebalance_power)
    net.to(dev).to(memory_format=torch.channels_last)
    weights = weights.to(dev)
    enc = [p for n, p in net.named_parameters() if n.startswith("encoder._")]
    rest = [p for n, p in net.named_parameters() if not n.startswith("encoder._")]
    groups = [{"params": rest, "lr_mult": 1.0}] + ([{"params": enc, "lr_mult": cfg.encoder_lr_mult}] if enc else [])
    opt = torch.optim.AdamW(groups, lr=cfg.lr, weight_decay=cfg.weight_decay, foreach=False)
    pool = ThreadPoolExecutor(2)
    fut = {s: pool.submit(old_batch, ds, batch_indices(train_idx, s, cfg.batch_size, cfg.seed, 0, 1))
           for s in range(min(cfg.prefetch, steps))}
    for step in range(steps):
        t0 = time.perf_counter()
        rgb_u8, _ = fut.pop(step).result()
        if step + cfg.prefetch < steps:
            nxt = step + cfg.prefetch
            fut[nxt] = pool.submit(old_batch, ds, batch_indices(train_idx, nxt, cfg.batch_size, cfg.seed, 0, 1))
        g = torch.Generator().manual_seed(cfg.seed * 1_000_003 + step * 1009)
        rgb = random_resized_crop(torch.from_numpy(rgb_u8).permute(0, 3, 1, 2).float().div_(255), cfg.size, g)
        lab = rgb_to_lab(rgb)
        hints = old_simulate_hints(lab[:, 1:], g, cfg.hint_p_none)
        idx, w = old_encode_soft(F.avg_pool2d(lab[:, 1:], 4), centres, cfg.soft_k, cfg.soft_sigma)
        l = lab[:, :1].to(dev).contiguous(memory_format=torch.channels_last)
        hints, idx, w = hints.to(dev), idx.to(dev), w.to(dev)
        for gr in opt.param_groups:
            gr["lr"] = cfg.lr * lr_factor(cfg, step) * gr["lr_mult"]
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=dev.type == "cuda"):
            logits = net(l, hints)
        loss = colorization_loss(logits, idx, w, weights if cfg.rebalance_power else None)
        if not torch.isfinite(loss):
            raise RuntimeError("non-finite loss")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gnorm = torch.nn.utils.clip_grad_norm_(net.parameters(), cfg.clip * len(rgb_u8))
        if not torch.isfinite(gnorm):
            raise RuntimeError("non-finite gradient")
        opt.step()
        yield loss.item() / len(rgb_u8), time.perf_counter() - t0
    pool.shutdown(wait=False, cancel_futures=True)
