"""What training shows while it runs: held-out metrics against the grey baseline and image grids."""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from ..color import correction_shift, decode, grey_rgb, lab_to_rgb, rgb_from_u8, rgb_to_lab
from ..color.metrics import MetricAccumulator
from ..model.config import InferenceConfig
from .visualize import comparison_grid, save_png


@torch.inference_mode()
def predict(net, l, centres, inference: InferenceConfig, weights=None, hints=None):
    """Logits at 1/4 -> ab at full size (bilinear), as the colorize pipeline does."""
    logits = net(l, hints)
    shift = None if weights is None else correction_shift(weights, inference.rebalance_correction)
    ab = decode(logits, centres, inference.decode, inference.temperature, shift)
    return F.interpolate(ab, size=l.shape[-2:], mode="bilinear", align_corners=False)


@torch.inference_mode()
def validate(net, ds, idx, cfg, centres, weights, device):
    """Metrics of the automatic colorizer and of the grey baseline on held-out training images."""
    net.eval()
    model_acc, grey_acc = MetricAccumulator(), MetricAccumulator()
    for i in range(0, len(idx), 64):
        rgb = rgb_from_u8(ds.batch(idx[i:i + 64])[0], device)
        lab = rgb_to_lab(rgb)
        ab = predict(net, lab[:, :1], centres, cfg.inference, weights)
        pred_rgb = lab_to_rgb(torch.cat([lab[:, :1], ab], 1))
        grey = grey_rgb(lab[:, :1])
        model_acc.update(ab.cpu(), lab[:, 1:].cpu(), pred_rgb.cpu(), rgb.cpu())
        grey_acc.update(torch.zeros_like(ab).cpu(), lab[:, 1:].cpu(), grey.cpu(), rgb.cpu())
    net.train()
    return model_acc.result(), grey_acc.result()


@torch.inference_mode()
def write_image_grid(net, ds, hold_idx, cfg, centres, weights, device, run: Path, writer, step: int) -> None:
    """grey | prediction | truth for 8 held-out images: a PNG in the run and an image in TensorBoard."""
    show = hold_idx[::max(1, len(hold_idx) // 8)][:8]
    truth = rgb_from_u8(ds.batch(show)[0], device)
    lab = rgb_to_lab(truth)
    net.eval()
    ab = predict(net, lab[:, :1], centres, cfg.inference, weights)
    net.train()
    grey = grey_rgb(lab[:, :1])
    grid = comparison_grid(grey, lab_to_rgb(torch.cat([lab[:, :1], ab], 1)), truth)
    save_png(grid, run / "images" / f"step_{step:07d}.png")
    writer.add_image("val/grey_pred_truth", grid, step, dataformats="HWC")
