"""Image sequences: numbered frames in (``shot/frame_%04d.png``, printf-style as in FFmpeg), colorized with the
same temporal stability as videos, out as a video file or as a folder of colorized frames (same names).

A pattern holds one ``%d`` (any number of digits) or ``%0Nd`` (exactly N digits) in its file name; the frames
are the existing files that match, in the order of their numbers (gaps allowed; files.sequences). Every frame
must have the first one's size. Frames are read one at a time (memory stays bounded).
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image

from ..files import sequences as files_sequences
from ..files.read import ImageError, open_image
from ..files.write import OutputError, save_image, write_atomic
from ..pipeline.hints import HintOutsideImage
from .frame_references import check_frames_in_clip
from .io import DEFAULT_CRF, MUXERS, VideoError, VideoWriter
from .stabilize import DEFAULT_LOOKAHEAD, DEFAULT_STABILITY, colorize_frames

DEFAULT_FPS = 24


def is_sequence_pattern(text) -> bool:
    """True when the file-name part of ``text`` holds exactly one ``%d`` / ``%0Nd`` field."""
    return files_sequences.is_sequence_pattern(text)


def sequence_files(pattern) -> list[Path]:
    """The existing files matching ``pattern``, sorted by frame number. Raises VideoError when none match."""
    try:
        return [f for _, f in files_sequences.numbered_frames(pattern)]
    except files_sequences.SequenceError as e:
        raise VideoError(str(e)) from None


def read_frames(files: list[Path], max_pixels: int) -> Iterator[np.ndarray]:
    """uint8 RGB frames ``(H, W, 3)`` of ``files``, one at a time (alpha dropped). Raises VideoError naming the
    frame that cannot be read or whose size differs from the first frame's."""
    size = None
    for f in files:
        try:
            img = open_image(f, max_pixels).convert("RGB")
        except ImageError as e:
            raise VideoError(f"frame {f.name}: {e}") from None
        if size is None:
            size = img.size
        elif img.size != size:
            raise VideoError(f"frame {f.name} is {img.size[0]}x{img.size[1]}, not {size[0]}x{size[1]} like the first")
        yield np.asarray(img)


def colorize_sequence(colorizer, pattern, dst, fps: float = DEFAULT_FPS, stability: float = DEFAULT_STABILITY,
                      hints=None, crf: int = DEFAULT_CRF, overwrite: bool = False, progress=None,
                      decode: str | None = None, temperature: float | None = None, size: int | None = None,
                      lookahead: int = DEFAULT_LOOKAHEAD, files: list | None = None,
                      skip_existing: bool = False, frame_references: dict | None = None, **reference) -> dict:
    """Colorize the frames matching ``pattern`` into ``dst``: a video file (.mp4, .mov, .mkv, .avi; H.264 at
    ``crf``, ``fps`` frames per second, written atomically) or a folder (colorized frames with the input
    names and formats, each written atomically; if any already exists and not ``overwrite``, nothing is
    written, unless ``skip_existing``: then the frames already there are kept and only the others written -
    every frame is still read, so the colours carried from frame to frame are those of a complete run).
    ``hints``: as ``colorize_video``, keyed by position in the sequence. ``files``: the frames, when already
    listed. ``frame_references``: ``{position: reference}`` as ``colorize_video``, keyed by position in the
    sequence. Other arguments as ``colorize_video``. Returns ``{"frames", "width", "height"}``."""
    files = sequence_files(pattern) if files is None else [Path(f) for f in files]
    dst = Path(dst)
    if not fps > 0:
        raise ValueError(f"fps must be > 0, not {fps}")
    if isinstance(hints, dict) and hints and max(hints) >= len(files):
        raise HintOutsideImage(f"a hint is given for frame position {max(hints)}, but the sequence has "
                               f"{len(files)} frames")
    check_frames_in_clip(frame_references, len(files), "the sequence")
    opts = dict(stability=stability, hints=hints, decode=decode, temperature=temperature, size=size,
                lookahead=lookahead, frame_references=frame_references, **reference)
    bar = progress(len(files)) if progress else None
    result = {"frames": 0}

    def frames_out() -> Iterator[np.ndarray]:
        for out in colorize_frames(colorizer, read_frames(files, colorizer.max_pixels), **opts):
            result.update(frames=result["frames"] + 1, width=out.shape[1], height=out.shape[0])
            if bar is not None:
                bar.update(1)
            yield out
    try:
        if dst.suffix.lower() in MUXERS:
            _write_video(frames_out(), dst, MUXERS[dst.suffix.lower()], fps, crf, overwrite)
        else:
            existing = {f.name for f in files if (dst / f.name).exists()} if not overwrite else set()
            if existing and not skip_existing:
                name = next(f.name for f in files if f.name in existing)
                raise OutputError(f"{dst / name} already exists (use --overwrite to replace it)")
            if skip_existing and len(existing) == len(files):
                return result
            for f, out in zip(files, frames_out()):
                if f.name not in existing:
                    save_image(Image.fromarray(out), dst / f.name, overwrite=overwrite)
    finally:
        if bar is not None and hasattr(bar, "close"):
            bar.close()
    return result


def _write_video(frames: Iterator[np.ndarray], dst: Path, muxer: str, fps: float, crf: int, overwrite: bool):
    import av
    rate = Fraction(fps).limit_denominator(1001)

    def write(fileobj):
        writer = None
        try:
            for i, rgb in enumerate(frames):
                if writer is None:
                    writer = VideoWriter(fileobj, muxer, rgb.shape[1], rgb.shape[0], rate, 1 / rate, (), crf)
                writer.write(rgb, i)
            writer.close()
        except BaseException:
            VideoWriter.abort(writer)
            raise
    try:
        write_atomic(dst, write, overwrite)
    except av.FFmpegError as e:
        raise VideoError(f"cannot write video: {str(e).splitlines()[0]}") from None
