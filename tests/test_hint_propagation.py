"""Hints hold at their point and spread over the object they are on, stopping at its edges (issue 13): on
constructed scenes with a photo's texture and on a real photo.

The object is known by construction: a scene of flat lightness regions (a disc on a background) carrying
the real texture of a photo from examples/ (its high-passed grey values, about +-6 levels), so the test knows
exactly which pixels belong to the object the hint is placed on.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageFilter

from tinct.color import rgb_to_lab
from tinct.pipeline.hint_propagation import apply_hints

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "loc3d_00033.jpg"


def _ab(rgb: np.ndarray) -> np.ndarray:
    t = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).unsqueeze(0).float() / 255
    return rgb_to_lab(t)[0, 1:].permute(1, 2, 0).numpy()


def textured_scene(size: int, inside: int, outside: int) -> tuple[np.ndarray, np.ndarray]:
    """Grey uint8 (size, size, 3) with a disc (the object, grey level ``inside``) on a background of
    ``outside``, both carrying a photo's texture; -> (image, bool object mask)."""
    photo = Image.open(EXAMPLE).convert("L").resize((size, size), Image.BILINEAR)
    p = np.asarray(photo, np.float32)
    texture = p - np.asarray(photo.filter(ImageFilter.GaussianBlur(4)), np.float32)
    texture = np.clip(texture, -6, 6)
    yy, xx = np.mgrid[:size, :size]
    mask = (xx - size / 2) ** 2 + (yy - size / 2) ** 2 < (size * 0.28) ** 2
    grey = np.clip(np.where(mask, inside, outside) + texture, 0, 255).astype(np.uint8)
    return np.repeat(grey[:, :, None], 3, 2), mask


@pytest.mark.parametrize("colour", [(200, 40, 40), (40, 90, 200)])
def test_hint_holds_and_covers_the_object(colorizer, colour):
    # the object's grey level matches the hint colour's own lightness, so the colour is reachable there
    grey_level = int(round(float(np.dot(colour, [0.299, 0.587, 0.114]))))
    img, mask = textured_scene(160, grey_level, 200)
    x, y = 80, 80
    out = colorizer.colorize(img, hints=[(x, y, colour, 3)])
    want = _ab(np.array([[colour]], np.uint8))[0, 0]
    ab = _ab(out)
    assert np.linalg.norm(ab[y, x] - want) <= 10, (ab[y, x], want)
    err = np.linalg.norm(ab - want, axis=-1)
    covered = (err[mask] <= 20).mean()
    assert covered >= 0.7, f"the hint covers only {covered:.0%} of its object"
    # and it stops at the object's edge: most of the background keeps a colour far from the hint's
    far = ~mask & (np.hypot(*np.mgrid[:160, :160] - 80) > 160 * 0.34)
    assert (err[far] <= 20).mean() < 0.2
    # without the hint the object is not that colour (the hint did the work)
    plain = _ab(colorizer.colorize(img))
    assert (np.linalg.norm(plain - want, axis=-1)[mask] <= 20).mean() < 0.3


def test_propagation_stops_at_an_edge_in_lightness():
    L = torch.full((1, 1, 20, 40), 30.0)
    L[..., 20:] = 70.0  # a step edge between two flat halves
    disc = torch.zeros(1, 20, 40, dtype=torch.bool)
    disc[0, 10, 8] = True
    want = torch.tensor([[50.0, -30.0]])
    out = apply_hints(torch.zeros(1, 2, 5, 10), L, disc, want, torch.tensor([4.0]))[0]
    assert torch.allclose(out[:, 10, 8], want[0])
    left, right = out[:, :, :20], out[:, :, 20:]
    assert left[0].mean() > 30 and right.abs().max() < 5  # fills its own half, not the other


def test_a_hint_moves_its_region_by_its_correction_and_keeps_the_network_variation():
    L = torch.full((1, 1, 24, 48), 60.0)                     # one flat region
    net = torch.zeros(1, 2, 24, 48)
    net[0, 1] = torch.linspace(-30, 0, 48).view(1, 48)       # the network's own gradient in b (a blue-to-neutral sky)
    disc = torch.zeros(1, 24, 48, dtype=torch.bool)
    disc[0, 12, 10] = True
    hint = torch.tensor([[5.0, -10.0]])                      # the truth at the hint: the network was off there
    out = apply_hints(net, L, disc, hint, torch.tensor([1.0]))[0]
    assert torch.allclose(out[:, 12, 10], hint[0])           # holds at its point
    correction = hint[0] - net[0, :, 12, 10]
    near = (out - net[0])[:, 9:16, 5:16]                     # well inside the hint's reach (cover > 0.95)
    assert torch.allclose(near, correction.view(2, 1, 1).expand_as(near), atol=1.0)   # all moved alike
    b = out[1, 12]
    assert b[15] - b[5] > 5                                  # the network's gradient kept, not flattened to the hint


def test_no_hints_is_the_automatic_output(colorizer):
    img, _ = textured_scene(64, 100, 180)
    a = colorizer.colorize(img)
    b = colorizer.colorize(img, hints=[])
    assert np.array_equal(a, b)


def test_one_hint_format_everywhere():
    from tinct.pipeline.hints import Hint, as_hints
    same = as_hints([(3, 4, "#ff8000", 2), (3, 4, (255, 128, 0), 2), {"x": 3, "y": 4, "color": "#FF8000", "radius": 2}])
    assert same == [Hint(3.0, 4.0, (255, 128, 0), 2.0)] * 3
    for bad in [(1, 2, "red"), (1, "a", (1, 2, 3)), {"x": 1, "y": 2}, (1, 2, (1, 2, 300)), (1, 2, (1, 2)),
                {"x": 1, "y": 2, "color": "#000000", "size": 3}, (1, 2, "#000000", -1), (float("nan"), 2, "#000000")]:
        with pytest.raises(ValueError):
            as_hints([bad])


def test_cli_hint_outside_the_image_is_one_line_and_writes_nothing(tinct_cli, tmp_path):
    Image.fromarray(np.full((30, 40), 120, np.uint8)).save(tmp_path / "a.png")
    res = tinct_cli("colorize", tmp_path / "a.png", "--hint", "500,10,#ff0000", "--device", "cpu", "--quiet")
    assert res.rc == 2   # a usage error (issue 13), not a failed input (1)
    assert res.error_lines() == [f"tinct: {tmp_path / 'a.png'}: hint at (500, 10) is outside the 40x30 image"]
    assert not (tmp_path / "a_color.png").exists()


def test_hint_on_a_real_photo_holds_and_covers_the_object(colorizer):
    """A real photo (a white golf ball on green, from ../shared/data/imagenette), greyed, with one yellow hint
    on the ball. The test knows the object from the colour original: the largest connected region of bright,
    near-neutral pixels (the ball's lit side), found before greying."""
    from scipy import ndimage
    from conftest import DATA
    rgb = np.asarray(Image.open(DATA / "imagenette" / "imagenette_01791.jpg").convert("RGB"))
    lab = rgb_to_lab(torch.from_numpy(rgb.copy()).permute(2, 0, 1)[None].float() / 255)[0].permute(1, 2, 0).numpy()
    bright_neutral = ndimage.binary_opening((lab[..., 0] > 60) & (np.hypot(lab[..., 1], lab[..., 2]) < 18), iterations=2)
    regions, n = ndimage.label(bright_neutral)
    ball = regions == 1 + np.argmax(ndimage.sum(bright_neutral, regions, range(1, n + 1)))
    assert 0.015 < ball.mean() < 0.1                        # the ball, not the background
    ys, xs = np.nonzero(ball)
    x, y = int(xs.mean()), int(ys.mean())
    grey = np.repeat(np.asarray(Image.fromarray(rgb).convert("L"))[..., None], 3, 2)
    colour = (230, 200, 40)                                 # yellow: reachable at the ball's lightness
    want = _ab(np.array([[colour]], np.uint8))[0, 0]
    err = np.linalg.norm(_ab(colorizer.colorize(grey, hints=[(x, y, colour)])) - want, axis=-1)
    assert err[y, x] <= 10, err[y, x]
    assert (err[ball] <= 20).mean() >= 0.7, f"the hint covers only {(err[ball] <= 20).mean():.0%} of the ball"
    away = ~ndimage.binary_dilation(ball, iterations=6)     # the green cloth, a margin away from the ball's edge
    assert (err[away] <= 20).mean() < 0.2
