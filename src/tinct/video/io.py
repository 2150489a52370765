"""Video in and out through PyAV (FFmpeg's libraries): streamed decoding, H.264 encoding, audio remuxed untouched.

Frames are yielded one at a time as upright uint8 RGB ``(H, W, 3)`` (the display matrix, e.g. a phone's
``rotate=90``, is applied, so the output is written upright with no rotation tag, like photos' EXIF
orientation). Each output frame keeps its input frame's timestamp (pts, in the input stream's time base), so
variable frame rates and the duration are kept exactly. Output video is H.264 (libx264, ``crf``); yuv420p for
even sizes, yuv444p (H.264 High 4:4:4) when a side is odd, because 4:2:0 cannot hold an odd size and the
output must keep the input's size exactly.

Damaged or unusual containers: a stream whose frame size changes mid-way is scaled back to its first frame's
size; timestamps that do not increase (duplicates) are moved just after the previous frame; AVI output is
numbered at the input's frame rate (AVI holds no timestamps); audio is copied, or re-encoded to AAC where the
output container cannot hold it (``tinct.video.audio``); subtitle streams are not carried over, with a one-line
warning (logger ``tinct.video``). Every failure is a VideoError naming the cause, never the temporary file.
"""
from __future__ import annotations

import logging

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from .audio import AudioOut, plan_audio

log = logging.getLogger("tinct.video")

VIDEO_EXTS = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v")
# output container for each output extension; H.264 does not go into WebM, so .webm inputs default to .mkv
MUXERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".avi": "avi"}
DEFAULT_CRF = 18


class VideoError(ValueError):
    """A video that cannot be read or written; the message is one line naming the cause."""


def is_video_path(path) -> bool:
    return Path(path).suffix.lower() in VIDEO_EXTS


def out_suffix(src: Path) -> str:
    """The output extension for an input: its own when it can hold H.264, else .mkv."""
    s = src.suffix.lower()
    return s if s in MUXERS else ".mkv"


def _why(e: Exception) -> str:
    """FFmpeg's own reason, without its error number and the file name (the CLI names the file; a temporary
    output name would only mislead); FFmpeg's last log line when it says more, e.g. which rule was broken."""
    text = getattr(e, "strerror", None) or str(e).strip() or type(e).__name__
    text = text.splitlines()[0]
    detail = str(e).split("last error log:", 1)[1].strip() if "last error log:" in str(e) else ""
    if detail:
        text = f"{text} ({detail.split('] ', 1)[-1].strip()})"
    return text[:1].lower() + text[1:]


@dataclass
class VideoInfo:
    width: int              # upright (after rotation)
    height: int
    rate: Fraction | None   # average frame rate (frames / s), None if unknown
    frames: int             # frame count from the header (0 if unknown)
    rotation: int           # degrees counter-clockwise applied to make frames upright (multiple of 90)
    audio: int              # number of audio streams (copied)


class VideoReader:
    """Open ``path`` and stream its first video stream's frames (``frames()``) and every packet of its audio
    streams (``audio_packets`` collected while demuxing; see ``demux``). Use as a context manager."""

    def __init__(self, path):
        import av
        self.path = Path(path)
        try:
            self.container = av.open(str(path), "r")
        except (av.FFmpegError, OSError) as e:
            raise VideoError(f"cannot read video: {_why(e)}") from None
        if not self.container.streams.video:
            self.container.close()
            raise VideoError("no video stream")
        self.video = self.container.streams.video[0]
        ctx = self.video.codec_context
        if ctx is None:  # e.g. a truncated MP4 whose header names no codec
            self.close()
            raise VideoError("cannot read video: its video stream has no known codec (truncated or unsupported)")
        self.video.thread_type = "AUTO"
        self.audio = [a for a in self.container.streams.audio if a.codec_context is not None]
        self.rotation = 0
        subtitles = len(self.container.streams.subtitles)
        if subtitles:
            log.warning("tinct: %s: warning: %d subtitle stream%s not carried over (only video and audio are written)",
                        self.path, subtitles, " is" if subtitles == 1 else "s are")
        w, h = ctx.width, ctx.height
        if not w or not h:
            self.close()
            raise VideoError("video stream has no frame size")
        self.info = VideoInfo(w, h, self.video.average_rate, int(self.video.frames or 0), 0, len(self.audio))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        self.container.close()

    def demux(self, on_audio=None):
        """Yield ``(pts, time_base, rgb)`` for each decoded video frame, upright; audio packets are passed to
        ``on_audio(packet)`` as they are read (interleaved with the video, so memory stays bounded)."""
        import av
        streams = [self.video] + (self.audio if on_audio else [])
        n = 0
        last_pts = None
        first_size = None   # (width, height) of the first decoded frame, before rotation
        try:
            for packet in self.container.demux(streams):
                if packet.stream.type == "audio":
                    if packet.dts is not None:
                        on_audio(packet)
                    continue
                for frame in packet.decode():
                    if first_size is None:
                        first_size = (frame.width, frame.height)
                    if (frame.width, frame.height) != first_size:  # a mid-stream size change: scale back
                        frame = frame.reformat(width=first_size[0], height=first_size[1])
                    rgb = frame.to_ndarray(format="rgb24")
                    k = int(round((frame.rotation or 0) / 90)) % 4
                    if k:
                        rgb = np.ascontiguousarray(np.rot90(rgb, k))
                    if n == 0:
                        self.rotation = k * 90
                        self.info.rotation = k * 90
                        self.info.height, self.info.width = rgb.shape[:2]
                    pts = frame.pts
                    if pts is None:
                        pts = 0 if last_pts is None else last_pts + 1
                    last_pts = pts
                    n += 1
                    yield pts, frame.time_base or self.video.time_base, rgb
        except (av.FFmpegError, av.error.DecoderNotFoundError) as e:
            raise VideoError(f"cannot decode video (frame {n}): {_why(e)}") from None
        if n == 0:
            raise VideoError("no frames could be decoded")


class VideoWriter:
    """Encode upright RGB frames as H.264 into ``fileobj`` (container ``muxer``), with the ``audio`` streams
    (copied untouched where the container can hold them, else re-encoded to AAC, see ``tinct.video.audio``).
    ``time_base`` is the input's, so each frame keeps its input timestamp; a timestamp that does not increase
    (duplicates, a broken AVI) is moved just after the previous one. AVI, which has no timestamps, gets
    ``rate`` frames per second, frames numbered in order, and no B-frames. Errors are VideoError."""

    def __init__(self, fileobj, muxer: str, width: int, height: int, rate, time_base, audio=(), crf: int = DEFAULT_CRF,
                 preset: str = "veryfast"):
        import av
        self.container = av.open(fileobj, "w", format=muxer)
        self.numbered = muxer == "avi"   # constant frame rate, pts = frame index
        rate = rate or Fraction(25)
        out_tb = 1 / Fraction(rate) if self.numbered else time_base
        try:
            self.stream = self.container.add_stream("libx264", rate=rate)
            self.stream.width, self.stream.height = width, height
            self.pix_fmt = "yuv420p" if width % 2 == 0 and height % 2 == 0 else "yuv444p"
            self.stream.pix_fmt = self.pix_fmt
            self.stream.time_base = out_tb
            self.stream.codec_context.time_base = out_tb
            self.stream.options = {"crf": str(int(crf)), "preset": preset, **({"bf": "0"} if self.numbered else {})}
            source = audio[0].container.name if audio else ""
            self.audio = {a.index: AudioOut(self.container, a, mode) for a, mode in plan_audio(muxer, audio, source)}
        except av.FFmpegError as e:
            self.container.close()
            raise VideoError(f"cannot start the {muxer} output: {_why(e)}") from None
        except Exception:
            self.container.close()
            raise
        self.frames = 0
        self.last_pts = None

    def _mux(self, packets) -> None:
        import av
        try:
            for packet in packets:
                self.container.mux(packet)
        except av.FFmpegError as e:
            raise VideoError(f"cannot write video: {_why(e)}") from None

    def write_audio(self, packet) -> None:
        import av
        out = self.audio.get(packet.stream.index)
        if out is not None:
            try:
                out.write(packet)
            except av.FFmpegError as e:
                raise VideoError(f"cannot write audio: {_why(e)}") from None

    def write(self, rgb: np.ndarray, pts: int) -> None:
        import av
        if self.numbered:
            pts = self.frames
        elif self.last_pts is not None and pts <= self.last_pts:
            pts = self.last_pts + 1
        self.last_pts = pts
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24").reformat(format=self.pix_fmt)
        frame.pts = pts
        frame.time_base = self.stream.codec_context.time_base
        self._mux(self.stream.encode(frame))
        self.frames += 1

    def close(self) -> None:
        """Flush the encoders and finish the file."""
        import av
        self._mux(self.stream.encode(None))
        try:
            for out in self.audio.values():
                out.flush()
            self.container.close()
        except av.FFmpegError as e:
            raise VideoError(f"cannot write video: {_why(e)}") from None

    @staticmethod
    def abort(writer) -> None:
        """After an error: close ``writer``'s container (if there is a writer) without raising; the caller's
        atomic write then discards the partial file."""
        if writer is not None:
            try:
                writer.container.close()
            except Exception:
                pass
