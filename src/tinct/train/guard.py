"""Stopping on non-finite training numbers without a host synchronisation on every step.

``NonFiniteWatch.update`` records, on the device, the first step whose loss or gradient norm was NaN/inf (no
``.item()``); ``check`` reads it (one sync) and raises :class:`TrainingError` naming that step. The loop checks
before every optimizer step on the CPU (syncs are free there, so no bad update is ever applied) and at logging
steps and before every checkpoint on accelerators (a checkpoint is never written after a bad step).
"""
from __future__ import annotations

from pathlib import Path

import torch


class TrainingError(RuntimeError):
    pass


class NonFiniteWatch:
    def __init__(self, device: torch.device):
        self.first = torch.full((), -1, dtype=torch.long, device=device)
        self.what = torch.zeros((), dtype=torch.long, device=device)        # 1 = loss, 2 = gradient norm
        self.value = torch.zeros((), dtype=torch.float32, device=device)

    def update(self, step: int, loss: torch.Tensor, grad_norm: torch.Tensor) -> None:
        loss, grad_norm = loss.detach().float(), grad_norm.detach().float()
        bad_loss, bad_grad = ~torch.isfinite(loss), ~torch.isfinite(grad_norm)
        new = (self.first < 0) & (bad_loss | bad_grad)
        self.first = torch.where(new, torch.full_like(self.first, step), self.first)
        self.what = torch.where(new, torch.where(bad_loss, 1, 2).to(self.what), self.what)
        self.value = torch.where(new, torch.where(bad_loss, loss, grad_norm), self.value)

    def check(self, checkpoint: Path) -> None:
        step = int(self.first)
        if step >= 0:
            name = "loss" if int(self.what) == 1 else "gradient norm"
            raise TrainingError(f"{name} became {float(self.value)} at step {step}; stopping. "
                                f"{kept_checkpoint(checkpoint)} (lower --lr, or check the data)")


def kept_checkpoint(checkpoint) -> str:
    """What a stopped run leaves: the last good checkpoint when one was written, else says honestly there is none."""
    path = Path(checkpoint)
    if path.exists():
        return f"The last good checkpoint is kept in {path}"
    return f"No checkpoint was written yet ({path} does not exist), so there is nothing to resume"
