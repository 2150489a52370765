"""Precision per machine (pipeline/precision.py): bf16 colour close to fp32's on real photos; auto follows the
measurement (timings injected, so no test depends on this machine's speed) and caches it per machine and model."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from tinct.color import rgb_to_lab
from tinct.pipeline import precision as P

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"


def real_photos() -> list[Path]:
    return sorted((REPO / "examples").glob("loc3d_*.jpg"))[:2] + sorted((DATA / "oldphotos").glob("*.jpg"))[:2]


def lab_ab(img) -> torch.Tensor:
    t = torch.from_numpy(np.asarray(img)[..., :3].copy()).permute(2, 0, 1).unsqueeze(0).float() / 255
    return rgb_to_lab(t)[0, 1:]


def test_bf16_output_within_ab_2_of_fp32_on_real_photos(colorizer):
    bf = copy.copy(colorizer)
    bf.set_precision("bf16")
    photos = real_photos()
    assert len(photos) >= 2
    for p in photos:
        a, b = lab_ab(colorizer.colorize(p)), lab_ab(bf.colorize(p))
        d = (a - b).norm(dim=0)
        assert d.mean().item() <= P.MAX_AB_ERROR, (p.name, d.mean().item())
        assert d.mean().item() > 0, "bf16 did not run: identical to fp32"


def test_measure_reports_timings_and_error_on_the_probe_photo(colorizer):
    m = P.measure(copy.copy(colorizer), repeats=1)
    assert m.fp32_s > 0 and m.bf16_s > 0 and 0 < m.ab_mean <= m.ab_max


def fake(fp32_s, bf16_s, ab_mean):
    calls = []

    def measure(col):
        calls.append(col)
        return P.Measurement(fp32_s, bf16_s, ab_mean, ab_mean * 4)
    return measure, calls


@pytest.mark.parametrize("times,ab,expected", [((1.0, 0.5), 0.8, "bf16"),     # twice as fast, close colour
                                               ((1.0, 1.3), 0.8, "fp32"),     # bf16 slower (no AMX)
                                               ((1.0, 0.98), 0.8, "fp32"),    # not faster enough to matter
                                               ((1.0, 0.5), 2.5, "fp32")])    # fast but colour too far off
def test_auto_follows_the_measurement_and_caches_it(colorizer, tmp_path, monkeypatch, times, ab, expected):
    monkeypatch.setenv("TINCT_CACHE_DIR", str(tmp_path))
    measure, calls = fake(*times, ab)
    monkeypatch.setattr(P, "measure", measure)
    c = copy.copy(colorizer)
    assert c.set_precision("auto") == expected and c.precision == expected and len(calls) == 1
    rec = json.loads((tmp_path / P.CACHE_FILE).read_text())
    (key, saved), = rec.items()
    assert saved["choice"] == expected and saved["ratio"] == pytest.approx(times[1] / times[0])
    assert "torch " + torch.__version__ in key
    # the network really runs in the chosen precision
    dtypes = []
    conv = next(m for m in c.net.modules() if isinstance(m, torch.nn.Conv2d))
    h = conv.register_forward_hook(lambda m, i, o: dtypes.append(o.dtype))
    try:
        c.forward_logits(torch.full((1, 1, 64, 64), 50.0), None)
    finally:
        h.remove()
    assert dtypes[0] == (torch.bfloat16 if expected == "bf16" else torch.float32)
    # a second start on the same machine and model reads the cache instead of measuring again
    c2 = copy.copy(colorizer)
    assert c2.set_precision("auto") == expected and len(calls) == 1


def test_cache_is_keyed_by_model_and_survives_a_corrupt_file(colorizer, tmp_path, monkeypatch):
    monkeypatch.setenv("TINCT_CACHE_DIR", str(tmp_path))
    (tmp_path / P.CACHE_FILE).write_text("{not json")
    measure, calls = fake(1.0, 0.5, 0.5)
    assert P.choose(copy.copy(colorizer), measure)[0] == "bf16" and len(calls) == 1
    other = copy.copy(colorizer)
    other.model = copy.copy(colorizer.model)
    other.model.net = copy.deepcopy(colorizer.model.net)
    with torch.no_grad():
        next(other.model.net.parameters()).add_(1.0)  # different weights: a different model
    measure2, calls2 = fake(1.0, 1.5, 0.5)
    assert P.choose(other, measure2)[0] == "fp32" and len(calls2) == 1
    assert len(json.loads((tmp_path / P.CACHE_FILE).read_text())) == 2


def test_cache_folder_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.delenv("TINCT_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert P.cache_dir() == tmp_path / "tinct"


def test_bad_precision_is_refused(colorizer):
    with pytest.raises(ValueError, match="precision"):
        copy.copy(colorizer).set_precision("fp16")
