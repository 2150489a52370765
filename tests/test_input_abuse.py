"""Abusive inputs: every bad file gives one line on stderr naming it and the cause, exit 1, no traceback, no
partial output, and the rest of the batch is processed; awkward but valid files are colorized correctly."""
from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from helpers import colourful_image
from tinct.color import rgb_to_lab
from tinct.files.read import ImageError, open_image


# --- makers -----------------------------------------------------------------------------------------------
def grey(w, h, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(40, 220, (h, w), dtype=np.uint8)


def jpeg_bytes(w=64, h=48) -> bytes:
    b = io.BytesIO()
    Image.fromarray(grey(w, h)).save(b, "JPEG", quality=90)
    return b.getvalue()


def png_bytes(w=64, h=48) -> bytes:
    b = io.BytesIO()
    Image.fromarray(grey(w, h)).save(b, "PNG")
    return b.getvalue()


def png_bomb(w=50000, h=50000) -> bytes:
    """A tiny, well-formed PNG header declaring a huge grey image (valid CRCs; the data is short)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * (w + 1) * 4, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def lab(img) -> np.ndarray:
    a = np.asarray(img.convert("RGB") if isinstance(img, Image.Image) else img)
    t = torch.from_numpy(np.array(a)).permute(2, 0, 1).float() / 255
    return rgb_to_lab(t).permute(1, 2, 0).numpy()


BAD = {  # name -> (bytes maker, words expected in the cause)
    "zero.jpg": (lambda: b"", "empty"),
    "truncated.jpg": (lambda: jpeg_bytes()[:300], "truncated"),
    "truncated.png": (lambda: png_bytes()[: len(png_bytes()) // 2], "truncated"),
    "random.jpg": (lambda: np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes(), "not an image"),
    "notes.png": (lambda: b"Just some text, pretending to be a picture.\n" * 20, "not an image"),
    "page.png": (lambda: b"<!DOCTYPE html><html><body><img src='x.png'></body></html>", "not an image"),
    "bomb.png": (png_bomb, "over the limit"),
}


def run_batch(tinct_cli, tmp_path, name, data: bytes | None = None, maker=None, extra=()):
    """A folder with good.png and one case file -> (result, input folder, output folder, case path)."""
    src = tmp_path / "in"
    src.mkdir(exist_ok=True)
    Image.fromarray(grey(40, 30)).save(src / "good.png")
    case = src / name
    if data is not None:
        case.write_bytes(data)
    if maker is not None:
        maker(case)
    out = tmp_path / "out"
    return tinct_cli("colorize", src, "-o", out, *extra), src, out, case


def assert_one_error(res, case: Path, words: str):
    assert res.rc == 1
    assert "Traceback" not in res.err
    lines = res.error_lines()
    assert len(lines) == 1, res.err
    assert lines[0].startswith(f"tinct: {case}: "), lines[0]
    assert words in lines[0].lower(), lines[0]


def assert_no_debris(out: Path, case: Path):
    names = sorted(p.name for p in out.iterdir()) if out.exists() else []
    assert names == ["good.png"], names  # the rest of the batch ran; nothing for the bad file, no temp files


@pytest.mark.parametrize("name", list(BAD))
def test_bad_file_in_batch(tinct_cli, tmp_path, name):
    make, words = BAD[name]
    res, src, out, case = run_batch(tinct_cli, tmp_path, name, make())
    assert_one_error(res, case, words)
    assert_no_debris(out, case)


def test_all_bad_files_in_one_batch(tinct_cli, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for name, (make, _) in BAD.items():
        (src / name).write_bytes(make())
    for i in range(3):
        Image.fromarray(grey(30 + i, 20, seed=i)).save(src / f"good{i}.png")
    res = tinct_cli("colorize", src, "-o", tmp_path / "out")
    assert res.rc == 1 and "Traceback" not in res.err
    named = sorted(ln.split(": ")[1] for ln in res.error_lines())
    assert named == sorted(str(src / n) for n in BAD)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["good0.png", "good1.png", "good2.png"]


def test_bomb_refused_by_the_library_too():
    with pytest.raises(ImageError):
        open_image(io.BytesIO(png_bomb()))


def test_over_max_pixels(tinct_cli, tmp_path):
    res, src, out, case = run_batch(tinct_cli, tmp_path, "big.png", png_bytes(100, 100), extra=("--max-pixels", "5000"))
    assert_one_error(res, case, "over the limit of 5000 pixels")
    assert_no_debris(out, case)


def test_unreadable_file(tinct_cli, tmp_path):
    res_path = tmp_path / "in" / "locked.png"
    res_path.parent.mkdir()
    res_path.write_bytes(png_bytes())
    res_path.chmod(0)
    try:
        if os.access(res_path, os.R_OK):
            pytest.skip("running as a user (root) who can read a chmod 000 file")
        res, src, out, case = run_batch(tinct_cli, tmp_path, "locked.png")
        assert_one_error(res, case, "permission denied")
        assert_no_debris(out, case)
    finally:
        res_path.chmod(0o644)


def test_output_folder_cannot_be_created(tinct_cli, tmp_path):
    (tmp_path / "in").mkdir()
    for i in range(2):
        Image.fromarray(grey(20, 20)).save(tmp_path / "in" / f"g{i}.png")
    (tmp_path / "plain-file").write_text("not a folder")
    res = tinct_cli("colorize", tmp_path / "in", "-o", tmp_path / "plain-file" / "out")
    assert res.rc == 1 and "Traceback" not in res.err
    lines = res.error_lines()
    assert [ln.split(": ")[1] for ln in lines] == [str(tmp_path / "in" / "g0.png"), str(tmp_path / "in" / "g1.png")]
    assert all("cannot create folder" in ln for ln in lines)
    assert (tmp_path / "plain-file").read_text() == "not a folder"


def test_output_name_exists(tinct_cli, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "taken.png").write_bytes(b"keep me")
    res, src, out, case = run_batch(tinct_cli, tmp_path, "taken.png", png_bytes())
    assert_one_error(res, case, "already exists")
    assert (out / "taken.png").read_bytes() == b"keep me"
    assert sorted(p.name for p in out.iterdir()) == ["good.png", "taken.png"]


# --- awkward but valid inputs ------------------------------------------------------------------------------
def make_cmyk(p):
    Image.fromarray(grey(50, 40)).convert("CMYK").save(p, "JPEG")


def make_grey16(p):
    ramp = np.tile(np.linspace(0, 65535, 64).astype(np.uint16), (16, 1))
    Image.fromarray(ramp).save(p)  # mode I;16 (Pillow may read it back as I;16 or I)


def make_palette_transparent(p):
    img = Image.fromarray(grey(30, 20)).convert("P")
    img.info["transparency"] = int(np.asarray(img)[0, 0])
    img.save(p, transparency=int(np.asarray(img)[0, 0]))


def make_la(p):
    Image.fromarray(np.dstack([grey(30, 20), np.tile(np.arange(30, dtype=np.uint8) * 8, (20, 1))]), "LA").save(p)


def make_rgba(p):
    a = np.dstack([np.repeat(grey(30, 20)[..., None], 3, 2), np.tile(np.arange(30, dtype=np.uint8) * 8, (20, 1))])
    Image.fromarray(a, "RGBA").save(p)


def make_exif_rotated(p):
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(grey(40, 20)).save(p, exif=exif)


def make_animated_gif(p):
    frames = [Image.fromarray(np.full((20, 30), v, np.uint8)) for v in (50, 200, 120)]
    frames[0].save(p, save_all=True, append_images=frames[1:], duration=100, loop=0)


def make_multipage_tiff(p):
    pages = [Image.fromarray(np.full((20, 30), v, np.uint8)) for v in (60, 210)]
    pages[0].save(p, save_all=True, append_images=pages[1:])


def make_colour(p):
    Image.fromarray(colourful_image(np.random.default_rng(5), 48, 36)).save(p, quality=95)


def alpha_of(p):
    return np.asarray(Image.open(p).convert("RGBA"))[..., 3]


def check_alpha(case, out):
    with Image.open(out) as im:
        assert im.mode == "RGBA"
        np.testing.assert_array_equal(np.asarray(im)[..., 3], alpha_of(case))


def check_first_frame(value):
    def check(case, out):
        want = lab(np.full((1, 1, 3), value, np.uint8))[0, 0, 0]
        assert abs(lab(Image.open(out))[..., 0].mean() - want) < 2
    return check


def check_lightness_kept(case, out):
    assert np.abs(lab(Image.open(out))[..., 0] - lab(Image.open(case))[..., 0]).mean() < 1.5


def check_ramp(case, out):
    L = lab(Image.open(out))[..., 0].mean(0)
    assert L[0] < 5 and L[-1] > 95 and np.all(np.diff(L) > -1)


GOOD = {  # name -> (maker, output name, size, extra check)
    "tiny.png": (lambda p: Image.fromarray(np.full((1, 1), 99, np.uint8)).save(p), "tiny.png", (1, 1), None),
    "strip.png": (lambda p: Image.fromarray(grey(1, 20000)).save(p), "strip.png", (1, 20000), None),
    "cmyk.jpg": (make_cmyk, "cmyk.jpg", (50, 40), None),
    "grey16.png": (make_grey16, "grey16.png", (64, 16), check_ramp),
    "palette.png": (make_palette_transparent, "palette.png", (30, 20), check_alpha),
    "la.png": (make_la, "la.png", (30, 20), check_alpha),
    "rgba.png": (make_rgba, "rgba.png", (30, 20), check_alpha),
    "rotated.jpg": (make_exif_rotated, "rotated.jpg", (20, 40), None),
    "animated.gif": (make_animated_gif, "animated.png", (30, 20), check_first_frame(50)),
    "pages.tif": (make_multipage_tiff, "pages.tif", (30, 20), check_first_frame(60)),
    "colour.jpg": (make_colour, "colour.jpg", (48, 36), check_lightness_kept),
    "mon été – ünïcødé 2.jpg": (lambda p: Image.fromarray(grey(24, 24)).save(p), "mon été – ünïcødé 2.jpg",
                                (24, 24), None),
}


@pytest.mark.parametrize("name", list(GOOD))
def test_awkward_valid_file(tinct_cli, tmp_path, name):
    maker, out_name, size, check = GOOD[name]
    res, src, out, case = run_batch(tinct_cli, tmp_path, name, maker=maker)
    assert res.rc == 0, res.err
    assert res.error_lines() == [] and "Traceback" not in res.err
    assert sorted(p.name for p in out.iterdir()) == sorted(["good.png", out_name])
    with Image.open(out / out_name) as im:
        assert im.size == size
        assert im.mode in ("RGB", "RGBA")
        assert 0x0112 not in im.getexif()
    if check is not None:
        check(case, out / out_name)
