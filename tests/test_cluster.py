"""tinct colorize --ray on a local 2-CPU Ray cluster (started once for this module): same bytes and errors as plain
colorize, a SIGKILLed worker loses nothing, a rerun rewrites nothing."""
from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("ray.data")

from helpers import make_image_folder  # noqa: E402
from tinct.cluster.worker import MARKER_ENV  # noqa: E402

N_GOOD = 192
OPTS = ["--size", "64"]  # a small network input keeps 200 images fast on a busy 2-core machine


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    import ray
    marker = tmp_path_factory.mktemp("markers")
    os.environ[MARKER_ENV] = str(marker)   # inherited by the worker processes started by ray.init
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield marker
    ray.shutdown()
    os.environ.pop(MARKER_ENV, None)


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """200 inputs: JPEG and PNG of 64-96 px in two folders, plus 8 corrupt files (garbage, truncated, empty)."""
    root = tmp_path_factory.mktemp("archive")
    make_image_folder(root, N_GOOD // 2, size=64, seed=1)
    make_image_folder(root, N_GOOD // 2, size=64, seed=2, subdir="box2", ext=".png", prefix="scan")
    good = sorted(root.rglob("img*.jpg"))
    for i in range(4):
        (root / f"bad{i}.jpg").write_bytes(b"this is not an image" * (i + 1))
    (root / "box2" / "empty.png").write_bytes(b"")
    (root / "box2" / "trunc.png").write_bytes((root / "box2" / "scan00001.png").read_bytes()[:200])
    (root / "trunc.jpg").write_bytes(good[3].read_bytes()[:300])
    (root / "box2" / "half.jpg").write_bytes(good[5].read_bytes()[: len(good[5].read_bytes()) // 3])
    return root


def _files(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*")) if p.is_file()}


def _stamp(folder: Path) -> dict:
    return {k: (p.stat().st_ino, p.stat().st_mtime_ns, p.stat().st_size) for k, p in _files(folder).items()}


def test_ray_gives_the_same_bytes_and_errors_as_plain_colorize(cluster, archive, tinct_cli, tmp_path):
    plain = tinct_cli("colorize", archive, "-r", "-o", tmp_path / "plain", *OPTS)
    ray_ = tinct_cli("colorize", archive, "-r", "-o", tmp_path / "ray", *OPTS, "--ray")
    assert plain.rc == ray_.rc == 1
    assert len(plain.error_lines()) == 8
    assert sorted(ray_.error_lines()) == sorted(plain.error_lines())   # plain colorize reports as work finishes
    want = _files(tmp_path / "plain")
    got = _files(tmp_path / "ray")
    report = got.pop("tinct-failures.tsv")
    assert len(want) == N_GOOD and sorted(got) == sorted(want)
    assert all(got[k].read_bytes() == want[k].read_bytes() for k in want)
    rows = [ln.split("\t") for ln in report.read_text().splitlines()]
    assert rows[0] == ["file", "cause"]
    assert sorted(f"tinct: {f}: {c}" for f, c in rows[1:]) == sorted(plain.error_lines())


def test_killed_worker_loses_nothing_and_rerun_does_nothing(cluster, archive, tinct_cli, tmp_path):
    out = tmp_path / "out"
    for m in cluster.iterdir():
        m.unlink()
    result = {}
    job = threading.Thread(target=lambda: result.update(r=tinct_cli("colorize", archive, "-r", "-o", out, *OPTS,
                                                                    "--ray")))
    job.start()
    killed = None
    deadline = time.monotonic() + 120
    while job.is_alive() and time.monotonic() < deadline:
        pids = [int(m.name) for m in cluster.iterdir()]
        done = len(list(out.rglob("*.*"))) if out.exists() else 0
        if pids and 20 <= done < N_GOOD - 40:   # mid-job: some outputs written, many to go
            killed = pids[0]
            os.kill(killed, signal.SIGKILL)
            break
        time.sleep(0.05)
    job.join(180)
    assert killed is not None, "the job ended before a worker could be killed"
    assert not job.is_alive()
    r = result["r"]
    assert r.rc == 1 and len(r.error_lines()) == 8
    assert any(int(m.name) != killed for m in cluster.iterdir()), "no worker ran after the kill"
    files = _files(out)
    assert not [k for k in files if os.path.basename(k).startswith(".")], "temporary files left behind"
    files.pop("tinct-failures.tsv")
    assert len(files) == N_GOOD
    from PIL import Image
    for p in files.values():
        with Image.open(p) as im:
            im.load()   # complete: decodes to the end

    before = _stamp(out)
    again = tinct_cli("colorize", archive, "-r", "-o", out, *OPTS, "--ray", "--skip-existing")
    assert again.rc == 1 and len(again.error_lines()) == 8   # the corrupt inputs are still reported
    after = _stamp(out)
    before.pop("tinct-failures.tsv"), after.pop("tinct-failures.tsv")
    assert after == before   # no output rewritten (same inode, mtime and size)
    shutil.rmtree(out)


@pytest.fixture(scope="module")
def small_archive(tmp_path_factory):
    """24 inputs in two folders (JPEG, PNG) plus 3 corrupt ones and a hidden file."""
    root = tmp_path_factory.mktemp("small")
    make_image_folder(root, 12, size=48, seed=3)
    make_image_folder(root, 12, size=48, seed=4, subdir="box", ext=".png", prefix="scan")
    (root / "bad.jpg").write_bytes(b"not an image")
    (root / "box" / "empty.png").write_bytes(b"")
    (root / "box" / "trunc.jpg").write_bytes((root / "img00002.jpg").read_bytes()[:250])
    (root / ".hidden.jpg").write_bytes((root / "img00001.jpg").read_bytes())
    return root


def test_file_urls_give_the_same_bytes_and_errors_as_plain_paths(cluster, small_archive, tinct_cli, tmp_path):
    """The fsspec code path (listing, reading, writing at URLs) on Ray workers: file:// URLs, as memory://
    cannot cross processes. Then a rerun with --skip-existing rewrites nothing."""
    plain = tinct_cli("colorize", small_archive, "-r", "-o", tmp_path / "plain", *OPTS, "--ext", "png")
    url = tinct_cli("colorize", f"file://{small_archive}", "-r", "-o", f"file://{tmp_path}/url", *OPTS,
                    "--ext", "png", "--ray")
    assert plain.rc == url.rc == 1 and len(plain.error_lines()) == 3
    assert sorted(ln.replace("file://", "") for ln in url.error_lines()) == sorted(plain.error_lines())
    want, got = _files(tmp_path / "plain"), _files(tmp_path / "url")
    report = got.pop("tinct-failures.tsv")
    assert len(want) == 24 and sorted(got) == sorted(want)
    assert all(got[k].read_bytes() == want[k].read_bytes() for k in want)
    rows = [ln.split("\t") for ln in report.read_text().splitlines()]
    assert rows[0] == ["file", "cause"] and all(f.startswith(f"file://{small_archive}/") for f, _ in rows[1:])
    assert sorted(f"tinct: {f[len('file://'):]}: {c}" for f, c in rows[1:]) == sorted(plain.error_lines())

    before = _stamp(tmp_path / "url")
    again = tinct_cli("colorize", f"file://{small_archive}", "-r", "-o", f"file://{tmp_path}/url", *OPTS,
                      "--ext", "png", "--ray", "--skip-existing")
    assert again.rc == 1 and sorted(again.error_lines()) == sorted(url.error_lines())
    after = _stamp(tmp_path / "url")
    before.pop("tinct-failures.tsv"), after.pop("tinct-failures.tsv")
    assert after == before


def test_driver_removes_the_temporary_file_of_a_worker_killed_mid_write(tmp_path, monkeypatch):
    """A worker SIGKILLed between creating its temporary file and the rename leaves the file behind; the driver
    removes it once the job is over (its writer is dead), and leaves a live process's temporary alone."""
    import subprocess
    import sys
    from types import SimpleNamespace

    from tinct.cluster import job
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    out = tmp_path / "out" / "box"
    out.mkdir(parents=True)
    left = out / f".tinct-{dead.pid}-0badc0de.part"
    live = out / f".tinct-{os.getpid()}-0000beef.part"

    def fake_rows(rows, args, batch):   # the job: one worker killed mid-write, one writer still running
        left.write_bytes(b"half an image")
        live.write_bytes(b"being written")
        return 0

    monkeypatch.setattr(job, "run_rows", fake_rows)
    todo = [SimpleNamespace(src=tmp_path / "a.jpg", out=out / "a.png", fmt=None, name="a.jpg")]
    assert job.run_on_ray(todo, SimpleNamespace(), None) == 0
    assert not left.exists() and live.exists()


def test_a_hint_outside_an_image_exits_2_on_ray_as_plain_colorize(cluster, tinct_cli, tmp_path):
    """Issue 25 case 14: exit 2 (the command's fault), one line per image, and the failures report."""
    make_image_folder(tmp_path / "in", 2, size=40)
    hint = ["--hint", "4000,10,#ff0000"]
    plain = tinct_cli("colorize", tmp_path / "in", "-o", tmp_path / "plain", *OPTS, *hint, "-q")
    ray_ = tinct_cli("colorize", tmp_path / "in", "-o", tmp_path / "ray", *OPTS, *hint, "--ray", "-q")
    assert plain.rc == ray_.rc == 2 and len(ray_.error_lines()) == 2
    assert sorted(ray_.error_lines()) == sorted(plain.error_lines())
    assert len((tmp_path / "ray" / "tinct-failures.tsv").read_text().splitlines()) == 3
