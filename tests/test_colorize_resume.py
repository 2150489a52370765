"""``tinct colorize`` interrupted: a simulated kill, a real SIGKILL midway, then a resume with --skip-existing;
real old photos from ../shared; and the installed console script on stdin/stdout."""
from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers import make_image_folder, python, subprocess_env
from tinct.files.write import is_temp_name

from test_colorize_cli import DATA, snapshot, temp_files


def test_skip_existing_after_simulated_kill(tinct_cli, tmp_path):
    make_image_folder(tmp_path / "in", 5)
    out = tmp_path / "out"
    assert tinct_cli("colorize", tmp_path / "in", "-o", out).rc == 0
    # as if killed after 3 images: two outputs missing, and a temporary file of a dead process left behind
    (out / "img00003.jpg").unlink()
    (out / "img00004.jpg").unlink()
    dead = subprocess.run([python(), "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = out / f".tinct-{int(dead.stdout)}-0123abcd.part"
    stale.write_bytes(b"half an image")
    before = snapshot(out)
    res = tinct_cli("colorize", tmp_path / "in", "-o", out, "--skip-existing")
    assert res.rc == 0, res.err
    after = snapshot(out)
    for name in ("img00000.jpg", "img00001.jpg", "img00002.jpg"):
        assert after[name] == before[name]  # same bytes, same mtime: not rewritten
    assert "img00003.jpg" in after and "img00004.jpg" in after
    assert temp_files(out) == []


@pytest.mark.skipif(not (DATA / "oldphotos").is_dir(), reason="shared data not available")
def test_real_old_photos(tinct_cli, tmp_path):
    srcs = sorted((DATA / "oldphotos").glob("*.jpg"))[:3]
    res = tinct_cli("colorize", *srcs, "-o", tmp_path)
    assert res.rc == 0, res.err
    for s in srcs:
        with Image.open(s) as a, Image.open(tmp_path / s.name) as b:
            assert b.size == a.size


def tinct_executable() -> str:
    exe = shutil.which("tinct", path=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    if exe is None:
        pytest.skip("the tinct console script is not installed")
    return exe


def test_console_script_stdin_stdout(tmp_path):
    buf = io.BytesIO()
    Image.fromarray(np.full((24, 36), 150, np.uint8)).save(buf, "PNG")
    r = subprocess.run([tinct_executable(), "colorize", "-", "--device", "cpu"], input=buf.getvalue(),
                       capture_output=True, env=subprocess_env(), timeout=900)
    assert r.returncode == 0, r.stderr.decode()
    with Image.open(io.BytesIO(r.stdout)) as im:
        assert im.format == "PNG" and im.size == (36, 24)
    r = subprocess.run([tinct_executable(), "colorize", str(tmp_path / "missing.png")], capture_output=True,
                       env=subprocess_env(), timeout=900)
    assert r.returncode == 1
    assert r.stderr.decode().strip() == f"tinct: {tmp_path / 'missing.png'}: no such file or directory"


def test_kill_midway_then_resume(tinct_cli, tmp_path):
    n = 24
    srcs = make_image_folder(tmp_path / "in", n, size=96)
    out = tmp_path / "out"
    proc = subprocess.Popen([python(), "-m", "tinct.cli.main", "colorize", str(tmp_path / "in"), "-o", str(out),
                             "--device", "cpu", "--quiet"], env=subprocess_env(), stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 600  # generous: CI machines can be slow
        while time.monotonic() < deadline and proc.poll() is None:
            if out.is_dir() and len([p for p in out.iterdir() if not p.name.startswith(".")]) >= 2:
                break
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
        proc.stderr.close()
    done = [p for p in out.iterdir() if not p.name.startswith(".")]
    assert 2 <= len(done) < n, "the batch was not killed midway"
    for p in done:  # every visible output is complete
        with Image.open(p) as im:
            im.load()
            assert im.size == Image.open(tmp_path / "in" / p.name).size
    for p in out.iterdir():  # anything else is a recognizable temporary file
        assert p in done or is_temp_name(p.name), p.name
    before = snapshot(out)
    res = tinct_cli("colorize", tmp_path / "in", "-o", out, "--skip-existing")
    assert res.rc == 0, res.err
    after = snapshot(out)
    assert sorted(after) == sorted(p.name for p in srcs)
    for p in done:
        assert after[p.name] == before[p.name]
    assert temp_files(out) == []
