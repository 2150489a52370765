"""The fast full-resolution colour maths agree with the reference torch conversions (tinct.color.lab)."""
import numpy as np
import torch

from tinct.color import lab_to_rgb, rgb_to_lab
from tinct.pipeline.fast_lab import is_grey, lightness, recombine_band


def _reference(rgb: np.ndarray, ab: torch.Tensor) -> np.ndarray:
    t = torch.from_numpy(rgb).permute(2, 0, 1).unsqueeze(0).double() / 255
    lab = torch.cat([rgb_to_lab(t)[:, :1], ab.double().unsqueeze(0)], 1)
    return (lab_to_rgb(lab)[0].permute(1, 2, 0) * 255).round().clamp(0, 255).to(torch.uint8).numpy()


def test_lightness_matches_rgb_to_lab():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (37, 23, 3), dtype=np.uint8)
    want = rgb_to_lab(torch.from_numpy(rgb).permute(2, 0, 1).double() / 255)[0]
    got = lightness(rgb).double().reshape(want.shape)
    assert (got - want).abs().max() < 1e-3


def test_recombine_band_matches_reference_within_one_level():
    rng = np.random.default_rng(1)
    for grey in (False, True):
        rgb = rng.integers(0, 256, (31, 47, 3), dtype=np.uint8)
        if grey:
            rgb[..., 1] = rgb[..., 2] = rgb[..., 0]
        assert is_grey(rgb) == grey
        ab = torch.from_numpy(rng.uniform(-90, 90, (2, 31, 47))).float()
        got, want = recombine_band(rgb, ab).astype(int), _reference(rgb, ab).astype(int)
        assert got.shape == want.shape
        assert np.abs(got - want).max() <= 1
        assert (got != want).mean() < 0.01
