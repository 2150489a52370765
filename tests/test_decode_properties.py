"""Properties over the decode boundary (hypothesis): random and damaged bytes open or raise ImageError (one
line), valid images of every mode and format open as RGB(A) of their size, and the colorizer keeps the size."""
from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from PIL import Image

from tinct.files.read import ImageError, open_image




# --- properties over the decode boundary -------------------------------------------------------------------
MAGIC = [b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*",
         b"RIFF\x00\x00\x00\x00WEBP",
         b"P5\n", b"P6\n"]


def check_open(data: bytes):
    try:
        img = open_image(io.BytesIO(data))
    except ImageError as e:
        assert str(e) and "\n" not in str(e)
        return None
    assert isinstance(img, Image.Image) and img.mode in ("RGB", "RGBA")
    return img


@pytest.mark.filterwarnings("ignore::UserWarning")
@settings(max_examples=50, deadline=None)
@given(st.sampled_from(MAGIC), st.binary(max_size=2048))
def test_random_bytes_open_or_image_error(magic, tail):
    check_open(magic + tail)


SOURCES = {"RGBA": 4, "RGB": 3, "L": 1}
MODE_FORMATS = {  # mode -> formats Pillow can write it in (checked at import; unsupported pairs dropped)
    "1": ["PNG", "BMP", "TIFF", "GIF", "PPM", "PCX"],
    "L": ["PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP", "PPM", "TGA", "SGI"],
    "LA": ["PNG", "TIFF", "WEBP", "TGA"], "P": ["PNG", "GIF", "BMP", "TIFF", "TGA", "PCX"], "PA": ["TIFF", "WEBP"],
    "RGB": ["PNG", "JPEG", "BMP", "TIFF", "WEBP", "PPM", "TGA", "QOI"],
    "RGBA": ["PNG", "TIFF", "WEBP", "TGA", "QOI", "BMP"],
    "CMYK": ["JPEG", "TIFF"], "I;16": ["PNG", "TIFF", "PPM"], "I": ["TIFF", "PPM"], "F": ["TIFF"],
    "YCbCr": ["JPEG", "TIFF"], "LAB": ["TIFF"],
}


@st.composite
def encoded_images(draw):
    mode = draw(st.sampled_from(sorted(MODE_FORMATS)))
    fmt = draw(st.sampled_from(MODE_FORMATS[mode]))
    w, h = draw(st.integers(1, 24)), draw(st.integers(1, 24))
    src = "RGBA" if mode in ("RGBA", "PA", "LA") else ("RGB" if mode in ("RGB", "CMYK", "YCbCr", "LAB", "P") else "L")
    seed = draw(st.integers(0, 2**32 - 1))
    a = np.random.default_rng(seed).integers(0, 256, (h, w, SOURCES[src]), dtype=np.uint8)
    img = Image.fromarray(a[..., 0] if src == "L" else a, src).convert(mode)
    buf = io.BytesIO()
    try:
        img.save(buf, fmt)
    except (OSError, ValueError, KeyError):  # a pair this Pillow build cannot write
        assume(False)
    return buf.getvalue(), (w, h), mode, fmt


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(encoded_images())
def test_valid_images_open_as_rgb_of_the_same_size(enc):
    data, size, mode, fmt = enc
    img = open_image(io.BytesIO(data))
    assert img.mode in ("RGB", "RGBA"), (mode, fmt, img.mode)
    assert img.size == size, (mode, fmt)


@pytest.mark.filterwarnings("ignore::UserWarning")
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(encoded_images(), st.data())
def test_damaged_images_open_or_image_error(enc, data):
    raw = bytearray(enc[0])
    how = data.draw(st.sampled_from(["truncate", "overwrite", "insert"]))
    i = data.draw(st.integers(0, len(raw) - 1))
    if how == "truncate":
        raw = raw[:i]
    elif how == "overwrite":
        raw[i:i + 4] = data.draw(st.binary(min_size=1, max_size=4))
    else:
        raw[i:i] = data.draw(st.binary(min_size=1, max_size=16))
    check_open(bytes(raw))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(encoded_images())
def test_colorizer_keeps_the_size_of_random_valid_images(colorizer, enc):
    data, size, mode, fmt = enc
    out = colorizer.colorize(open_image(io.BytesIO(data)), size=64)
    assert out.size == size and out.mode in ("RGB", "RGBA")
