"""Image sequences (numbered frames) in; a video or a folder of colorized frames out."""
from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

av = pytest.importorskip("av")
pytest.importorskip("cv2")

from helpers import colourful_image  # noqa: E402
from tinct.files.write import OutputError  # noqa: E402
from tinct.video import VideoError, colorize_sequence  # noqa: E402
from tinct.video.evaluate import _lab  # noqa: E402
from tinct.video.sequence import sequence_files  # noqa: E402
from tinct.video.synthetic import motion_frames  # noqa: E402


def write_frames(folder, n=5, size=(48, 32), name="f_{:03d}.png", start=1):
    """Grey numbered frames of a pan; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    still = Image.fromarray(colourful_image(np.random.default_rng(0), 160, 120))
    paths = []
    for i, rgb in enumerate(motion_frames(still, "pan", n, size)):
        p = folder / name.format(start + i)
        Image.fromarray(rgb).convert("L").save(p)
        paths.append(p)
    return paths


def test_pattern_matches_by_number(tmp_path):
    for name in ["s_2.png", "s_10.png", "s_1.png", "s_x.png", "t_3.png", "s_4.jpg"]:
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in sequence_files(tmp_path / "s_%d.png")] == ["s_1.png", "s_2.png", "s_10.png"]
    assert [p.name for p in sequence_files(tmp_path / "s_%02d.png")] == ["s_10.png"]
    with pytest.raises(VideoError, match="no frames match s_%03d.png"):
        sequence_files(tmp_path / "s_%03d.png")
    with pytest.raises(VideoError, match="not a frame pattern"):
        sequence_files(tmp_path / "s_1.png")


def test_sequence_to_video_and_to_folder(tmp_path, colorizer):
    frames = write_frames(tmp_path / "shot")
    info = colorize_sequence(colorizer, tmp_path / "shot" / "f_%03d.png", tmp_path / "out.mp4", fps=10)
    assert info == {"frames": 5, "width": 48, "height": 32}
    with av.open(str(tmp_path / "out.mp4")) as c:
        v = c.streams.video[0]
        got = [f for f in c.decode(v)]
        assert v.average_rate == 10 and len(got) == 5 and (got[0].width, got[0].height) == (48, 32)
    colorize_sequence(colorizer, tmp_path / "shot" / "f_%03d.png", tmp_path / "col")
    outs = sorted(os.listdir(tmp_path / "col"))
    assert outs == [p.name for p in frames]
    for p in frames:  # each output keeps its own frame's lightness, and has colour
        a, b = np.asarray(Image.open(p).convert("RGB")), np.asarray(Image.open(tmp_path / "col" / p.name))
        assert b.shape == (32, 48, 3) and float((_lab(a)[0, 0] - _lab(b)[0, 0]).abs().mean()) < 2
        assert np.abs(b[..., 0].astype(int) - b[..., 2]).mean() > 1


def test_existing_outputs_and_bad_frames(tmp_path, colorizer):
    write_frames(tmp_path / "shot")
    (tmp_path / "col").mkdir()
    (tmp_path / "col" / "f_003.png").write_bytes(b"keep")
    with pytest.raises(OutputError, match="f_003.png already exists"):
        colorize_sequence(colorizer, tmp_path / "shot" / "f_%03d.png", tmp_path / "col")
    assert os.listdir(tmp_path / "col") == ["f_003.png"]  # nothing written
    Image.new("L", (40, 32)).save(tmp_path / "shot" / "f_004.png")  # a frame of another size
    with pytest.raises(VideoError, match="frame f_004.png is 40x32, not 48x32"):
        colorize_sequence(colorizer, tmp_path / "shot" / "f_%03d.png", tmp_path / "out.mp4")
    assert not os.path.exists(tmp_path / "out.mp4") and not [f for f in os.listdir(tmp_path) if f.startswith(".")]


def test_cli_sequence(tmp_path, tinct_cli):
    write_frames(tmp_path / "shot", n=4)
    r = tinct_cli("colorize", str(tmp_path / "shot" / "f_%03d.png"), "-o", tmp_path / "s.mkv", "--fps", "12", "-q")
    assert r.rc == 0, r.err
    with av.open(str(tmp_path / "s.mkv")) as c:
        assert c.streams.video[0].average_rate == 12 and len(list(c.decode(video=0))) == 4
    assert tinct_cli("colorize", str(tmp_path / "shot" / "f_%03d.png"), "-q").rc == 0  # default: <folder>_color
    assert sorted(os.listdir(tmp_path / "shot_color")) == sorted(os.listdir(tmp_path / "shot"))
    r = tinct_cli("colorize", str(tmp_path / "shot" / "g_%03d.png"), "-q")
    assert r.rc == 1 and "no frames match g_%03d.png" in r.err
