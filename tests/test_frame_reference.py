"""Frame references (issue 27): ``--frame-reference REF@FRAME`` / ``frame_references={frame: ref}`` steer a video
or an image sequence from FRAME until the next one; the frames before it are untouched."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

av = pytest.importorskip("av")
pytest.importorskip("cv2")

from test_reference import grey_scene, mean_ab, solid  # noqa: E402
from tinct.pipeline.reference import ReferenceError  # noqa: E402
from tinct.video import colorize_frames, colorize_sequence  # noqa: E402
from tinct.video.frame_references import FrameOutsideClip  # noqa: E402
from tinct.video.synthetic import write_clip  # noqa: E402

BLUE, GREEN = (30, 90, 200), (40, 170, 60)


def scene_frames(n: int = 6) -> list:
    """A still grey scene with a little noise from frame to frame (no cut, a flow to smooth along)."""
    base = grey_scene().astype(int)
    rng = np.random.default_rng(3)
    return [(base + rng.integers(-2, 3, base.shape[:2])[:, :, None]).clip(0, 255).astype(np.uint8)
            for _ in range(n)]


def read_video(path) -> list:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def _save(path, arr):
    Image.fromarray(arr).save(path)
    return path


def close(a, b) -> bool:
    """The same picture but for the smoothing across a frame-reference switch (the stabiliser's and the reference
    local term's running averages restart there: about a level; two different references differ by ~50)."""
    return np.abs(a.astype(int) - b).mean() < 2


def test_a_frame_reference_takes_over_at_its_frame_and_not_before(colorizer):
    frames = scene_frames()
    plain = list(colorize_frames(colorizer, iter(frames)))
    blue = list(colorize_frames(colorizer, iter(frames), frame_references={3: solid(BLUE)}))
    green = list(colorize_frames(colorizer, iter(frames), frame_references={3: solid(GREEN)}))
    for i in range(3):   # before the frame reference: whatever it is, the same automatic colours
        assert np.array_equal(blue[i], green[i]), i
        assert close(blue[i], plain[i]), i
    for i in range(3, 6):   # from it on: towards its colours (b* down for blue, a* down for green)
        assert mean_ab(blue[i])[1] < mean_ab(plain[i])[1] - 5, i
        assert mean_ab(green[i])[0] < mean_ab(plain[i])[0] - 5, i


def test_frame_references_follow_each_other_and_the_clip_reference_comes_first(colorizer):
    frames = scene_frames()
    got = list(colorize_frames(colorizer, iter(frames), lookahead=1, reference=solid(GREEN),
                               frame_references={2: solid(BLUE), 4: solid(GREEN)}))
    green_only = list(colorize_frames(colorizer, iter(frames), lookahead=1, reference=solid(GREEN)))
    blue_only = list(colorize_frames(colorizer, iter(frames), lookahead=1, reference=solid(BLUE)))
    for i in (0, 1, 4, 5):
        assert close(got[i], green_only[i]) and not close(got[i], blue_only[i]), i
    for i in (2, 3):
        assert close(got[i], blue_only[i]) and not close(got[i], green_only[i]), i


def test_a_bad_frame_reference_fails_before_any_frame(colorizer):
    def frames():
        raise AssertionError("a frame was read")
        yield
    with pytest.raises(ReferenceError, match="reference has no colour"):
        next(colorize_frames(colorizer, frames(), frame_references={1: grey_scene()}))
    with pytest.raises(ValueError, match=">= 0"):
        next(colorize_frames(colorizer, frames(), frame_references={-1: solid(BLUE)}))


def test_sequence_frame_reference_past_the_end_writes_nothing(colorizer, tmp_path):
    for i in range(3):
        _save(tmp_path / f"f_{i}.png", grey_scene())
    with pytest.raises(FrameOutsideClip, match="frame 3, but the sequence has 3 frames"):
        colorize_sequence(colorizer, tmp_path / "f_%d.png", tmp_path / "out.mkv", frame_references={3: solid(BLUE)})
    assert not (tmp_path / "out.mkv").exists()


# --- command line ------------------------------------------------------------------------------------------
def test_cli_video_frame_reference(tinct_cli, tmp_path):
    src = tmp_path / "film.mkv"
    write_clip(src, scene_frames(6), rate=12)
    ref = _save(tmp_path / "blue.png", solid(BLUE, 200, 150))
    r = tinct_cli("colorize", src, "-o", tmp_path / "ref.mkv", "--frame-reference", f"{ref}@3", "--crf", "0", "-q")
    assert r.rc == 0, r.err
    r = tinct_cli("colorize", src, "-o", tmp_path / "plain.mkv", "--crf", "0", "-q")
    assert r.rc == 0, r.err
    got, plain = read_video(tmp_path / "ref.mkv"), read_video(tmp_path / "plain.mkv")
    assert len(got) == len(plain) == 6
    for i in range(3):
        assert close(got[i], plain[i]), i
    for i in range(3, 6):
        assert mean_ab(got[i])[1] < mean_ab(plain[i])[1] - 5, i


def test_cli_sequence_frame_reference_counts_file_numbers(tinct_cli, tmp_path):
    shot = tmp_path / "shot"
    shot.mkdir()
    for i, f in enumerate(scene_frames(5)):
        _save(shot / f"f_{i + 11:03d}.png", f)
    ref = _save(tmp_path / "blue.png", solid(BLUE, 200, 150))
    pattern = str(shot / "f_%03d.png")
    r = tinct_cli("colorize", pattern, "-o", tmp_path / "ref", "--frame-reference", f"{ref}@13", "-q")
    assert r.rc == 0, r.err
    assert tinct_cli("colorize", pattern, "-o", tmp_path / "plain", "-q").rc == 0
    for n in range(11, 16):
        got, plain = (np.asarray(Image.open(tmp_path / d / f"f_{n:03d}.png").convert("RGB")) for d in ("ref", "plain"))
        if n < 13:
            assert close(got, plain), n
        else:
            assert mean_ab(got)[1] < mean_ab(plain)[1] - 5, n


@pytest.mark.parametrize("case,message", [
    ("photo", "--frame-reference applies to videos and frame sequences; {tmp}/in.png is a photo"),
    ("grey", "grey.png: reference has no colour"),
    ("unreadable", "reference {tmp}/bad.jpg: not an image file"),
    ("syntax", "is not REF@FRAME"),
    ("video_past_end", "a frame reference is given for frame 9, but the video has 4 frames"),
    ("sequence_past_end", "has no frame numbered 9"),
    ("twice", "frame 1 is given two references"),
])
def test_cli_bad_frame_references_exit_2_and_write_nothing(tinct_cli, tmp_path, case, message):
    _save(tmp_path / "in.png", grey_scene())
    _save(tmp_path / "grey.png", grey_scene())
    (tmp_path / "bad.jpg").write_bytes(b"not an image")
    blue = _save(tmp_path / "blue.png", solid(BLUE))
    write_clip(tmp_path / "film.mkv", scene_frames(4), rate=12)
    (tmp_path / "shot").mkdir()
    for i in range(3):
        _save(tmp_path / "shot" / f"f_{i}.png", grey_scene())
    video, out = tmp_path / "film.mkv", tmp_path / "out.mkv"
    args = {"photo": [tmp_path / "in.png", "-o", tmp_path / "out.png", "--frame-reference", f"{blue}@0"],
            "grey": [video, "-o", out, "--frame-reference", f"{tmp_path / 'grey.png'}@1"],
            "unreadable": [video, "-o", out, "--frame-reference", f"{tmp_path / 'bad.jpg'}@1"],
            "syntax": [video, "-o", out, "--frame-reference", f"{blue}"],
            "video_past_end": [video, "-o", out, "--frame-reference", f"{blue}@9"],
            "sequence_past_end": [str(tmp_path / "shot" / "f_%d.png"), "-o", out, "--frame-reference", f"{blue}@9"],
            "twice": [video, "-o", out, "--frame-reference", f"{blue}@1", "--frame-reference", f"{blue}@1"]}[case]
    r = tinct_cli("colorize", *args, "-q")
    assert r.rc == 2, r.err
    assert message.format(tmp=tmp_path) in r.err
    assert len([ln for ln in r.err.splitlines() if ln.startswith("tinct: ")]) <= 1
    assert not out.exists() and not (tmp_path / "out.png").exists()
