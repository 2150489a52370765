"""``tinct prepare``: skipped inputs, readable shards, MiniPlaces labels, and reruns after interruptions."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import helpers
from tinct.cli.main import main
from tinct.data.prepare import load_square, prepare
from tinct.data.shards import ShardDataset


@pytest.fixture
def messy_folder(tmp_path):
    src = tmp_path / "src"
    good = helpers.make_image_folder(src, 7, size=48, seed=1)
    helpers.make_image_folder(src, 2, size=40, seed=2, subdir="nested/deeper", ext=".png", prefix="deep")
    (src / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg" + os.urandom(64))
    data = (src / "img00000.jpg").read_bytes()
    (src / "truncated.jpg").write_bytes(data[:len(data) // 3])
    Image.fromarray(helpers.colourful_image(np.random.default_rng(0), 20, 50)).save(src / "tiny.jpg")
    helpers.make_grey_image(src / "grey.jpg")
    (src / "notes.txt").write_text("not an image, ignored")
    return src, good


def test_skips_corrupt_tiny_and_grey_with_reasons(messy_folder, tmp_path):
    src, good = messy_folder
    m = prepare([src], tmp_path / "out", size=32, shard_size=4, workers=1, progress=False)
    reasons = {Path(s["path"]).name: s["reason"] for s in m["skipped"]}
    assert set(reasons) == {"corrupt.jpg", "truncated.jpg", "tiny.jpg", "grey.jpg"}
    assert "small" in reasons["tiny.jpg"] and "20x50" in reasons["tiny.jpg"]
    assert "grey" in reasons["grey.jpg"]
    assert reasons["corrupt.jpg"] and reasons["truncated.jpg"]
    assert all("\n" not in r for r in reasons.values())
    assert m["counts"] == {"train": 9} and m["size"] == 32 and m["categories"] is None
    on_disk = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert on_disk["skipped"] == m["skipped"] and on_disk["counts"] == m["counts"]
    assert len(m["splits"]["train"]) == 4                     # 13 inputs, 4 per shard
    assert not list((tmp_path / "out").glob(".tinct-*")) and not list((tmp_path / "out").glob("*.tmp"))


def test_shards_read_back_exactly(messy_folder, tmp_path):
    src, _ = messy_folder
    prepare([src], tmp_path / "out", size=32, shard_size=4, workers=1, progress=False)
    ds = ShardDataset(tmp_path / "out", "train")
    assert len(ds) == 9 and ds.size == 32 and ds.categories is None
    kept = sorted(p for p in src.rglob("*") if p.suffix in (".jpg", ".png")
                  and p.name not in ("corrupt.jpg", "truncated.jpg", "tiny.jpg", "grey.jpg"))
    for i, p in enumerate(kept):                             # sorted input order is kept
        img, label = ds[i]
        assert img.shape == (32, 32, 3) and img.dtype == np.uint8 and label == -1
        assert np.array_equal(img, load_square(str(p), 32))
    rgb, labels = ds.batch([8, 0, 3])
    assert rgb.shape == (3, 32, 32, 3) and list(labels) == [-1, -1, -1]
    assert np.array_equal(rgb[0], ds[8][0])
    with pytest.raises(IndexError):
        ds[9]
    with pytest.raises(KeyError):
        ShardDataset(tmp_path / "out", "val")
    with pytest.raises(FileNotFoundError):
        ShardDataset(tmp_path / "nowhere")


def test_load_square_centre_crops_short_side():
    rng = np.random.default_rng(0)
    arr = helpers.colourful_image(rng, 90, 45)
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"tinct-sq-{os.getpid()}.png"
    try:
        Image.fromarray(arr).save(path)
        sq = load_square(str(path), 32)
        ref = np.asarray(Image.fromarray(arr).resize((64, 32), Image.BICUBIC).crop((16, 0, 48, 32)))
        assert sq.shape == (32, 32, 3)
        assert np.abs(sq.astype(int) - ref.astype(int)).max() <= 2
    finally:
        path.unlink(missing_ok=True)


def test_miniplaces_layout_keeps_labels_and_categories(tmp_path):
    root = helpers.make_miniplaces(tmp_path / "mp", n_per_class=3, n_val=4, size=40)
    m = prepare([root], tmp_path / "out", size=32, shard_size=4, workers=2, progress=False)
    assert m["categories"] == ["/a/abbey", "/b/beach", "/c/canyon"]     # names as categories.txt spells them
    assert m["counts"] == {"train": 9, "val": 4} and m["skipped"] == []
    tr, va = ShardDataset(tmp_path / "out", "train"), ShardDataset(tmp_path / "out", "val")
    assert tr.categories == m["categories"]
    assert list(tr.labels) == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert list(va.labels) == [0, 1, 2, 0]
    # the labels travel with the right pictures
    lines = (root / "train.txt").read_text().split()
    for i in range(9):
        path, label = lines[2 * i], int(lines[2 * i + 1])
        img, lab = tr[i]
        assert lab == label and np.array_equal(img, load_square(str(root / "images" / path), 32))


def test_categories_file_order_is_by_index(tmp_path):
    root = helpers.make_miniplaces(tmp_path / "mp", n_per_class=1, n_val=1, size=40, classes=("x/one", "y/two"))
    (root / "categories.txt").write_text("/y/two 1\n/x/one 0\n")
    m = prepare([root], tmp_path / "out", size=32, shard_size=4, workers=1, progress=False)
    assert m["categories"] == ["/x/one", "/y/two"]


def test_rerun_after_interruption_gives_identical_shards(tmp_path):
    src = tmp_path / "src"
    helpers.make_image_folder(src, 30, size=40, seed=3)
    helpers.make_grey_image(src / "img00007grey.jpg")
    clean = tmp_path / "clean"
    m_clean = prepare([src], clean, size=32, shard_size=6, workers=1, progress=False)
    want = helpers.sha256_files(clean)
    assert len(want) == 2 * 6                                 # 31 inputs: 6 shards, each .u8 and .json

    # an interrupted run: a finished shard lost, another torn mid-write (temporary files left), no manifest
    broken = tmp_path / "broken"
    prepare([src], broken, size=32, shard_size=6, workers=2, progress=False)
    (broken / "train-00002.u8").unlink()
    (broken / "train-00004.json").unlink()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])   # a writer that is gone (its pid names its temps)
    dead.wait()
    (broken / f".tinct-{dead.pid}-0a1b2c3d.part").write_bytes(b"\x00" * 1000)
    (broken / f".tinct-{dead.pid}-4e5f6a7b.part").write_text("{")
    (broken / "manifest.json").unlink()
    untouched = (broken / "train-00000.u8").stat().st_mtime_ns
    m = prepare([src], broken, size=32, shard_size=6, workers=2, progress=False)
    assert helpers.sha256_files(broken) == want
    assert m == m_clean
    assert not list(broken.glob(".tinct-*"))                 # leftovers of the interrupted run are cleaned up
    assert m["counts"] == m_clean["counts"] and m["splits"] == m_clean["splits"]
    assert (broken / "train-00000.u8").stat().st_mtime_ns == untouched   # finished shards are not redone
    ds = ShardDataset(broken)
    assert len(ds) == 30


def test_rerun_with_another_size_does_not_reuse_old_shards(tmp_path):
    src = tmp_path / "src"
    helpers.make_image_folder(src, 8, size=48, seed=4)
    out = tmp_path / "out"
    prepare([src], out, size=32, shard_size=4, workers=1, progress=False)
    prepare([src], out, size=40, shard_size=4, workers=1, progress=False)
    ds = ShardDataset(out)
    assert ds.size == 40 and len(ds) == 8
    assert os.path.getsize(out / "train-00000.u8") == 4 * 40 * 40 * 3
    assert np.array_equal(ds[5][0], load_square(str(sorted(src.glob("*.jpg"))[5]), 40))
    # and a changed input list (one more image, so shard 0 holds different files) is not reused either
    helpers.make_image_folder(src, 1, size=48, seed=9, prefix="a")
    prepare([src], out, size=40, shard_size=4, workers=1, progress=False)
    ds = ShardDataset(out)
    assert len(ds) == 9
    assert np.array_equal(ds[0][0], load_square(str(src / "a00000.jpg"), 40))


def test_cli_prepare(tmp_path, capsys):
    src = tmp_path / "src"
    helpers.make_image_folder(src, 5, size=40, seed=5)
    helpers.make_grey_image(src / "grey.jpg")
    assert main(["prepare", str(src), "-o", str(tmp_path / "out"), "--size", "32", "--shard-size", "2",
                 "--workers", "1", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "train: 5" in out and "skipped 1" in out and "grey.jpg" in out
    assert main(["prepare", str(tmp_path / "missing"), "-o", str(tmp_path / "o2")]) == 2


def test_sigkill_midway_then_rerun_gives_identical_shards(tmp_path):
    """A real interruption: ``tinct prepare`` (several worker processes) killed with SIGKILL, then rerun."""
    src = tmp_path / "src"
    helpers.make_image_folder(src, 240, size=40, seed=6)
    clean = tmp_path / "clean"
    prepare([src], clean, size=32, shard_size=5, workers=1, progress=False)
    want = helpers.sha256_files(clean)
    assert len(want) == 2 * 48

    out = tmp_path / "killed"
    cmd = [helpers.python(), "-m", "tinct.cli.main", "prepare", str(src), "-o", str(out), "--size", "32",
           "--shard-size", "5", "--workers", "2", "--quiet"]
    proc = subprocess.Popen(cmd, env=helpers.subprocess_env(), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    try:
        while len(list(out.glob("train-*.json"))) < 4 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        assert proc.poll() is None, "prepare finished before it could be interrupted: " + proc.stderr.read().decode()
        os.killpg(proc.pid, signal.SIGKILL)                  # the whole group: the pool's workers die too
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    done = helpers.sha256_files(out, "train-*.json")
    assert 4 <= len(done) < 48 and not (out / "manifest.json").exists()

    rerun = subprocess.run(cmd, env=helpers.subprocess_env(), capture_output=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr.decode()
    assert helpers.sha256_files(out) == want
    assert json.loads((out / "manifest.json").read_text())["counts"] == {"train": 240}
