"""Issue 15: colour maths exact out of gamut (the f_z clamp of scikit-image and kornia) and the bin set that
8-bit sRGB really reaches."""
import numpy as np
import pytest
import torch
from skimage.color import lab2rgb, rgb2lab

from tinct.color import bin_centres, lab_to_rgb
from tinct.pipeline.fast_lab import recombine_band

OUT_OF_GAMUT = [(0, -12, 124), (10, 40, 110), (50, 0, 127), (30, -80, 120), (5, 20, 60), (70, 90, -110)]


def test_lab_to_rgb_matches_skimage_out_of_gamut():
    lab = torch.tensor(OUT_OF_GAMUT, dtype=torch.float64).view(-1, 1, 3)
    with pytest.warns(UserWarning):           # scikit-image warns about the negative Z values it clips
        want = lab2rgb(lab.numpy())
    got = lab_to_rgb(lab.permute(2, 0, 1)).permute(1, 2, 0).numpy()
    np.testing.assert_allclose(got, want, atol=1e-9)


def test_fast_recombination_follows_the_reference_out_of_gamut():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
    ab = torch.tensor(rng.uniform(-127, 127, (2, 40, 40)), dtype=torch.float32)
    L = torch.from_numpy(rgb2lab(rgb / 255.0)[..., 0]).float()
    want = lab_to_rgb(torch.cat([L[None], ab]).double()).permute(1, 2, 0).numpy() * 255
    got = recombine_band(rgb, ab).astype(np.float64)
    assert np.abs(got - want).max() <= 1.0 + 1e-6          # rounding only


def test_srgb_bins_are_the_cells_that_8bit_colours_reach():
    cells = {tuple(c) for c in bin_centres("srgb").tolist()}
    old = {tuple(c) for c in bin_centres("gamut").tolist()}
    # the five cells the first derivation missed are there, e.g. the cell of RGB(253, 0, 140)
    for c in [(-90, 80), (-70, 90), (70, -110), (90, -90), (90, 0)]:
        assert c in cells and c not in old
    lab = rgb2lab(np.array([[[253, 0, 140]]], np.uint8))[0, 0]
    assert (round(lab[1] / 10) * 10, round(lab[2] / 10) * 10) == (90, 0)
    # every colour of a random sample of the cube falls in a listed cell (scikit-image's conversion)
    rgb = np.random.default_rng(1).integers(0, 256, (1, 20000, 3), dtype=np.uint8)
    ab = rgb2lab(rgb)[0, :, 1:]
    assert {(int(np.floor(a / 10 + .5)) * 10, int(np.floor(b / 10 + .5)) * 10) for a, b in ab} <= cells
    # the whole difference from the first release's set
    assert cells - old == {(-90, 80), (-70, 90), (70, -110), (90, -90), (90, 0)} and old - cells == {(20, -80)}
