"""Audio into the colorized video: each input audio stream copied untouched when the output container can hold
it, else re-encoded to AAC (e.g. PCM from an AVI into MP4), else dropped with a one-line warning.

Whether a stream can be copied is tried on a throwaway in-memory container of the same format (FFmpeg only
says so when it writes the header), so the real output never sees a stream it would refuse half-way.
"""
from __future__ import annotations

import io
import logging

log = logging.getLogger("tinct.video")


def _header_ok(muxer: str, template=None, codec: str | None = None, rate: int | None = None) -> bool:
    """True if a ``muxer`` file can start with a stream copied from ``template`` (or encoded with ``codec``)."""
    import av
    try:
        with av.open(io.BytesIO(), "w", format=muxer) as probe:
            if template is not None:
                probe.add_stream_from_template(template)
            else:
                probe.add_stream(codec, rate=rate)
            probe.start_encoding()
        return True
    except (av.FFmpegError, ValueError, OSError, TypeError):
        return False


class AudioOut:
    """One input audio stream ``src`` in the output ``container``: ``mode`` is "copy" or "aac". ``write(packet)``
    muxes a demuxed packet of ``src`` (copied, or decoded and re-encoded); ``flush()`` ends an encoder."""

    def __init__(self, container, src, mode: str):
        self.container, self.src, self.mode = container, src, mode
        self.last_dts = None
        if mode == "copy":
            self.stream = container.add_stream_from_template(src)
        else:
            rate = src.codec_context.sample_rate or 48000
            self.stream = container.add_stream("aac", rate=rate)
            channels = src.codec_context.layout.nb_channels if src.codec_context.layout is not None else 2
            self.stream.layout = "mono" if channels == 1 else "stereo"  # more channels are mixed down

    def write(self, packet) -> None:
        if self.mode == "copy":
            if packet.dts is None or (self.last_dts is not None and packet.dts <= self.last_dts):
                return  # a muxer refuses non-increasing dts; one lost audio packet beats a lost video
            self.last_dts = packet.dts
            packet.stream = self.stream
            self.container.mux(packet)
            return
        for frame in packet.decode():
            for out in self.stream.encode(frame):
                self.container.mux(out)

    def flush(self) -> None:
        if self.mode == "aac":
            for out in self.stream.encode(None):
                self.container.mux(out)


def plan_audio(muxer: str, streams, source: str = "") -> list[tuple]:
    """``[(stream, "copy" | "aac")]`` for the input audio ``streams`` going into a ``muxer`` file; streams that
    fit neither way are left out, with a warning naming ``source``."""
    plan = []
    for a in streams:
        name = a.codec_context.name if a.codec_context is not None else "unknown codec"
        if a.codec_context is not None and _header_ok(muxer, template=a):
            plan.append((a, "copy"))
        elif a.codec_context is not None and a.codec_context.sample_rate and \
                _header_ok(muxer, codec="aac", rate=a.codec_context.sample_rate):
            log.warning("tinct: %s: warning: audio stream %d (%s) cannot go into %s as is: re-encoded to AAC",
                        source, a.index, name, muxer)
            plan.append((a, "aac"))
        else:
            log.warning("tinct: %s: warning: audio stream %d (%s) cannot go into %s: left out",
                        source, a.index, name, muxer)
    return plan
