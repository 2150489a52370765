"""benchmarks/compare_models.py: one row per model and set; a set with no images stops with its name, not NaN."""
import json

import numpy as np
import pytest
from PIL import Image
from helpers import load_script


def load_bench():
    return load_script("benchmarks/compare_models.py")


def test_rows_per_set_and_an_empty_set_named(tmp_path, capsys):
    bench = load_bench()
    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    for i, rgb in enumerate([(200, 80, 40), (50, 110, 190)]):
        px = np.clip(np.array(rgb, np.float32) + rng.normal(0, 15, (40, 56, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(px).save(photos / f"p{i}.png")
    out = tmp_path / "rows.json"
    assert bench.main(["--models", "v2", "--sets", f"two={photos}", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())
    assert [(r["set"], r["model"], r["images"]) for r in rows] == [("two", "v2", 2)]
    assert np.isfinite(rows[0]["auc_rb_gain"]) and rows[0]["mean_colour_error_grey"] > 0
    assert "| two | v2 | 2 |" in capsys.readouterr().out

    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SystemExit) as e:
        bench.main(["--models", "v2", "--sets", f"two={photos}", f"none={empty}"])
    assert f"none={empty}" in str(e.value.code) and "no readable images" in str(e.value.code)
