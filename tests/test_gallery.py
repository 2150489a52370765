"""``tinct gallery``: before/after sheets, one column per model (v1 | v2 comparisons)."""
from __future__ import annotations

import numpy as np
from PIL import Image

from tinct.cli.main import main


def test_two_models_give_two_labelled_columns(tmp_path, capsys):
    photo = tmp_path / "old.png"
    a = np.tile(np.linspace(30, 220, 90, dtype=np.float32), (60, 1)).astype(np.uint8)
    Image.fromarray(a).save(photo)
    colour = tmp_path / "colour.png"
    Image.fromarray(np.stack([a, a[::-1], np.full_like(a, 90)], -1)).save(colour)
    one, two = tmp_path / "one.png", tmp_path / "two.png"
    assert main(["gallery", str(one), "--old", str(photo), "--height", "60"]) == 0
    assert main(["gallery", str(two), "--old", str(photo), "--truth", str(colour), "--height", "60",
                 "--model", "v1", "--model", "default"]) == 0
    s1, s2 = Image.open(one), Image.open(two)
    assert s1.size == (2 * (90 + 4), 64)                 # input | tinct
    assert s2.size == (4 * (90 + 4), 2 * 64)             # input | v1 | default (and grey | v1 | default | truth)
    sheet = np.asarray(s2.convert("RGB")).astype(int)
    col = lambda i: sheet[:60, i * 94 + 2: i * 94 + 88]  # noqa: E731 - one cell of the first row
    assert np.abs(col(0) - col(0).mean(-1, keepdims=True)).max() <= 2      # the input is grey
    for i in (1, 2):                                       # both model columns hold colour
        assert np.abs(col(i) - col(i).mean(-1, keepdims=True)).mean() > 1
