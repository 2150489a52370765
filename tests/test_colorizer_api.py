"""The Colorizer object: sizes, lightness, alpha, EXIF orientation, input/output types, hints, offline loading."""
from __future__ import annotations

import socket

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import DATA
from helpers import colourful_image, hint_follower
from tinct.color import rgb_to_lab
from tinct.pipeline import Colorizer
from tinct.pipeline.colorizer import shipped_model_path


def lab_of(rgb) -> np.ndarray:
    """uint8 (H, W, 3|4) or (H, W) -> float32 CIELAB (H, W, 3)."""
    a = np.asarray(rgb)
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, 2)
    t = torch.from_numpy(np.array(a[:, :, :3])).permute(2, 0, 1).float() / 255
    return rgb_to_lab(t).permute(1, 2, 0).numpy()


def textured_grey(w: int, h: int, seed: int = 0) -> np.ndarray:
    """A grey picture with structure (gradient + blobs + noise), uint8 (h, w)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    g = 40 + 150 * (x / max(w - 1, 1)) * 0.6 + 150 * (y / max(h - 1, 1)) * 0.4
    g += rng.normal(0, 12, (h, w))
    return np.clip(g, 0, 255).astype(np.uint8)


def mean_dl(out, src) -> float:
    return float(np.abs(lab_of(out)[..., 0] - lab_of(src)[..., 0]).mean())


@pytest.mark.parametrize("w,h", [(1, 1), (3, 1000), (1000, 3), (97, 61)])
def test_size_and_lightness_kept(colorizer, w, h):
    src = textured_grey(w, h)
    out = colorizer.colorize(Image.fromarray(src, "L"))
    assert isinstance(out, Image.Image)
    assert out.size == (w, h) and out.mode == "RGB"
    assert mean_dl(np.asarray(out), src) < 1.0


def test_large_photo_size_and_lightness(colorizer):
    w, h = 4000, 3000
    src = textured_grey(w, h, seed=1)
    out = np.asarray(colorizer.colorize(Image.fromarray(src, "L")))
    assert out.shape == (h, w, 3)
    rows = slice(0, h, 37)  # a sample of rows keeps the check cheap
    assert mean_dl(out[rows], src[rows]) < 1.0


def test_colour_input_is_recoloured_from_its_lightness(colorizer):
    src = colourful_image(np.random.default_rng(3), 90, 70)
    out = colorizer.colorize(src)
    assert out.shape == src.shape and out.dtype == np.uint8
    assert mean_dl(out, src) < 1.0


def test_output_is_coloured(colorizer):
    """Not just grey back: some pixel gets chroma (any model that colours at all passes)."""
    out = colorizer.colorize(textured_grey(128, 96))
    chroma = np.hypot(*np.moveaxis(lab_of(out)[..., 1:], -1, 0))
    assert chroma.max() > 2.0


@pytest.mark.parametrize("shape", [(40, 30), (40, 30, 3), (40, 30, 4)])
def test_ndarray_in_ndarray_out(colorizer, shape):
    rng = np.random.default_rng(0)
    src = rng.integers(0, 256, shape, dtype=np.uint8)
    out = colorizer.colorize(src)
    assert isinstance(out, np.ndarray) and out.dtype == np.uint8
    assert out.shape == (40, 30, 4 if len(shape) == 3 and shape[2] == 4 else 3)
    if out.shape[2] == 4:
        np.testing.assert_array_equal(out[..., 3], src[..., 3])


def test_pil_and_path_in_pil_out(colorizer, tmp_path):
    src = Image.fromarray(textured_grey(33, 21), "L")
    assert isinstance(colorizer.colorize(src), Image.Image)
    p = tmp_path / "g.png"
    src.save(p)
    out = colorizer.colorize(p)
    assert isinstance(out, Image.Image) and out.size == (33, 21)
    assert isinstance(colorizer.colorize(str(p)), Image.Image)


def test_bad_inputs_raise_clear_errors(colorizer):
    with pytest.raises(ValueError, match="uint8"):
        colorizer.colorize(np.zeros((4, 4), np.float32))
    with pytest.raises(ValueError):
        colorizer.colorize(np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(TypeError):
        colorizer.colorize(12)
    with pytest.raises(ValueError, match="decode"):
        colorizer.colorize(np.zeros((4, 4), np.uint8), decode="nonsense")


@pytest.mark.parametrize("opts", [dict(decode="mode"), dict(decode="mean"), dict(temperature=1.0), dict(size=64)])
def test_options_keep_size(colorizer, opts):
    src = textured_grey(50, 20)
    out = colorizer.colorize(src, **opts)
    assert out.shape == (20, 50, 3)
    assert mean_dl(out, src) < 1.0


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P"])
def test_alpha_kept(colorizer, mode):
    g = textured_grey(48, 32)
    alpha = np.tile(np.linspace(0, 255, 48).astype(np.uint8), (32, 1))
    if mode == "P":
        img = Image.fromarray(g, "L").convert("P")
        img.info["transparency"] = int(np.asarray(img)[0, 0])
        expected = np.where(np.asarray(img) == img.info["transparency"], 0, 255)
    else:
        img = Image.fromarray(np.dstack([g, alpha]), "LA").convert(mode)
        expected = alpha
    out = colorizer.colorize(img)
    assert out.mode == "RGBA" and out.size == (48, 32)
    np.testing.assert_array_equal(np.asarray(out)[..., 3], expected)


def test_exif_orientation_applied(colorizer, tmp_path):
    """Stored 40x20 with a dark top-left quadrant and EXIF Orientation 6 (rotate 90 clockwise to display):
    the output is 20x40 with the dark quadrant at the top right."""
    stored = np.full((20, 40), 220, np.uint8)
    stored[:10, :20] = 20
    exif = Image.Exif()
    exif[0x0112] = 6
    p = tmp_path / "rot.jpg"
    Image.fromarray(stored, "L").save(p, quality=95, exif=exif)
    out = colorizer.colorize(p)
    assert out.size == (20, 40)
    L = lab_of(np.asarray(out))[..., 0]
    dark = L[:20, 10:].mean()
    for other in (L[:20, :10], L[20:, :10], L[20:, 10:]):
        assert dark < other.mean() - 40


def test_hints_reach_the_network_at_the_right_place():
    """Hint coordinates are (x, y) in input pixels, the colour's chroma is what arrives, the radius is honoured
    (checked on the planes the network receives); a hint outside the image is an error, never ignored."""
    from tinct.pipeline.hints import Hint, render_hints
    w, h = 160, 80
    red_ab = lab_of(np.array([[[255, 0, 0]]], np.uint8))[0, 0, 1:]
    planes = render_hints([Hint(120, 20, (255, 0, 0), 8)], (w, h), (h, w))[0].numpy()
    assert planes[2, 20, 120] == 1 and np.allclose(planes[:2, 20, 120] * 110, red_ab, atol=0.5)   # at the hint
    assert planes[2, 60, 40] == 0 and planes[2, 20, 80] == 0 and planes[2, 20, 129] == 0        # outside radius
    # x and y are not swapped: a hint at (20, 60) marks (x=20, y=60); on a half-size grid it is scaled
    planes2 = render_hints([Hint(20, 60, (0, 0, 255), 6)], (w, h), (h // 2, w // 2))[0].numpy()
    assert planes2[2, 30, 10] == 1 and planes2[2, 10, 60] == 0
    c = hint_follower()
    with pytest.raises(ValueError, match="outside"):
        c.colorize(np.full((h, w, 3), 127, np.uint8), hints=[(500, 500, (255, 0, 0))])


def test_shipped_model_moves_colour_toward_a_hint(colorizer):
    grey = np.full((96, 96, 3), 127, np.uint8)
    red_ab = lab_of(np.array([[[255, 0, 0]]], np.uint8))[0, 0, 1:]
    free = lab_of(colorizer.colorize(grey))[48, 48, 1:]
    hinted = lab_of(colorizer.colorize(grey, hints=[(48, 48, (255, 0, 0), 12)]))[48, 48, 1:]
    before, after = np.linalg.norm(free - red_ab), np.linalg.norm(hinted - red_ab)
    assert after < 0.6 * before, (before, after)


def test_shipped_weights_load_without_network(monkeypatch):
    def no_network(*a, **k):
        raise OSError("network access attempted")
    for name in ("socket", "create_connection", "getaddrinfo"):
        monkeypatch.setattr(socket, name, no_network)
    assert shipped_model_path().is_file()
    c = Colorizer.load(device="cpu")
    out = c.colorize(np.full((20, 30), 100, np.uint8))
    assert out.shape == (20, 30, 3)


def test_shipped_models_by_name(tmp_path):
    """'default' and every shipped name resolve to weights inside the package that load; v1 stays loadable by
    name whatever 'default' becomes; an unknown name is an error that lists the shipped names."""
    from tinct.pipeline.colorizer import DEFAULT_MODEL, SHIPPED_MODELS, resolve_model_path
    assert "v1" in SHIPPED_MODELS and DEFAULT_MODEL in SHIPPED_MODELS
    assert resolve_model_path("default") == resolve_model_path(None) == resolve_model_path(DEFAULT_MODEL)
    assert resolve_model_path("v1").name == "v1.safetensors" and resolve_model_path("v1").is_file()
    v1 = Colorizer.load("v1", device="cpu")
    assert v1.colorize(np.full((20, 30), 100, np.uint8)).shape == (20, 30, 3)
    with pytest.raises(FileNotFoundError, match="'default', 'v1'"):
        resolve_model_path("v9")


def test_v3_ships_by_name_with_its_own_decode():
    """v3 (opt-in, MODEL.md) loads by name, carries the decode chosen for it (T 1, rebalancing strengthened by
    beta = -1) and is a different network from the default: the same photo comes out differently."""
    from tinct.pipeline.colorizer import DEFAULT_MODEL, SHIPPED_MODELS
    assert "v3" in SHIPPED_MODELS and DEFAULT_MODEL == "v2"
    v3, v2 = Colorizer.load("v3", device="cpu"), Colorizer.load("v2", device="cpu")
    assert (v3.options().temperature, v3.options().rebalance_correction) == (1.0, -1.0)
    photo = np.asarray(Image.open(sorted((DATA / "wallpapers").glob("*.jpg"))[0]).convert("L"))
    photo = photo[:192, :256]
    a, b = v3.colorize(photo), v2.colorize(photo)
    assert a.shape == b.shape == (192, 256, 3)
    assert np.abs(a.astype(int) - b.astype(int)).mean() > 1.0
