"""Colorization networks: L (+ hint channels) -> per-pixel logits over ab bins at 1/4 resolution.

Contract for every model: ``forward(l, hints=None)`` with ``l`` ``(N, 1, H, W)`` in [0, 100] (H, W multiples of
32), ``hints`` ``(N, 3, H, W)`` = (a / 110, b / 110, mask) or None (no hints), returns logits
``(N, Q, H / 4, W / 4)``. ``forward(..., return_scene=True)`` also returns scene-class logits ``(N, C)`` when the
model has a scene head (else None).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .efficientnet_lite import LiteEncoder

HINT_CHANNELS = 3


def conv_bn_relu(cin, cout, k=3, stride=1, dilation=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, padding=dilation * (k // 2), dilation=dilation, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class LiteFPNColorizer(nn.Module):
    """The fast default: an EfficientNet-Lite encoder (``encoder``: "lite0" or "lite1") + a small FPN decoder,
    output at stride 4."""

    def __init__(self, num_bins: int, decoder_dim: int = 64, num_classes: int = 0, hints: bool = True,
                 encoder: str = "lite0"):
        super().__init__()
        self.encoder = LiteEncoder(HINT_CHANNELS if hints else 0, encoder)
        d, channels = decoder_dim, self.encoder.feature_channels
        self.lateral = nn.ModuleList(nn.Conv2d(c, d, 1) for c in channels)
        self.smooth = nn.ModuleList(conv_bn_relu(d, d) for _ in channels[:-1])
        self.hints = hints
        self.head = nn.Sequential(conv_bn_relu(d + (HINT_CHANNELS if hints else 0), d), conv_bn_relu(d, d),
                                  nn.Conv2d(d, num_bins, 1))
        self.scene = nn.Linear(channels[-1], num_classes) if num_classes else None

    def forward(self, l, hints=None, return_scene: bool = False):
        feats = self.encoder(l, hints)
        x = self.lateral[-1](feats[-1])
        for i in range(len(feats) - 2, -1, -1):
            x = F.interpolate(x, size=feats[i].shape[-2:], mode="nearest") + self.lateral[i](feats[i])
            x = self.smooth[i](x)
        if self.hints:
            if hints is None:
                hints = l.new_zeros(l.shape[0], HINT_CHANNELS, l.shape[2], l.shape[3])
            x = torch.cat([x, pool_hints(hints, x.shape[-2:])], 1)
        logits = self.head(x)
        if not return_scene:
            return logits
        scene = self.scene(feats[-1].mean((2, 3))) if self.scene is not None else None
        return logits, scene


def pool_hints(hints: torch.Tensor, size) -> torch.Tensor:
    """Downsample sparse hints: ab averaged over hinted pixels only, mask as the hinted fraction."""
    ab, mask = hints[:, :2], hints[:, 2:3]
    k = hints.shape[-1] // size[-1]
    m = F.avg_pool2d(mask, k)
    ab = F.avg_pool2d(ab * mask, k) / m.clamp(min=1e-6)
    return torch.cat([ab, (m > 0).to(m)], 1)


class ClassicColorizer(nn.Module):
    """The seed's / paper's network: 22 conv layers in 8 groups, ReLU, BatchNorm after each group,
    stride-2 downsampling, dilated groups 5-6, a transposed conv upsampling in group 8; output at stride 4.
    One departure from the paper: a BatchNorm also follows conv8_3 (the paper's group 8 has none). It is kept
    so that classic checkpoints and model files trained so far still load; it costs one affine per channel.
    ``width`` multiplies the paper's channel widths 64-128-256-512-512-512-512-256."""

    def __init__(self, num_bins: int, width: float = 1.0, num_classes: int = 0, hints: bool = True):
        super().__init__()
        w = [max(8, int(round(c * width))) for c in (64, 128, 256, 512, 512, 512, 512, 256)]
        self.hints = hints
        cin = 1 + (HINT_CHANNELS if hints else 0)

        def group(cin, cout, n, stride_last=1, dilation=1):
            layers = []
            for i in range(n):
                s = stride_last if i == n - 1 else 1
                layers += [nn.Conv2d(cin if i == 0 else cout, cout, 3, s, padding=dilation, dilation=dilation),
                           nn.ReLU(inplace=True)]
            return nn.Sequential(*layers, nn.BatchNorm2d(cout))

        self.groups = nn.Sequential(
            group(cin, w[0], 2, 2), group(w[0], w[1], 2, 2), group(w[1], w[2], 3, 2),
            group(w[2], w[3], 3), group(w[3], w[4], 3, dilation=2), group(w[4], w[5], 3, dilation=2),
            group(w[5], w[6], 3),
            nn.Sequential(nn.ConvTranspose2d(w[6], w[7], 4, 2, 1), nn.ReLU(inplace=True),
                          *group(w[7], w[7], 2)))
        self.classifier = nn.Conv2d(w[7], num_bins, 1)
        self.scene = nn.Linear(w[6], num_classes) if num_classes else None

    def forward(self, l, hints=None, return_scene: bool = False):
        x = (l - 50.0) / 50.0
        if self.hints:
            if hints is None:
                hints = l.new_zeros(l.shape[0], HINT_CHANNELS, l.shape[2], l.shape[3])
            x = torch.cat([x, hints], 1)
        x = self.groups[:7](x)
        scene = self.scene(x.mean((2, 3))) if (return_scene and self.scene is not None) else None
        logits = self.classifier(self.groups[7](x))
        return (logits, scene) if return_scene else logits
