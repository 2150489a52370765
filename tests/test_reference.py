"""Reference colours (issue 27): the ab histograms, the analysis and its cache, the logit re-weighting, and the
Python API (``colorize``/``colorize_many``/``suggest``/``tinct.video`` with ``reference=``/``palette=``)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from tinct.color import bin_centres, rgb_from_u8, rgb_to_lab
from tinct.color.ab_histogram import ab_histogram, band_centres, band_weights
from tinct.pipeline import reference as R


def grey_scene(w: int = 128, h: int = 96) -> np.ndarray:
    """A grey photo with structure: a bright top half (sky) over a dark textured bottom half (ground)."""
    rng = np.random.default_rng(0)
    y = np.linspace(0, 1, h)[:, None]
    base = np.where(y < 0.5, 200 - 40 * y, 70 + 20 * y) + rng.normal(0, 6, (h, w))
    return np.repeat(base.clip(0, 255).astype(np.uint8)[:, :, None], 3, 2)


def solid(rgb, w: int = 64, h: int = 48, noise: float = 4.0) -> np.ndarray:
    rng = np.random.default_rng(1)
    return (np.array(rgb, float) + rng.normal(0, noise, (h, w, 3))).clip(0, 255).astype(np.uint8)


def mean_ab(rgb: np.ndarray, rows=slice(None)) -> np.ndarray:
    lab = rgb_to_lab(rgb_from_u8(np.ascontiguousarray(rgb[rows])))
    return lab[1:].mean((1, 2)).numpy()


# --- colour maths -------------------------------------------------------------------------------------------
def test_band_weights_are_tents_that_sum_to_one():
    c = band_centres(5)
    assert c.tolist() == [10, 30, 50, 70, 90]
    w = band_weights(torch.tensor([0.0, 10.0, 20.0, 85.0, 100.0]), c)
    assert torch.allclose(w.sum(0), torch.ones(5))
    assert w[:, 0].tolist() == [1, 0, 0, 0, 0] and w[:, 1].tolist() == [1, 0, 0, 0, 0]
    assert torch.allclose(w[:, 2], torch.tensor([0.5, 0.5, 0, 0, 0]))
    assert torch.allclose(w[:, 3], torch.tensor([0, 0, 0, 0.25, 0.75]))


def test_ab_histogram_puts_the_mass_near_the_colour_and_in_its_band():
    centres = bin_centres("gamut")
    lab = torch.tensor([[30.0] * 10, [40.0] * 10, [-20.0] * 10])       # L 30, ab (40, -20)
    h = ab_histogram(lab, centres, band_centres(5))
    assert h.shape == (5, len(centres))
    assert torch.isclose(h.sum(), torch.tensor(10.0, dtype=h.dtype))
    assert h[1].sum() == pytest.approx(10.0)                                # all in the L 30 band
    top = centres[h[1].argmax()]
    assert top.tolist() == [40.0, -20.0]


# --- analysis, palettes, errors ----------------------------------------------------------------------------
def test_a_grey_reference_has_no_colour(colorizer):
    with pytest.raises(R.ReferenceError, match="^reference has no colour$"):
        colorizer.colorize(grey_scene(), reference=grey_scene())
    with pytest.raises(R.ReferenceError, match="no colour"):   # nearly grey: a faint tint is still no colour
        colorizer.colorize(grey_scene(), reference=solid((120, 121, 119), noise=1))


@pytest.mark.parametrize("bad", [["#12345"], ["red"], [(256, 0, 0)], [("#ff0000", 0)], [("#ff0000", "x")], []])
def test_invalid_palettes_are_refused(bad):
    with pytest.raises(R.ReferenceError):
        R.parse_palette(bad)


def test_palette_forms():
    assert R.parse_palette(["#FF0000", (0, 0, 255), ("00ff00", 2), {"color": "#010203", "weight": 0.5}]) == [
        ((255, 0, 0), 1.0), ((0, 0, 255), 1.0), ((0, 255, 0), 2.0), ((1, 2, 3), 0.5)]


def test_unreadable_reference_names_the_file(colorizer, tmp_path):
    bad = tmp_path / "ref.jpg"
    bad.write_bytes(b"not an image")
    with pytest.raises(R.ReferenceError, match="^reference .*ref.jpg: "):
        colorizer.colorize(grey_scene(), reference=bad)


def test_a_reference_is_analysed_once_and_cached(colorizer, monkeypatch):
    calls = []
    real = R.analyse_rgb
    monkeypatch.setattr(R, "analyse_rgb", lambda *a, **k: calls.append(1) or real(*a, **k))
    monkeypatch.setattr(R, "_cache", type(R._cache)())
    ref = solid((30, 90, 200))
    photos = [grey_scene(64 + 8 * i, 48) for i in range(3)]
    colorizer.colorize_many(photos, reference=ref)
    colorizer.colorize(photos[0], reference=ref.copy())           # same content, another array
    colorizer.colorize(photos[0], reference=Image.fromarray(ref))
    assert len(calls) == 1


# --- the re-weighting steers the colours -------------------------------------------------------------------
def test_strength_zero_is_automatic_and_a_reference_steers_towards_its_colours(colorizer):
    photo = grey_scene()
    auto = colorizer.colorize(photo)
    off = colorizer.colorize(photo, reference=solid((30, 90, 200)), reference_strength=0)
    assert np.array_equal(auto, off)
    blue = colorizer.colorize(photo, reference=solid((30, 90, 200)))
    red = colorizer.colorize(photo, reference=solid((200, 40, 30)))
    a0, b0 = mean_ab(auto)
    assert mean_ab(blue)[1] < b0 - 5           # bluer (b* down)
    assert mean_ab(red)[0] > a0 + 5            # redder (a* up)
    strong = colorizer.colorize(photo, reference=solid((30, 90, 200)), reference_strength=2)
    assert mean_ab(strong)[1] < mean_ab(blue)[1]  # the strength scales it
    # the lightness stays the photo's own
    L = rgb_to_lab(rgb_from_u8(photo))[0]
    assert (rgb_to_lab(rgb_from_u8(blue))[0] - L).abs().mean() < 1.5


def test_lightness_bands_colour_dark_and_bright_parts_differently(colorizer, monkeypatch):
    """A reference with a blue bright half and a brown dark half: the photo's bright sky turns bluer than its
    dark ground, and the ground browner (a*, b* up) than the sky; a one-band (global) prior cannot tell them.
    (The histogram step alone: local correspondence off.)"""
    from tinct.pipeline import reference_local
    monkeypatch.setattr(reference_local, "LOCAL", False)
    ref = np.concatenate([solid((120, 170, 235), 64, 24), solid((95, 60, 25), 64, 24)])
    photo = grey_scene()
    out = colorizer.colorize(photo, reference=ref, reference_strength=1)
    sky, ground = mean_ab(out, np.s_[:40]), mean_ab(out, np.s_[56:])
    assert sky[1] < ground[1] - 10 and ground[0] > sky[0]
    one = R.analyse_reference(ref, colorizer.centres.cpu(), bands=1)
    flat = colorizer.colorize(photo, reference=one, reference_strength=1)
    f_sky, f_ground = mean_ab(flat, np.s_[:40]), mean_ab(flat, np.s_[56:])
    assert (ground[1] - sky[1]) > (f_ground[1] - f_sky[1]) + 5


def test_palette_steers_and_weights_count(colorizer):
    photo = grey_scene()
    auto = mean_ab(colorizer.colorize(photo))
    green = mean_ab(colorizer.colorize(photo, palette=["#2e8b3a"]))
    assert green[0] < auto[0] - 5                                   # greener (a* down)
    mostly_blue = mean_ab(colorizer.colorize(photo, palette=[("#2e8b3a", 1), ("#2050d0", 9)]))
    assert mostly_blue[1] < green[1] - 5


def test_colorize_many_and_a_larger_reference_match_colorize(colorizer):
    photos = [grey_scene(), grey_scene(96, 64)]
    big = np.asarray(Image.fromarray(solid((200, 120, 40))).resize((640, 480)))   # larger than the photos
    many = colorizer.colorize_many(photos, reference=big)
    for p, m in zip(photos, many):
        assert np.abs(colorizer.colorize(p, reference=big).astype(int) - m).max() <= 1


def test_suggest_follows_the_reference(colorizer):
    photo = grey_scene()
    plain = colorizer.suggest(photo, 64, 20)
    blue = colorizer.suggest(photo, 64, 20, reference=solid((30, 90, 200)), reference_strength=2)
    assert blue[0]["ab"][1] < plain[0]["ab"][1]


def test_point_hints_win_over_the_reference(colorizer):
    photo = grey_scene()
    hint = [(64, 70, (200, 40, 30), 12)]
    out = colorizer.colorize(photo, hints=hint, reference=solid((30, 90, 200)))
    a, b = mean_ab(out[62:78, 56:72].copy())
    assert a > 15 and a > abs(b)            # red where the hint is, despite the blue reference


def test_video_frames_take_a_reference(colorizer):
    stabilize = pytest.importorskip("tinct.video.stabilize")
    frames = [grey_scene() for _ in range(3)]
    plain = list(stabilize.colorize_frames(colorizer, iter(frames), lookahead=0))
    blue = list(stabilize.colorize_frames(colorizer, iter(frames), lookahead=0, reference=solid((30, 90, 200))))
    assert all(mean_ab(b)[1] < mean_ab(p)[1] - 5 for p, b in zip(plain, blue))


# --- command line ------------------------------------------------------------------------------------------
def _save(path, arr):
    Image.fromarray(arr).save(path)
    return path


def test_cli_reference_colours_photos_and_folders(tinct_cli, tmp_path):
    src = tmp_path / "album"
    src.mkdir()
    for i in range(3):
        _save(src / f"p{i}.png", grey_scene(96 + 8 * i, 64))
    ref = _save(tmp_path / "ref.png", solid((30, 90, 200), 300, 200))
    r = tinct_cli("colorize", src, "-o", tmp_path / "out", "--reference", ref, "-q")
    assert r.rc == 0, r.err
    plain = tinct_cli("colorize", src, "-o", tmp_path / "plain", "--reference-strength", "0", "-q")
    assert plain.rc == 0, plain.err
    for i in range(3):
        got = np.asarray(Image.open(tmp_path / "out" / f"p{i}.png").convert("RGB"))
        auto = np.asarray(Image.open(tmp_path / "plain" / f"p{i}.png").convert("RGB"))
        assert mean_ab(got)[1] < mean_ab(auto)[1] - 5
    r = tinct_cli("colorize", src / "p0.png", "-o", tmp_path / "pal.png", "--palette", "#2e8b3a,#2050d0:0.1", "-q")
    assert r.rc == 0, r.err
    assert mean_ab(np.asarray(Image.open(tmp_path / "pal.png").convert("RGB")))[0] < mean_ab(auto)[0] - 5


@pytest.mark.parametrize("args,message", [
    (["--reference", "GREY"], "grey.png: reference has no colour"),
    (["--reference", "BAD"], "reference {tmp}/bad.jpg: not an image file"),
    (["--reference", "MISSING"], "missing.png"),
    (["--palette", "#ff0000,#12345"], "invalid palette colour '#12345'"),
    (["--palette", "#ff0000:-1"], "palette weight"),
    (["--reference-strength", "-1"], "--reference-strength"),
])
def test_cli_bad_references_exit_2_and_write_nothing(tinct_cli, tmp_path, args, message):
    photo = _save(tmp_path / "in.png", grey_scene())
    _save(tmp_path / "grey.png", grey_scene())
    (tmp_path / "bad.jpg").write_bytes(b"not an image")
    names = {"GREY": tmp_path / "grey.png", "BAD": tmp_path / "bad.jpg", "MISSING": tmp_path / "missing.png"}
    r = tinct_cli("colorize", photo, "-o", tmp_path / "out.png", *[names.get(a, a) for a in args])
    assert r.rc == 2
    assert message.format(tmp=tmp_path) in r.err
    assert len([ln for ln in r.err.splitlines() if ln.startswith("tinct: ")]) <= 1
    assert not (tmp_path / "out.png").exists()


def test_colorize_files_takes_a_reference(colorizer, tmp_path):
    from tinct.pipeline.batch import colorize_files
    src = _save(tmp_path / "in.png", grey_scene())
    res = colorize_files(colorizer, [(src, tmp_path / "a.png"), (src, tmp_path / "b.png")], reference_strength=0)
    res += colorize_files(colorizer, [(src, tmp_path / "c.png")], reference=solid((30, 90, 200)))
    assert all(r.ok for r in res)
    a, c = (np.asarray(Image.open(tmp_path / n).convert("RGB")) for n in ("a.png", "c.png"))
    assert mean_ab(c)[1] < mean_ab(a)[1] - 5


def test_a_ray_worker_colours_with_the_runs_reference(colorizer, tmp_path):
    """--ray hands the reference to its workers (files.options -> cluster.worker), as plain colorize does."""
    import copy

    from tinct.cli.reference_args import reference_values
    from tinct.cluster.worker import ColorizeWorker, worker_opts
    from tinct.files.options import ColorizeOptions
    src = _save(tmp_path / "in.png", grey_scene())
    ref = _save(tmp_path / "ref.png", solid((30, 90, 200), 300, 200))
    outs = {}
    for name, ref_args in (("auto", {}), ("ref", {"reference": str(ref)})):
        w = ColorizeWorker.__new__(ColorizeWorker)
        opts = ColorizeOptions(reference_options=reference_values(type("A", (), ref_args)()))
        w.opts = worker_opts(opts)
        w.colorizer, w.marker = copy.copy(colorizer), None
        status, why = w._one(str(src), str(tmp_path / f"out_{name}.png"), "PNG")
        assert status == "ok", why
        outs[name] = np.asarray(Image.open(tmp_path / f"out_{name}.png").convert("RGB"))
    assert mean_ab(outs["ref"])[1] < mean_ab(outs["auto"])[1] - 5
