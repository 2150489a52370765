"""16-bit grey scans are scaled to 8 bits exactly as before (round(v * 255 / top)) without float64 copies of the
whole image: a 16-bit PNG of 6300x6300 used to peak the server at 1.8 GB in this step alone."""
from __future__ import annotations

import io
import tracemalloc

import numpy as np
import pytest
from PIL import Image

from tinct.files.read import open_image, to_rgb


def reference(a: np.ndarray) -> np.ndarray:
    """The previous float64 formula."""
    a = a.astype(np.float64)
    top = 65535.0 if a.max() > 255 else 255.0
    return (a / top * 255).round().clip(0, 255).astype(np.uint8)


@pytest.mark.parametrize("mode,values", [("I;16", (0, 65535)), ("I;16", (0, 200)), ("I", (-500, 70000)),
                                         ("I", (0, 255))])
def test_grey_to_8bit_matches_the_float_formula(mode, values):
    rng = np.random.default_rng(0)
    a = rng.integers(*values, (37, 53), endpoint=True)
    a.flat[:3] = [values[0], values[1], (values[0] + values[1]) // 2]
    img = Image.fromarray(a.astype(np.uint16 if mode == "I;16" else np.int32))
    assert img.mode == mode
    got = np.asarray(to_rgb(img))
    assert got.shape == (37, 53, 3) and (got[..., 0] == got[..., 2]).all()
    np.testing.assert_array_equal(got[..., 0], reference(a))


def test_a_big_16_bit_png_costs_little_more_than_its_own_size():
    h, w = 1500, 2000                                 # 3 MP: 6 MB of 16-bit pixels, 9 MB of RGB out
    a = np.tile(np.linspace(0, 65535, w).astype(np.uint16), (h, 1))
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "PNG")
    img = Image.open(io.BytesIO(buf.getvalue()))
    img.load()
    tracemalloc.start()
    try:
        out = to_rgb(img)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert out.size == (w, h) and out.mode == "RGB"
    # float64 copies would be 24 MB each (three at once before); now: the uint16 copy, 256K-pixel int64 bands and
    # the 8-bit result
    assert peak < 30e6, f"peak {peak / 1e6:.0f} MB"
    assert np.asarray(open_image(io.BytesIO(buf.getvalue())))[0, -1, 0] == 255
