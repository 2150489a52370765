"""The batched path (pipeline/batch.py): same results as one at a time, real batches, per-item errors, bounded memory."""
from __future__ import annotations

import copy
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tinct.pipeline.batch import colorize_files, run_batched

REPO = Path(__file__).resolve().parents[1]
PHOTOS = sorted((REPO / "examples").glob("*.jpg"))


def with_precision(colorizer, precision):
    c = copy.copy(colorizer)
    c.set_precision(precision)
    return c


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_batched_equals_one_at_a_time(colorizer, precision):
    c = with_precision(colorizer, precision)
    # the four loc3d halves share a network input shape, so batches form; bf16 (slow to set up per shape on
    # CPUs without AMX) gets one photo of another shape
    photos = PHOTOS if precision == "fp32" else [p for p in PHOTOS if p.name.startswith("loc3d")] + PHOTOS[:1]
    assert len(photos) >= 5
    one = [np.asarray(c.colorize(p)) for p in photos]
    many = [np.asarray(o) for o in c.colorize_many(photos, max_batch=4)]
    for p, a, b in zip(photos, one, many):
        assert a.shape == b.shape, p.name
        diff = np.abs(a.astype(int) - b)
        # batch composition does not change a photo's colour (BatchNorm folded, eval); only float rounding of
        # differently-shaped matrix products differs, which moves a few pixels across an 8-bit boundary
        assert diff.max() <= 1, (p.name, diff.max())
        assert (diff > 0).mean() < 1e-3, (p.name, (diff > 0).mean())


def test_same_shaped_photos_share_a_forward(colorizer):
    sizes = []
    c = copy.copy(colorizer)
    real = c.forward_ab

    def spy(ls, hs, opts):
        sizes.append(len(ls))
        return real(ls, hs, opts)
    c.forward_ab = spy
    rng = np.random.default_rng(0)
    imgs = [rng.integers(0, 255, (96, 128), dtype=np.uint8) for _ in range(12)]
    outs = c.colorize_many(imgs, max_batch=4)
    assert sum(sizes) == 12 and max(sizes) > 1 and max(sizes) <= 4
    assert all(isinstance(o, np.ndarray) and o.shape == (96, 128, 3) for o in outs)


def test_colorize_files_reports_each_failure_and_goes_on(colorizer, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    good = []
    for i, p in enumerate(PHOTOS[:3]):
        good.append(src / f"ok{i}.jpg")
        good[-1].write_bytes(p.read_bytes())
    (src / "corrupt.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    out = tmp_path / "out"
    out.mkdir()
    (out / "ok1.png").write_bytes(b"keep me")
    pairs = [(good[0], out / "ok0.png"), (src / "corrupt.jpg", out / "corrupt.png"), (good[1], out / "ok1.png"),
             (src / "missing.jpg", out / "missing.png"), (good[2], out / "ok2.webp")]
    seen = []
    res = colorize_files(colorizer, pairs, on_done=lambda i, e: seen.append(i))
    assert sorted(seen) == list(range(5))
    assert [r.ok for r in res] == [True, False, False, False, True]
    assert "cannot decode" in res[1].error or "not an image" in res[1].error
    assert "already exists" in res[2].error and (out / "ok1.png").read_bytes() == b"keep me"
    assert "No such file" in res[3].error or "no such file" in res[3].error.lower()
    for r in res:
        assert r.ok or "\n" not in r.error
    for r in (res[0], res[4]):
        with Image.open(r.dst) as im, Image.open(r.src) as orig:
            assert im.size == orig.size and im.format == ("PNG" if r.dst.suffix == ".png" else "WEBP")
    assert not (out / "corrupt.png").exists() and not (out / "missing.png").exists()
    assert sorted(p.name for p in out.iterdir()) == ["ok0.png", "ok1.png", "ok2.webp"]  # no temporary files


def test_colorize_many_raises_the_failing_items_error(colorizer):
    with pytest.raises(ValueError, match="uint8"):
        colorizer.colorize_many([np.zeros((32, 32), np.uint8), np.zeros((32, 32), np.float32)])


def test_memory_stays_within_the_pixel_budget(colorizer):
    n, side = 10, 64
    lock = threading.Lock()
    state = {"held": 0, "most": 0}

    def read(i):
        with lock:
            state["held"] += 1
            state["most"] = max(state["most"], state["held"])
        return np.full((side, side), 40 + 10 * i, np.uint8), None

    def write(i, out, ctx):
        assert out.shape == (side, side, 3)
        with lock:
            state["held"] -= 1
    # a budget of 2 photos, 2 readers: at most 2 in flight plus one just decoded per reader
    errors = run_batched(colorizer, n, read, write, colorizer.options(), budget_pixels=2 * side * side,
                         readers=2, writers=1, max_batch=8)
    assert errors == [None] * n
    assert state["held"] == 0
    assert state["most"] <= 4, state
