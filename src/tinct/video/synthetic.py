"""Synthetic test clips from still photos, with known motion and a fixed colour truth: pan, zoom, shake and
hard cuts. Frames are crops of the still (bilinear resampling), uint8 RGB ``(h, w, 3)``."""
from __future__ import annotations

import math
from typing import Iterator

import numpy as np
from PIL import Image

MOTIONS = ("pan", "zoom", "shake")


def _crop(img: Image.Image, cx: float, cy: float, scale: float, size: tuple[int, int]) -> np.ndarray:
    """A ``size`` (w, h) view of ``img`` centred on (cx, cy) (fractions), covering ``scale`` of its width."""
    W, H = img.size
    w, h = size
    cw = W * scale
    ch = cw * h / w
    x0, y0 = cx * W - cw / 2, cy * H - ch / 2
    return np.asarray(img.transform((w, h), Image.EXTENT, (x0, y0, x0 + cw, y0 + ch), Image.BILINEAR))


def motion_frames(still: Image.Image, motion: str, n: int, size: tuple[int, int], seed: int = 0
                  ) -> Iterator[np.ndarray]:
    """``n`` frames of ``motion`` over ``still`` (any size; at least ~1.5x ``size`` looks best)."""
    still = still.convert("RGB")
    rng = np.random.default_rng(seed)
    for i in range(n):
        t = i / max(n - 1, 1)
        if motion == "pan":
            yield _crop(still, 0.35 + 0.3 * t, 0.5, 0.6, size)
        elif motion == "zoom":
            yield _crop(still, 0.5, 0.5, 0.8 - 0.35 * t, size)
        elif motion == "shake":
            dx, dy = rng.normal(0, 0.012, 2)
            yield _crop(still, 0.5 + dx, 0.5 + dy + 0.01 * math.sin(i), 0.7, size)
        else:
            raise ValueError(f"motion must be one of {MOTIONS}, not {motion!r}")


def clip(stills: list, n_per_shot: int, size: tuple[int, int], seed: int = 0) -> Iterator[np.ndarray]:
    """Shots of each still in turn (hard cuts between them), cycling through pan, zoom and shake."""
    for k, still in enumerate(stills):
        yield from motion_frames(still, MOTIONS[k % len(MOTIONS)], n_per_shot, size, seed + k)


def write_clip(path, frames, rate: int = 12, audio: bool = False, rotation: int = 0, pix_fmt: str = "yuv444p",
               crf: int = 10, codec: str = "libx264") -> int:
    """Write ``frames`` (uint8 RGB) to ``path`` with PyAV (optionally a sine-tone AAC stream and a display
    rotation tag). Returns the frame count."""
    import av
    n = 0
    with av.open(str(path), "w") as out:
        vs = None
        aus = None
        for rgb in frames:
            if vs is None:
                vs = out.add_stream(codec, rate=rate)
                vs.height, vs.width = rgb.shape[:2]
                vs.pix_fmt = pix_fmt
                vs.options = {"crf": str(crf)} if codec == "libx264" else {}
                if rotation:
                    vs.set_display_rotation(rotation)
                if audio:
                    aus = out.add_stream("aac", rate=16000)
                    aus.layout = "mono"
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = n
            for p in vs.encode(frame):
                out.mux(p)
            n += 1
        if vs is not None:
            for p in vs.encode(None):
                out.mux(p)
        if aus is not None:
            sr = 16000
            total = int(sr * n / rate)
            t = np.arange(total) / sr
            pcm = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None]
            for i in range(0, total, 1024):
                af = av.AudioFrame.from_ndarray(pcm[:, i:i + 1024], format="fltp", layout="mono")
                af.sample_rate = sr
                af.pts = i
                for p in aus.encode(af):
                    out.mux(p)
            for p in aus.encode(None):
                out.mux(p)
    return n
