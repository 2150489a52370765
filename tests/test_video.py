"""Video: CLI and API output (size, fps, frames, duration, audio copied), bad inputs, stability, hints."""
from __future__ import annotations

import itertools
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

av = pytest.importorskip("av")
pytest.importorskip("cv2")

from helpers import colourful_image, hint_follower  # noqa: E402
from tinct.video import colorize_frames, colorize_video  # noqa: E402
from tinct.video.evaluate import _lab, evaluate_clip  # noqa: E402
from tinct.video.synthetic import clip, motion_frames, write_clip  # noqa: E402


def stills(n, size=(160, 120), seed=0):
    rng = np.random.default_rng(seed)
    return [Image.fromarray(colourful_image(rng, *size)) for _ in range(n)]


def probe(path):
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        pts = [f.pts for f in c.decode(v)]
    with av.open(str(path)) as c:
        audio = [bytes(p) for p in c.demux(c.streams.audio) if p.size] if c.streams.audio else []
        v = c.streams.video[0]
        return dict(w=v.codec_context.width, h=v.codec_context.height, rate=v.average_rate, frames=len(pts),
                    pts_s=[float(p * v.time_base) for p in pts], audio=audio, n_audio=len(c.streams.audio))


def no_temps(folder):
    return not [f for f in os.listdir(folder) if f.startswith(".tinct")]


def test_cli_keeps_size_fps_frames_duration_and_copies_audio(tmp_path, tinct_cli):
    src = tmp_path / "film.mp4"
    write_clip(src, clip(stills(2), 5, (64, 48)), rate=12, audio=True)
    r = tinct_cli("colorize", src, "-q")
    assert r.rc == 0, r.err
    out = tmp_path / "film_color.mp4"
    a, b = probe(src), probe(out)
    assert (b["w"], b["h"], b["rate"], b["frames"]) == (a["w"], a["h"], a["rate"], a["frames"]) == (64, 48, 12, 10)
    assert b["pts_s"] == a["pts_s"]  # same timestamps, so same duration
    assert b["n_audio"] == 1 and b["audio"] == a["audio"]  # packets copied byte for byte
    with av.open(str(out)) as c:
        assert c.streams.video[0].codec_context.name == "h264"
        f = next(c.decode(video=0))
        assert f.format.name == "yuv420p"
        rgb = f.to_ndarray(format="rgb24").astype(int)
    assert np.abs(rgb[..., 0] - rgb[..., 2]).mean() > 2  # it has colour
    assert no_temps(tmp_path)


def test_odd_size_kept_and_rotation_applied(tmp_path, colorizer):
    odd = tmp_path / "odd.mkv"
    write_clip(odd, motion_frames(stills(1)[0], "pan", 4, (85, 47)))
    r = colorize_video(colorizer, odd, tmp_path / "odd_out.mkv")
    p = probe(tmp_path / "odd_out.mkv")
    assert (p["w"], p["h"], p["frames"], r["frames"]) == (85, 47, 4, 4)
    rot = tmp_path / "rot.mp4"
    write_clip(rot, motion_frames(stills(1)[0], "pan", 3, (64, 48)), rotation=90)
    r = colorize_video(colorizer, rot, tmp_path / "rot_out.mp4")
    assert r["rotation"] in (90, 270)
    with av.open(str(tmp_path / "rot_out.mp4")) as c:
        f = next(c.decode(video=0))
        assert (f.width, f.height) == (48, 64) and not f.rotation  # written upright, no rotation tag


def test_variable_frame_rate_timestamps_kept(tmp_path, colorizer):
    src = tmp_path / "vfr.mkv"
    frames = list(motion_frames(stills(1)[0], "shake", 5, (48, 32)))
    with av.open(str(src), "w") as out:
        vs = out.add_stream("libx264", rate=25)
        vs.width, vs.height, vs.pix_fmt = 48, 32, "yuv420p"
        vs.codec_context.time_base = vs.time_base = __import__("fractions").Fraction(1, 1000)
        for rgb, t in zip(frames, (0, 40, 200, 240, 900)):
            f = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            f.pts = t
            for p in vs.encode(f):
                out.mux(p)
        for p in vs.encode(None):
            out.mux(p)
    colorize_video(colorizer, src, tmp_path / "vfr_out.mkv", stability=0.5)
    assert probe(tmp_path / "vfr_out.mkv")["pts_s"] == probe(src)["pts_s"] == [0, 0.04, 0.2, 0.24, 0.9]


def test_no_overwrite_and_atomic(tmp_path, tinct_cli):
    src = tmp_path / "a.mov"
    write_clip(src, motion_frames(stills(1)[0], "zoom", 3, (48, 32)))
    dst = tmp_path / "out.mp4"
    dst.write_bytes(b"keep me")
    r = tinct_cli("colorize", src, "-o", dst, "-q")
    assert r.rc == 1 and "already exists" in r.err and dst.read_bytes() == b"keep me"
    assert tinct_cli("colorize", src, "-o", dst, "-q", "--overwrite", "--crf", "30").rc == 0
    assert probe(dst)["frames"] == 3 and no_temps(tmp_path)
    assert tinct_cli("colorize", src, "-o", dst, "-q", "--skip-existing").rc == 0


def _bad_inputs(folder: Path, good: Path) -> dict:
    data = good.read_bytes()
    bad = {"corrupt.mp4": os.urandom(4000), "truncated.mp4": data[: len(data) // 3], "empty.mp4": b""}
    for name, b in bad.items():
        (folder / name).write_bytes(b)
    with av.open(str(folder / "audio_only.mkv"), "w") as out:  # no video stream
        s = out.add_stream("aac", rate=16000)
        s.layout = "mono"
        f = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        f.sample_rate, f.pts = 16000, 0
        for p in list(s.encode(f)) + list(s.encode(None)):
            out.mux(p)
    with av.open(str(folder / "zero_frames.mp4"), "w") as out:  # a video stream with no frames
        s = out.add_stream("libx264", rate=10)
        s.width, s.height, s.pix_fmt = 32, 32, "yuv420p"
        out.start_encoding()
    return {**bad, "audio_only.mkv": 0, "zero_frames.mp4": 0}


def test_bad_inputs_one_line_error_nothing_written(tmp_path, tinct_cli):
    good = tmp_path / "src" / "good.mp4"
    good.parent.mkdir()
    write_clip(good, motion_frames(stills(1)[0], "pan", 12, (64, 48)), crf=30)
    names = _bad_inputs(good.parent, good)
    out = tmp_path / "out"
    r = tinct_cli("colorize", good.parent, "-o", out, "-q")
    assert r.rc == 1
    lines = r.error_lines()
    assert len(lines) == len(names), r.err
    for name in names:
        assert sum(name in ln for ln in lines) == 1, (name, r.err)
    assert all("Error" not in ln and "[" not in ln for ln in lines), r.err  # "tinct: FILE: cause", no codes
    assert sorted(os.listdir(out)) == ["good.mp4"]  # the rest of the batch went on; nothing half-written
    assert probe(out / "good.mp4")["frames"] == 12


def test_frames_are_streamed(colorizer):
    """colorize_frames yields each frame having read at most ``lookahead`` + 1 frames beyond it (memory does not
    grow with length; the one more is the frame whose network runs beside the writing); per-frame colorization
    reads one ahead."""
    still = stills(1)[0]

    def endless(seen):
        for i in itertools.count():
            seen.append(i)
            yield np.asarray(still.resize((40, 32)))
    for stability, lookahead, ahead in [(0.6, 2, 3), (0.6, 0, 1), (0.0, 2, 1)]:
        seen = []
        outs = list(itertools.islice(colorize_frames(colorizer, endless(seen), stability, lookahead=lookahead), 3))
        assert len(outs) == 3 and outs[0].shape == (32, 40, 3) and len(seen) == 3 + ahead


@pytest.mark.parametrize("n", [0, 1, 2, 3, 7])
def test_every_frame_comes_out_once_in_order(colorizer, n):
    """With look-ahead, short clips and clips with a cut still give one output per input, in order (the
    output keeps each input's lightness)."""
    frames = [np.asarray(s.resize((48, 32))) for s in stills(2, seed=3)]
    ins = [(frames[i >= 4] // 2 + 12 * i).astype(np.uint8) for i in range(n)]
    outs = list(colorize_frames(colorizer, iter(ins), 0.6, lookahead=2))
    assert len(outs) == n
    light = lambda a: _lab(a)[0, 0].numpy()  # noqa: E731
    for i, o in enumerate(outs):
        errs = [np.abs(light(o) - light(f)).mean() for f in ins]
        assert int(np.argmin(errs)) == i


def test_zoom_keeps_accuracy(colorizer):
    """A zoom (predictions drift as the subject grows): smoothing over past and next frames does not lag, so
    rebalanced AuC stays >= per-frame's - 0.5 and PSNR >= - 0.3 dB, with flicker excess <= 50 %."""
    im = Image.open(sorted(Path(__file__).parents[1].glob("examples/debwall_*.jpg"))[0])
    res = evaluate_clip(colorizer, lambda: motion_frames(im, "zoom", 10, (128, 96), 1), stabilities=(0.0, 0.6))
    per, stab = res["s=0"], res["s=0.6"]
    assert stab["flicker_excess"] <= 0.5 * per["flicker_excess"]
    assert stab["auc_rebalanced"] >= per["auc_rebalanced"] - 0.5
    assert stab["psnr"] >= per["psnr"] - 0.3


def test_stability_cuts_flicker_and_keeps_accuracy(colorizer):
    """On a synthetic shake + pan clip: flicker excess <= 50 % of per-frame's, rebalanced AuC >= -0.5, PSNR
    >= -0.3 dB (the issue's criteria, on a tiny clip)."""
    ims = [Image.open(p) for p in sorted(Path(__file__).parents[1].glob("examples/debwall_*.jpg"))[:2]]
    res = evaluate_clip(colorizer, lambda: clip(ims, 5, (64, 48)), stabilities=(0.0, 0.8))
    per, stab = res["s=0"], res["s=0.8"]
    assert per["flicker_excess"] > 0.5  # per-frame colorization does flicker
    assert stab["flicker_excess"] <= 0.5 * per["flicker_excess"]
    assert stab["auc_rebalanced"] >= per["auc_rebalanced"] - 0.5
    assert stab["psnr"] >= per["psnr"] - 0.3


def test_hints_follow_motion_and_stop_at_cut(tmp_path):
    """With a stand-in network that paints exactly the hinted colour: a hint on frame 2 appears from frame 2,
    follows the pan, and is gone after the cut."""
    c = hint_follower()
    texture = np.random.default_rng(0).integers(0, 255, (10, 16), dtype=np.uint8)
    im = Image.fromarray(texture).resize((320, 200), Image.BICUBIC).convert("RGB")
    shot1 = list(motion_frames(im, "pan", 6, (64, 48)))
    shot2 = [np.full((48, 64, 3), 200, np.uint8)] * 2
    hints = {2: [(20, 24, (255, 0, 0), 4)]}
    outs = list(colorize_frames(c, shot1 + shot2, stability=0.0, hints=hints))
    red = [np.argwhere(o[..., 0].astype(int) - o[..., 1] > 40) for o in outs]
    assert not len(red[0]) and not len(red[1])
    assert all(len(r) for r in red[2:6])
    xs = [r[:, 1].mean() for r in red[2:6]]
    assert xs[-1] < xs[0] - 3  # the view pans right, so the hinted point moves left in the frame
    assert not len(red[6]) and not len(red[7])


@pytest.mark.parametrize("scale", [0.7, 4.0, 60.0])  # sub-pixel, a few pixels, mostly out of the frame
def test_sparse_warp_equals_grid_sample(scale):
    """The stabiliser's sparse bicubic warp (one matrix per flow, all bins at once) is grid_sample's bicubic warp
    with border padding, including taps clamped at the edges."""
    import torch

    from tinct.video.flow import warp, warp_matrix
    g = torch.Generator().manual_seed(int(scale * 10))
    h, w, q = 13, 21, 37
    x = torch.randn(1, q, h, w, generator=g)
    flow = torch.randn(1, 2, h, w, generator=g) * scale
    want, _ = warp(x, flow, "bicubic")
    got = (warp_matrix(flow) @ x[0].flatten(1).T).T.reshape(1, q, h, w)
    assert torch.allclose(got, want, atol=1e-4), (got - want).abs().max()
    assert (got - x).abs().max() > 0.1  # the flow moved something: not an identity
