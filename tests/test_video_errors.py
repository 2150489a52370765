"""Video container trouble (issue 25, cases 16 and 17): a truncated MP4 without a codec, a mid-stream size
change, duplicate timestamps, PCM audio into MP4, AVI frame rate and count, subtitles."""
from __future__ import annotations

import io
import logging
import os
from fractions import Fraction

import numpy as np
import pytest
from PIL import Image

av = pytest.importorskip("av")
pytest.importorskip("cv2")

from tinct.video import colorize_video  # noqa: E402
from tinct.video.synthetic import motion_frames, write_clip  # noqa: E402


def frames(n, size=(64, 48), seed=0):
    rng = np.random.default_rng(seed)
    still = Image.fromarray(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8))
    return list(motion_frames(still, "pan", n, size))


def decoded(path):
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        out = [(f.pts, f.width, f.height) for f in c.decode(v)]
        return out, v, [s.codec_context.name for s in c.streams.audio]


def no_temps(folder):
    return not [f for f in os.listdir(folder) if f.startswith(".tinct")]


def _h264(frames_, w, h) -> bytes:
    buf = io.BytesIO()
    with av.open(buf, "w", format="h264") as out:
        s = out.add_stream("libx264", rate=12)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        for i, f in enumerate(frames_):
            vf = av.VideoFrame.from_ndarray(f, format="rgb24")
            vf.pts = i
            out.mux(s.encode(vf))
        out.mux(s.encode(None))
    return buf.getvalue()


def _with_pcm(path, codec, fmt, dtype, muxer=None):
    """12 frames of H.264 (with B-frames) and a second of silence in ``codec``."""
    with av.open(str(path), "w", format=muxer) as out:
        s = out.add_stream("libx264", rate=12)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        a = out.add_stream(codec, rate=16000)
        a.layout = "mono"
        for i, f in enumerate(frames(12)):
            vf = av.VideoFrame.from_ndarray(f, format="rgb24")
            vf.pts = i
            out.mux(s.encode(vf))
        out.mux(s.encode(None))
        for i in range(0, 16000, 1024):
            af = av.AudioFrame.from_ndarray(np.zeros((1, 1024), dtype), format=fmt, layout="mono")
            af.sample_rate, af.pts = 16000, i
            out.mux(a.encode(af))
        out.mux(a.encode(None))


def test_truncated_mp4_without_codec_is_one_line_naming_the_file(tmp_path, tinct_cli):
    good = tmp_path / "good.mp4"
    write_clip(good, frames(12), crf=30)
    data = good.read_bytes()
    bad = tmp_path / "cut.mp4"
    for k in range(len(data) - 1, len(data) // 2, -1):  # a cut that leaves a video stream with no codec
        bad.write_bytes(data[:k])
        try:
            with av.open(str(bad)) as c:
                if c.streams.video and c.streams.video[0].codec_context is None:
                    break
        except av.FFmpegError:
            pass
    else:
        pytest.skip("no cut of this clip leaves a codec-less video stream with this FFmpeg")
    r = tinct_cli("colorize", bad, "-o", tmp_path / "out.mp4", "-q")
    assert r.rc != 0 and len(r.err.strip().splitlines()) == 1, r.err
    assert "cut.mp4" in r.err and "truncated" in r.err and "NoneType" not in r.err, r.err
    assert not (tmp_path / "out.mp4").exists() and no_temps(tmp_path)


def test_mid_stream_size_change_is_scaled_to_the_first_frame(tmp_path, colorizer):
    raw = tmp_path / "two.h264"
    raw.write_bytes(_h264(frames(6), 64, 48) + _h264(frames(6, (80, 64), 1), 80, 64))
    src = tmp_path / "two.mkv"
    with av.open(str(raw), format="h264") as inp, av.open(str(src), "w") as out:
        o = out.add_stream_from_template(inp.streams.video[0])
        o.time_base = Fraction(1, 12)
        for i, p in enumerate(p for p in inp.demux(inp.streams.video[0]) if p.size):
            p.stream, p.pts, p.dts, p.time_base = o, i, i, Fraction(1, 12)
            out.mux(p)
    assert {(w, h) for _, w, h in decoded(src)[0]} == {(64, 48), (80, 64)}
    r = colorize_video(colorizer, src, tmp_path / "out.mp4")
    got, _, _ = decoded(tmp_path / "out.mp4")
    assert r["frames"] == len(got) == 12 and {(w, h) for _, w, h in got} == {(64, 48)}


def test_duplicate_timestamps_are_retimed(tmp_path, colorizer):
    src = tmp_path / "dup.mkv"
    with av.open(str(src), "w") as out:
        s = out.add_stream("mjpeg", rate=12)
        s.width, s.height, s.pix_fmt = 64, 48, "yuvj420p"
        s.time_base = Fraction(1, 12)
        for i, (f, t) in enumerate(zip(frames(6), (0, 1, 1, 2, 3, 3))):
            vf = av.VideoFrame.from_ndarray(f, format="rgb24")
            vf.pts, vf.time_base = i, Fraction(1, 12)
            for p in s.encode(vf):
                p.pts = p.dts = t
                out.mux(p)
    src_pts = [p for p, _, _ in decoded(src)[0]]
    assert len(src_pts) == 6 and len(set(src_pts)) == 4
    colorize_video(colorizer, src, tmp_path / "out.mp4")
    got = [p for p, _, _ in decoded(tmp_path / "out.mp4")[0]]
    assert len(got) == 6 and all(b > a for a, b in zip(got, got[1:]))


def test_pcm_audio_into_mp4(tmp_path, colorizer, caplog):
    """PCM from an AVI (whose H.264 B-frames come back with out-of-order timestamps) into MP4: copied where MP4
    can hold it, re-encoded to AAC (with a warning) where it cannot."""
    s16 = tmp_path / "s16.avi"
    _with_pcm(s16, "pcm_s16le", "s16", np.int16)
    colorize_video(colorizer, s16, tmp_path / "s16.mp4")
    got, v, audio = decoded(tmp_path / "s16.mp4")
    assert len(got) == 12 and audio == ["pcm_s16le"]
    u8 = tmp_path / "u8.avi"
    _with_pcm(u8, "pcm_u8", "u8", np.uint8)
    with caplog.at_level(logging.WARNING, "tinct.video"):
        colorize_video(colorizer, u8, tmp_path / "u8.mp4")
    got, v, audio = decoded(tmp_path / "u8.mp4")
    assert len(got) == 12 and audio == ["aac"]
    assert any("u8.avi" in m and "pcm_u8" in m and "AAC" in m for m in caplog.messages), caplog.messages
    with av.open(str(tmp_path / "u8.mp4")) as c:
        seconds = sum(f.samples for f in c.decode(audio=0)) / 16000
    assert 0.9 <= seconds <= 1.2   # the second of audio is all there
    assert no_temps(tmp_path)


def test_avi_output_has_the_real_frame_rate_and_count(tmp_path, colorizer):
    src = tmp_path / "in.mp4"
    write_clip(src, frames(12), rate=12, crf=30)
    colorize_video(colorizer, src, tmp_path / "out.avi")
    got, v, _ = decoded(tmp_path / "out.avi")
    assert len(got) == 12 and v.frames == 12 and v.average_rate == 12
    assert [p for p, _, _ in got] == sorted(p for p, _, _ in got)  # no B-frames: timestamps in order


def test_subtitles_not_carried_over_are_named_in_a_warning(tmp_path, colorizer, caplog):
    srt = tmp_path / "subs.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:00,500\nhello\n\n")
    src = tmp_path / "film.mkv"
    with av.open(str(srt)) as sin, av.open(str(src), "w") as out:
        s = out.add_stream("libx264", rate=12)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        so = out.add_stream_from_template(sin.streams.subtitles[0])
        for i, f in enumerate(frames(6)):
            vf = av.VideoFrame.from_ndarray(f, format="rgb24")
            vf.pts = i
            out.mux(s.encode(vf))
        out.mux(s.encode(None))
        for p in sin.demux(sin.streams.subtitles[0]):
            if p.dts is not None:
                p.stream = so
                out.mux(p)
    with caplog.at_level(logging.WARNING, "tinct.video"):
        r = colorize_video(colorizer, src, tmp_path / "out.mkv")
    assert r["frames"] == 6
    warned = [m for m in caplog.messages if "subtitle" in m]
    assert len(warned) == 1 and "film.mkv" in warned[0] and "not carried over" in warned[0], caplog.messages
