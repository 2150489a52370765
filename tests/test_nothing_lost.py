"""Issue 25: nothing lost on videos, image sequences and --ray URLs. One test per case of the issue (numbered as
there): the one planner (files/plan.py) and the one output rule (files/outputs.py) refuse an output that is an
input (symlinks, '..', file:// URLs resolved), two inputs onto one output, outputs that cannot persist, unknown
URL schemes; frame hints that cannot apply are errors (exit 2); sequences rerun with --skip-existing."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers import make_image_folder

HINT = "8,8,#cc2020"


def digest(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def video():
    """-> make(path, frames=4): a small grey-ish H.264 clip of ``frames`` frames at ``path``."""
    pytest.importorskip("av")
    pytest.importorskip("cv2")
    from tinct.video.synthetic import write_clip

    def make(path: Path, frames: int = 4) -> Path:
        rng = np.random.default_rng(0)
        base = rng.integers(0, 255, (32, 48, 3), dtype=np.uint8)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_clip(path, [np.roll(base, i, axis=1) for i in range(frames)], rate=12)
        return path
    return make


def frames(folder: Path, numbers, size=(48, 32), name="f_{:04d}.png") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    out = []
    for n in numbers:
        p = folder / name.format(n)
        Image.fromarray(rng.integers(0, 255, (size[1], size[0]), dtype=np.uint8)).save(p)
        out.append(p)
    return out


@pytest.fixture
def no_ray(monkeypatch):
    """--ray runs whose every job is refused at planning never start Ray nor load a model."""
    pytest.importorskip("ray.data")
    pytest.importorskip("fsspec")
    import tinct.cli.colorize as colorize_cmd
    import tinct.cluster.job as job
    monkeypatch.setattr(job, "connect", lambda *a, **k: pytest.fail("Ray was started"))
    monkeypatch.setattr(colorize_cmd, "load_colorizer", lambda *a, **k: pytest.fail("a model was loaded"))


# --- 1. a video written over itself, a folder onto itself, a symlinked input ---------------------------------
def test_case1_a_video_is_never_written_over(tinct_cli, tmp_path, video):
    a = video(tmp_path / "same" / "a.mp4")
    before = digest(tmp_path / "same")
    r = tinct_cli("colorize", a, "-o", a, "--overwrite", "-q")
    assert r.rc == 1 and r.error_lines() == [f"tinct: {a}: its output {a} is one of the inputs; tinct never "
                                             "writes over its inputs, even with --overwrite (choose another -o)"]
    r = tinct_cli("colorize", tmp_path / "same", "-o", tmp_path / "same", "--overwrite", "-q")
    assert r.rc == 1 and "is one of the inputs" in r.err
    (tmp_path / "link.mp4").symlink_to(a)
    r = tinct_cli("colorize", tmp_path / "link.mp4", "-o", a, "--overwrite", "-q")
    assert r.rc == 1 and "is one of the inputs" in r.err
    assert digest(tmp_path / "same") == before


# --- 2. a sequence's frames written over themselves ------------------------------------------------------------
def test_case2_sequence_frames_are_never_written_over(tinct_cli, tmp_path):
    frames(tmp_path / "seq", range(1, 4))
    before = digest(tmp_path / "seq")
    r = tinct_cli("colorize", tmp_path / "seq" / "f_%04d.png", "-o", tmp_path / "seq", "--overwrite", "-q")
    assert r.rc == 1 and len(r.error_lines()) == 1 and "is one of the inputs" in r.err
    assert digest(tmp_path / "seq") == before


# --- 3. file:// URLs through a symlink or '..' -----------------------------------------------------------------
def test_case3_file_urls_are_resolved_before_comparing(tinct_cli, tmp_path, no_ray):
    make_image_folder(tmp_path / "in", 2, ext=".png")
    (tmp_path / "inlink").symlink_to(tmp_path / "in")
    (tmp_path / "x").mkdir()
    before = digest(tmp_path / "in")
    for out in [f"file://{tmp_path}/inlink", f"file://{tmp_path}/x/../in"]:
        r = tinct_cli("colorize", f"file://{tmp_path}/in", "-o", out, "--ray", "--overwrite", "-q")
        assert r.rc == 1 and len(r.error_lines()) == 2, r.err
        assert all("is one of the inputs" in line for line in r.error_lines())
    after = digest(tmp_path / "in")
    after.pop("tinct-failures.tsv")                       # the report of the refused inputs, in -o
    assert after == before


# --- 4. outputs that cannot persist ------------------------------------------------------------------------------
def test_case4_process_local_outputs_are_refused_with_ray(tinct_cli, tmp_path, no_ray):
    make_image_folder(tmp_path / "in", 2)
    for out in ["memory://out", "blockcache://out", "simplecache::file:///tmp/out"]:
        r = tinct_cli("colorize", tmp_path / "in", "-o", out, "--ray", "-q")
        assert r.rc == 2 and len(r.err.strip().splitlines()) == 1, r.err
        assert r.err.startswith(f"tinct: {out}: ")


# --- 5. two inputs onto one output ---------------------------------------------------------------------------------
def test_case5_two_videos_mapping_to_one_output_is_an_error_naming_both(tinct_cli, tmp_path, video):
    a = video(tmp_path / "in" / "a.mkv")
    (tmp_path / "in" / "a.webm").write_bytes(a.read_bytes())
    r = tinct_cli("colorize", tmp_path / "in", "-o", tmp_path / "out", "--overwrite", "-q")
    out = tmp_path / "out" / "a.mkv"
    assert r.rc == 1 and r.error_lines() == [f"tinct: {tmp_path / 'in' / 'a.webm'}: its output {out} would also "
                                             f"be the output of {a}"]
    assert out.is_file()
    r = tinct_cli("colorize", tmp_path / "in", "--overwrite", "-q")   # without -o: both onto a_color.mkv
    assert r.rc == 1 and "would also be the output of" in r.err


# --- 8. URL schemes outside the allow-list, and stores that cannot be reached -------------------------------------
@pytest.mark.parametrize("url", ["ftp://127.0.0.1:1/in", "ftp://no-such-host.invalid/in", "blockcache://in",
                                 "zip://in", "tar://in", "reference://in", "dir://in", "hdfs://host/in"])
def test_case8_unusable_urls_are_one_line_exit_2(tinct_cli, tmp_path, no_ray, url):
    r = tinct_cli("colorize", url, "-o", tmp_path / "out", "--ray", "-q")
    assert r.rc == 2 and len(r.err.strip().splitlines()) == 1 and r.err.startswith(f"tinct: {url}: "), r.err
    assert "Traceback" not in r.err and not (tmp_path / "out").exists()


# --- 12. frame hints that cannot apply ------------------------------------------------------------------------------
def test_case12_frame_hints_that_cannot_apply_are_errors(tinct_cli, tmp_path, video):
    clip = video(tmp_path / "clip.mp4", frames=12)
    r = tinct_cli("colorize", clip, "--frame-hint", f"{HINT}@500", "-q")
    assert r.rc == 2 and r.error_lines() == [f"tinct: {clip}: a hint is given for frame 500, but the video has 12 "
                                             "frames (0 to 11)"]
    assert not (tmp_path / "clip_color.mp4").exists()
    make_image_folder(tmp_path / "photos", 1)
    r = tinct_cli("colorize", tmp_path / "photos", "--frame-hint", f"{HINT}@0", "-q")
    assert r.rc == 2 and "--frame-hint applies to videos and frame sequences" in r.err
    assert list((tmp_path / "photos").iterdir()) == [tmp_path / "photos" / "img00000.jpg"]
    frames(tmp_path / "seq", range(8))                   # numbered 0..7: there is no frame 8
    r = tinct_cli("colorize", tmp_path / "seq" / "f_%04d.png", "--frame-hint", f"{HINT}@8", "-q")
    assert r.rc == 2 and "has no frame numbered 8 (its frames are numbered 0 to 7)" in r.err
    assert not (tmp_path / "seq_color").exists()


def test_case12_a_sequence_frame_hint_is_the_number_in_the_file_name(tinct_cli, tmp_path, monkeypatch):
    import tinct.video.sequence as sequence
    got = {}
    monkeypatch.setattr(sequence, "colorize_sequence", lambda c, src, dst, **kw: got.update(kw["hints"]))
    frames(tmp_path / "seq", range(1, 9))                # numbered 1..8: @8 is the last frame, position 7
    r = tinct_cli("colorize", tmp_path / "seq" / "f_%04d.png", "--frame-hint", f"{HINT}@8", "-q")
    assert r.rc == 0, r.err
    assert list(got) == [7]


# --- 13. a sequence rerun with --skip-existing after a part-way stop ---------------------------------------------
def test_case13_sequence_rerun_with_skip_existing(tinct_cli, tmp_path):
    pytest.importorskip("av")
    pytest.importorskip("cv2")
    frames(tmp_path / "seq", range(1, 9))
    frames(tmp_path / "seq", [9], size=(40, 32))          # another size: the run stops there
    pattern, out = tmp_path / "seq" / "f_%04d.png", tmp_path / "out"
    r = tinct_cli("colorize", pattern, "-o", out, "-q")
    assert r.rc == 1 and "f_0009.png is 40x32, not 48x32" in r.err
    written = digest(out)                                 # the frames done before it (the lookahead and the network worker hold the last few)
    assert written and set(written) <= {f"f_000{i}.png" for i in range(1, 9)}
    r = tinct_cli("colorize", pattern, "-o", out, "--skip-existing", "-q")   # still mixed: the real cause again
    assert r.rc == 1 and "f_0009.png is 40x32" in r.err and "already exists" not in r.err
    frames(tmp_path / "seq", [9])                          # fixed: the rerun completes, keeping what was written
    r = tinct_cli("colorize", pattern, "-o", out, "--skip-existing", "-q")
    assert r.rc == 0, r.err
    now = digest(out)
    assert sorted(now) == [f"f_000{i}.png" for i in range(1, 10)] and {k: now[k] for k in written} == written
    r = tinct_cli("colorize", pattern, "-o", out, "--skip-existing", "-q")   # all there: nothing to do
    assert r.rc == 0 and digest(out) == now


# --- 14. a hint outside the frame exits 2, as for photos --------------------------------------------------------
def test_case14_a_hint_outside_the_frame_exits_2_on_video(tinct_cli, tmp_path, video):
    clip = video(tmp_path / "clip.mp4")
    r = tinct_cli("colorize", clip, "--hint", "4000,10,#ff0000", "-q")
    assert r.rc == 2 and len(r.error_lines()) == 1 and "outside" in r.err
    assert not (tmp_path / "clip_color.mp4").exists()


def test_case14_a_ray_worker_reports_a_hint_outside_the_image_as_misuse(tmp_path, colorizer):
    import copy

    from tinct.cluster.worker import ColorizeWorker, worker_opts
    from tinct.files.options import ColorizeOptions
    src = make_image_folder(tmp_path / "in", 1, size=40, ext=".png")[0]
    w = ColorizeWorker.__new__(ColorizeWorker)
    w.opts = worker_opts(ColorizeOptions(hints=[(4000, 10, (255, 0, 0))], size=64))
    w.colorizer, w.marker = copy.copy(colorizer), None
    status, why = w._one(str(src), str(tmp_path / "out.png"), "PNG")
    assert status == "misuse" and "outside" in why and not (tmp_path / "out.png").exists()


# --- 15. the failures report also when every input fails at planning (--ray) -------------------------------------
def test_case15_ray_writes_the_failures_report_when_every_input_fails_at_planning(tinct_cli, tmp_path, no_ray):
    (tmp_path / "out").mkdir()
    r = tinct_cli("colorize", tmp_path / "nosuch1", tmp_path / "nosuch2", "-o", tmp_path / "out", "--ray", "-q")
    assert r.rc == 1
    report = (tmp_path / "out" / "tinct-failures.tsv").read_text().splitlines()
    assert report == ["file\tcause", f"{tmp_path / 'nosuch1'}\tno such file or directory",
                      f"{tmp_path / 'nosuch2'}\tno such file or directory"]


# --- 17. '..' in -o: a rerun does not take the earlier outputs as inputs (out/out/) ------------------------------
def test_case17_dotdot_output_folder_is_left_out_of_reruns(tinct_cli, tmp_path, video):
    video(tmp_path / "in" / "a.mp4")
    make_image_folder(tmp_path / "in", 1)
    (tmp_path / "in" / "sub").mkdir()
    out = tmp_path / "in" / "sub" / ".." / "out"
    for _ in range(2):
        r = tinct_cli("colorize", tmp_path / "in", "-r", "-o", out, "--skip-existing", "-q")
        assert r.rc == 0, r.err
    assert sorted(digest(tmp_path / "in" / "out")) == ["a.mp4", "img00000.jpg"]


def test_the_input_folder_as_output_folder_with_another_extension_stays_allowed(tinct_cli, tmp_path):
    """Kept from the photo path: -o IN --ext png (also -r) writes beside the inputs and replaces none; a rerun
    refuses each earlier output as an input of its own (nothing lost, nothing colorized twice)."""
    make_image_folder(tmp_path / "in", 1)
    make_image_folder(tmp_path / "in", 1, subdir="box", prefix="deep")
    before = digest(tmp_path / "in")
    r = tinct_cli("colorize", tmp_path / "in", "-r", "-o", tmp_path / "in", "--ext", "png", "-q")
    assert r.rc == 0, r.err
    assert sorted(digest(tmp_path / "in")) == sorted([*before, "img00000.png", "box/deep00000.png"])
    after = digest(tmp_path / "in")
    r = tinct_cli("colorize", tmp_path / "in", "-r", "-o", tmp_path / "in", "--ext", "png", "--overwrite", "-q")
    assert r.rc == 1 and all("is one of the inputs" in line for line in r.error_lines())
    assert digest(tmp_path / "in") == after
