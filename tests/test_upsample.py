"""Edge-aware upsampling (pipeline/upsample.py): bands are exact, colour stops at edges, the contract, the CLI."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from tinct.pipeline.fast_lab import lightness
from tinct.pipeline.upsample import METHODS, guided_coefficients, low_res_guide, upsample_bands


def _photo(h=45, w=61, seed=0) -> np.ndarray:
    """Colour photo with blocks (sharp edges) and noise, uint8 (h, w, 3)."""
    rng = np.random.default_rng(seed)
    img = np.repeat(np.repeat(rng.integers(0, 256, (5, 7, 3)), 10, 0), 10, 1)[:h, :w]
    return np.clip(img + rng.integers(-20, 21, img.shape), 0, 255).astype(np.uint8)


def _whole(rgb, ab, method, band_pixels):
    bands = list(upsample_bands(rgb, ab, method, band_pixels))
    assert [b[0] for b in bands] == sorted(b[0] for b in bands) and bands[0][0] == 0 and bands[-1][1] == len(rgb)
    assert all(b[1] == n[0] for b, n in zip(bands, bands[1:]))
    return torch.cat([b[2] for b in bands], 1)


@pytest.mark.parametrize("method", ["guided", "bilinear", "joint"])
def test_bands_equal_whole_image(method):
    rgb = _photo()
    ab = torch.randn(1, 2, 12, 16) * 30
    one = _whole(rgb, ab, method, 10 ** 9)
    banded = _whole(rgb, ab, method, 61 * 4)       # 4 rows per band, 12 bands
    assert one.shape == (2, 45, 61)
    torch.testing.assert_close(banded, one, rtol=0, atol=1e-4)


def test_low_res_guide_is_area_mean_of_lightness_and_chunks_are_exact():
    rgb = _photo(48, 64)
    g = low_res_guide(rgb, 12, 16)
    ref = F.avg_pool2d(lightness(rgb).view(1, 1, 48, 64) / 100, 4)[0, 0]
    torch.testing.assert_close(g, ref, rtol=0, atol=1e-5)
    rgb = _photo(45, 61)                            # non-integer factor: chunked == one chunk
    torch.testing.assert_close(low_res_guide(rgb, 11, 15, chunk_pixels=61), low_res_guide(rgb, 11, 15), rtol=0,
                               atol=1e-5)


def test_guided_leaks_far_less_colour_across_a_sharp_edge():
    H, W, x_edge = 64, 256, 130                     # the edge is not on the low-res grid (130 / 4 = 32.5)
    grey = np.full((H, W), 60, np.uint8)
    grey[:, x_edge:] = 200
    rgb = np.dstack([grey] * 3)
    truth = torch.zeros(2, H, W)
    truth[:, :, :x_edge] = torch.tensor([40.0, 20.0]).view(2, 1, 1)
    truth[:, :, x_edge:] = torch.tensor([-30.0, -40.0]).view(2, 1, 1)
    # what a network gives: colour at 1/4 resolution, blurred across the edge
    ab_small = F.avg_pool2d(F.avg_pool2d(truth[None], 4), 3, stride=1, padding=1, count_include_pad=False)
    near = slice(x_edge - 4, x_edge + 4)            # one low-res pixel either side
    out = {m: _whole(rgb, ab_small, m, 1 << 20) for m in ("guided", "bilinear", "joint")}
    err = {m: (o - truth)[:, :, near].abs().mean().item() for m, o in out.items()}
    assert err["bilinear"] > 15                     # the test is meaningful: bilinear does bleed
    assert err["guided"] < 0.5 * err["bilinear"], err
    assert err["joint"] < 0.75 * err["bilinear"], err   # joint only mixes grid values: the edge's own grid point
    # holds blurred colour, so it leaks more than guided (which extrapolates, and so can fringe) but far less than
    # bilinear
    # the colour change happens at the edge: the jump between its two pixel columns, as a share of the truth's
    jump = {m: ((o[:, :, x_edge - 1] - o[:, :, x_edge]).norm(dim=0) / (70 ** 2 + 60 ** 2) ** 0.5).mean().item()
            for m, o in out.items()}
    assert jump["guided"] > 0.6 and jump["joint"] > 0.35 and jump["bilinear"] < 0.25, jump


def test_joint_is_a_local_convex_mix_and_plain_where_the_photo_is_flat():
    """Joint bilateral output lies within the ab of the 4x4 grid points around each pixel (no overshoot, no colour
    from afar); on a flat photo the range weights are all equal, so it is the radius-2 tent filter of ab."""
    rgb = _photo()
    ab = torch.randn(1, 2, 12, 16) * 30
    out = _whole(rgb, ab, "joint", 1 << 20)
    H, W = rgb.shape[:2]
    lo = -F.max_pool2d(-ab, 4, stride=1, padding=2)   # per-window extremes at the grid (4x4, like the taps)
    hi = F.max_pool2d(ab, 4, stride=1, padding=2)
    ys = ((torch.arange(H) + 0.5) * 12 / H - 0.5).floor().long() + 1   # window whose taps are floor-1 .. floor+2
    xs = ((torch.arange(W) + 0.5) * 16 / W - 0.5).floor().long() + 1
    lo_px = lo[0][:, ys.clamp(0, lo.shape[2] - 1)][:, :, xs.clamp(0, lo.shape[3] - 1)]
    hi_px = hi[0][:, ys.clamp(0, hi.shape[2] - 1)][:, :, xs.clamp(0, hi.shape[3] - 1)]
    assert (out >= lo_px - 1e-4).all() and (out <= hi_px + 1e-4).all()
    flat = np.full((48, 64, 3), 128, np.uint8)
    got = _whole(flat, ab, "joint", 1 << 20)
    # the tent filter by hand, at one interior pixel: grid position (y, x) = ((py + .5) / 4 - .5, ...)
    py, px = 21, 30
    gy, gx = (py + 0.5) / 4 - 0.5, (px + 0.5) / 4 - 0.5
    wts = {(j, i): max(0, 1 - abs(gy - j) / 2) * max(0, 1 - abs(gx - i) / 2) for j in range(12) for i in range(16)}
    want = sum(w * ab[0, :, j, i] for (j, i), w in wts.items()) / sum(wts.values())
    torch.testing.assert_close(got[:, py, px], want, rtol=0, atol=1e-4)


def test_contract_shapes_range_and_errors():
    rgb = _photo()
    ab = torch.randn(1, 2, 12, 16) * 30
    for y0, y1, band in upsample_bands(rgb, ab, "guided", 61 * 7):
        assert band.dtype == torch.float32 and band.shape == (2, y1 - y0, 61)
        for c in range(2):
            assert ab[0, c].min() - 1e-5 <= band[c].min() and band[c].max() <= ab[0, c].max() + 1e-5
    grey = np.ascontiguousarray(rgb[..., 0])        # (H, W) grey input works too
    assert _whole(grey, ab, "guided", 1 << 20).shape == (2, 45, 61)
    with pytest.raises(ValueError, match="upsample must be one of"):
        next(upsample_bands(rgb, ab, "nearest"))
    coef = guided_coefficients(torch.rand(12, 16), ab, radius=2, eps=1e-2)
    assert coef.shape == (1, 4, 12, 16)
    flat = guided_coefficients(torch.full((12, 16), 0.5), ab, radius=2, eps=1e-2)
    assert flat[:, :2].abs().max() < 1e-4           # a flat guide has no slope: the output is bilinear ab


def test_colorizer_and_cli_option(colorizer, tinct_cli, tmp_path):
    from tinct.cli.colorize import UPSAMPLE_METHODS
    from tinct.pipeline.colorizer import DEFAULT_UPSAMPLE, Colorizer
    rgb = _photo(90, 120)
    Image.fromarray(rgb).save(tmp_path / "in.png")
    ab = colorizer.predict_ab([rgb], [[]], colorizer.options())[0]
    want = {m: colorizer.recombine(rgb, ab, m) for m in METHODS}
    assert np.abs(want["guided"].astype(int) - want["bilinear"]).max() > 0
    assert np.abs(want["joint"].astype(int) - want["bilinear"]).max() > 0
    assert set(UPSAMPLE_METHODS) == set(METHODS)    # the CLI's light copy of the list
    for m in METHODS:
        res = tinct_cli("colorize", tmp_path / "in.png", "-o", tmp_path / f"{m}.png", "--upsample", m, "--precision", "fp32")
        assert res.rc == 0, res.err
        np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / f"{m}.png")), want[m])
    assert colorizer.upsample == DEFAULT_UPSAMPLE   # the CLI changed only its own copy
    res = tinct_cli("colorize", tmp_path / "in.png", "-o", tmp_path / "x.png", "--upsample", "nearest")
    assert res.rc == 2 and not (tmp_path / "x.png").exists()
    with pytest.raises(ValueError, match="upsample must be one of"):
        Colorizer(colorizer.model, torch.device("cpu"), upsample="nearest")
