"""sRGB <-> CIELAB in torch.

Contract (matches scikit-image ``rgb2lab``/``lab2rgb``):
- RGB: gamma-encoded sRGB in [0, 1], channel dim at ``-3``: shape ``(*, 3, H, W)``.
- Lab: CIE 1976 L*a*b*, D65 white, 2-degree observer; L in [0, 100], a and b roughly [-128, 127].
- Any float dtype and device; batched; differentiable (``lab_to_rgb`` clamps its output to [0, 1]).
- Out of gamut, ``lab_to_rgb`` follows scikit-image and kornia exactly: f_z = (L + 16)/116 - b/200 is clamped
  at 0 before the inverse companding, and linear RGB is clamped to [0, 1].

Public constants (used by the fast paths and the bin derivations): ``XYZ_FROM_RGB``, ``RGB_FROM_XYZ``,
``WHITE_D65``, ``EPS`` = (6/29)^3, ``KAPPA`` = (29/6)^2 / 3.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

XYZ_FROM_RGB = torch.tensor(
    [[0.412453, 0.357580, 0.180423],
     [0.212671, 0.715160, 0.072169],
     [0.019334, 0.119193, 0.950227]], dtype=torch.float64)
RGB_FROM_XYZ = torch.linalg.inv(XYZ_FROM_RGB)
WHITE_D65 = torch.tensor([0.95047, 1.0, 1.08883], dtype=torch.float64)
EPS = 0.008856  # (6/29)^3
KAPPA = 7.787   # (29/6)^2 / 3


def _mix(m: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Apply a 3x3 matrix over the channel dim (-3)."""
    return torch.einsum("ij,...jhw->...ihw", m.to(x), x)


def srgb_to_linear(rgb: torch.Tensor) -> torch.Tensor:
    return torch.where(rgb > 0.04045, ((rgb.clamp(min=0.04045) + 0.055) / 1.055) ** 2.4, rgb / 12.92)


def linear_to_srgb(lin: torch.Tensor) -> torch.Tensor:
    return torch.where(lin > 0.0031308, 1.055 * lin.clamp(min=0.0031308) ** (1 / 2.4) - 0.055, lin * 12.92)


def lab_f(t: torch.Tensor) -> torch.Tensor:
    """CIELAB's companding f(t): t^(1/3) above (6/29)^3, linear below."""
    return torch.where(t > EPS, t.clamp(min=EPS) ** (1 / 3), KAPPA * t + 16 / 116)


def lab_to_linear(lab: torch.Tensor) -> torch.Tensor:
    """Lab ``(*, 3, H, W)`` -> linear RGB ``(*, 3, H, W)``, not clamped (out-of-gamut colours leave [0, 1])."""
    L, a, b = lab.unbind(-3)
    fy = (L + 16) / 116
    f = torch.stack([fy + a / 500, fy, (fy - b / 200).clamp(min=0)], dim=-3)
    xyz = torch.where(f > 6 / 29, f ** 3, (f - 16 / 116) / KAPPA)
    return _mix(RGB_FROM_XYZ, xyz * WHITE_D65.to(xyz).view(3, 1, 1))


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB in [0, 1] ``(*, 3, H, W)`` -> Lab ``(*, 3, H, W)`` (L in [0, 100])."""
    if rgb.dim() < 3 or rgb.shape[-3] != 3:
        raise ValueError(f"expected (*, 3, H, W), got {tuple(rgb.shape)}")
    xyz = _mix(XYZ_FROM_RGB, srgb_to_linear(rgb))
    xyz = xyz / WHITE_D65.to(xyz).view(3, 1, 1)
    f = lab_f(xyz)
    fx, fy, fz = f.unbind(-3)
    L = 116 * fy - 16
    return torch.stack([L, 500 * (fx - fy), 200 * (fy - fz)], dim=-3)


def lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """Lab ``(*, 3, H, W)`` -> sRGB in [0, 1] ``(*, 3, H, W)``, out-of-gamut colours clamped."""
    if lab.dim() < 3 or lab.shape[-3] != 3:
        raise ValueError(f"expected (*, 3, H, W), got {tuple(lab.shape)}")
    lin = lab_to_linear(lab)
    return linear_to_srgb(lin.clamp(0, 1))


def fit_chroma(L: torch.Tensor, ab: torch.Tensor, steps: int = 16) -> torch.Tensor:
    """Scale each pixel's ab ``(2, H, W)`` towards grey just enough that (L, ab) is an sRGB colour (L ``(H, W)``,
    0-100): the largest of ``steps`` + 1 evenly spaced factors in [0, 1] that keeps linear RGB in [0, 1]. So a
    colour recombined with the photo's L keeps that L instead of being clipped to another lightness."""
    f = torch.linspace(1, 0, steps + 1, dtype=ab.dtype, device=ab.device).view(-1, 1, 1, 1)
    lab = torch.cat([L.expand(steps + 1, 1, *L.shape[-2:]), f * ab.unsqueeze(0)], 1)   # (S, 3, H, W)
    lin = lab_to_linear(lab)
    ok = ((lin >= -1e-3) & (lin <= 1 + 1e-3)).all(1)                                  # (S, H, W)
    first = ok.float().argmax(0)                                                      # the largest factor that fits
    return ab * f.view(-1)[first]


def rgb_from_u8(rgb, device="cpu") -> torch.Tensor:
    """uint8 ``(*, H, W, 3)`` (numpy or torch) -> float32 sRGB in [0, 1] ``(*, 3, H, W)`` on ``device`` (moved
    as uint8, converted there)."""
    if isinstance(rgb, np.ndarray) and not rgb.flags.writeable:
        rgb = rgb.copy()                                   # torch cannot wrap a read-only array
    return torch.as_tensor(rgb).to(device, non_blocking=True).movedim(-1, -3).float().div_(255)


def grey_rgb(l: torch.Tensor) -> torch.Tensor:
    """The grey baseline: L ``(*, 1, H, W)`` with a = b = 0 -> sRGB in [0, 1] ``(*, 3, H, W)``."""
    return lab_to_rgb(torch.cat([l, torch.zeros_like(l).expand(*l.shape[:-3], 2, *l.shape[-2:])], -3))


class RgbToLab(nn.Module):
    """Module form of :func:`rgb_to_lab`."""

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        return rgb_to_lab(rgb)


class LabToRgb(nn.Module):
    """Module form of :func:`lab_to_rgb`."""

    def forward(self, lab: torch.Tensor) -> torch.Tensor:
        return lab_to_rgb(lab)
