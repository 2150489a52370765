"""Configs that travel with the weights: what rebuilds the network and how to run it."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields


@dataclass
class ModelConfig:
    """Rebuilds a network. ``arch``: ``default`` (EfficientNet-Lite + FPN) or ``classic`` (the paper's).
    A stored config without a field gets its default here (files from before ``encoder`` are Lite0)."""
    arch: str = "default"
    grid: str = "srgb"            # ab bins: "srgb" (the 261 10x10 cells 8-bit sRGB reaches), "gamut" (the first
                                  # release's 257, kept for its weights) or "grid18" (the seed's 18x18)
    decoder_dim: int = 64         # default arch: FPN width
    encoder: str = "lite0"        # default arch: EfficientNet-Lite encoder, "lite0" or "lite1" (depth 1.1)
    width: float = 1.0            # classic arch: width multiplier on 64-128-256-512-512-512-512-256
    num_classes: int = 0          # scene-category head (0 = none)
    hints: bool = True            # hint input channels (user-guided colorization)


@dataclass
class InferenceConfig:
    """How the shipped weights are meant to be run; stored inside every model file."""
    input_size: int = 256          # the network sees L resized to input_size x input_size (multiple of 32)
    decode: str = "annealed"
    temperature: float = 0.38
    rebalance_correction: float = 0.0  # beta: decode with log p - beta * log w (0..1 undoes rebalancing, < 0 strengthens it)
    l_range: tuple = (0.0, 100.0)  # model input: CIELAB L (D65), (N, 1, H, W)
    hint_format: str = "hints (N, 3, H, W) = (a / 110, b / 110, mask), a and b CIELAB at hinted pixels"
    output_stride: int = 4


def from_dict(cls, d: dict):
    """Build a dataclass from a dict, ignoring unknown keys (forward compatible)."""
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in d.items() if k in names})


__all__ = ["ModelConfig", "InferenceConfig", "from_dict", "asdict", "field"]
