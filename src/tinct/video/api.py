"""``colorize_video``: one video file in, one colorized video file out, streamed and written atomically."""
from __future__ import annotations

from pathlib import Path

from ..files.write import OutputError, write_atomic
from ..pipeline.hints import HintOutsideImage
from .frame_references import check_frames_in_clip, frame_options
from .io import DEFAULT_CRF, MUXERS, VideoError, VideoReader, VideoWriter
from .stabilize import DEFAULT_LOOKAHEAD, DEFAULT_STABILITY, TemporalColorizer, hints_by_frame


def colorize_video(colorizer, src, dst, stability: float = DEFAULT_STABILITY, hints=None, crf: int = DEFAULT_CRF,
                   overwrite: bool = False, progress=None, decode: str | None = None,
                   temperature: float | None = None, size: int | None = None, max_frames: int | None = None,
                   lookahead: int = DEFAULT_LOOKAHEAD, frame_references: dict | None = None, **reference) -> dict:
    """Colorize the video ``src`` into ``dst`` (.mp4, .mov, .mkv or .avi): same size (upright), timestamps,
    frame rate and duration; audio streams copied untouched; H.264 at ``crf`` (0-51, lower is better).
    ``hints``: ``{frame: [(x, y, (r, g, b)[, radius]), ...]}`` or a list for frame 0; a frame past the end
    raises HintOutsideImage (nothing written). ``lookahead``: frames
    of the future the stabiliser smooths over (see ``tinct.video.stabilize``). ``progress(n_total)``
    returns an object with ``update(1)`` (e.g. a tqdm factory) or is None. Memory stays bounded: frames are
    decoded, colorized and encoded one at a time (``lookahead`` more held). ``dst`` is written under a
    temporary name and linked into place when complete; an existing ``dst`` is never replaced unless
    ``overwrite``. ``reference=``, ``palette=``, ``reference_strength=``: reference colours for the whole clip
    (``Colorizer.options``); ``frame_references`` ``{frame: reference}``: a reference steering from that frame
    until the next (video/frame_references.py); a frame past the end raises FrameOutsideClip (nothing written).
    Raises VideoError / OutputError (one-line messages). Returns ``{"frames", "width",
    "height", "cuts", "rotation"}``."""
    src, dst = Path(src), Path(dst)
    muxer = MUXERS.get(dst.suffix.lower())
    if muxer is None:
        raise OutputError(f"cannot write {dst.suffix or 'files without an extension'} video: "
                          f"use one of {', '.join(sorted(MUXERS))}")
    if not 0 <= crf <= 51:
        raise ValueError(f"crf must be in 0..51, not {crf}")
    opts = colorizer.options(decode, temperature, size, **reference)   # reference colours: Colorizer.options
    per_frame = frame_options(colorizer, frame_references, decode, temperature, size, **reference)
    hints = hints_by_frame(hints)
    last_hint = max(hints, default=-1)
    result: dict = {}

    def write(fileobj):
        with VideoReader(src) as reader:
            info = reader.info
            if info.width * info.height > colorizer.max_pixels:
                raise VideoError(f"frames are {info.width}x{info.height}, over the limit of "
                                 f"{colorizer.max_pixels} pixels")
            state = TemporalColorizer(colorizer, opts, stability, hints, lookahead, per_frame)
            bar = progress(info.frames or None) if progress else None
            writer = None
            pending_audio: list = []

            def on_audio(packet):
                if writer is None:
                    pending_audio.append(packet)  # before the first video frame: at most a few packets
                else:
                    writer.write_audio(packet)

            def emit(ready):
                for rgb, pts, ab in ready:
                    writer.write(colorizer.recombine(rgb, ab), pts)
                    if bar is not None:
                        bar.update(1)

            try:
                for n, (pts, tb, rgb) in enumerate(reader.demux(on_audio if reader.audio else None)):
                    if max_frames is not None and n >= max_frames:
                        break
                    if writer is None:
                        h, w = rgb.shape[:2]
                        writer = VideoWriter(fileobj, muxer, w, h, info.rate, tb, reader.audio, crf)
                        for p in pending_audio:
                            writer.write_audio(p)
                        pending_audio.clear()
                    emit(state.push(rgb, pts))
                if writer is None:
                    raise VideoError("no frames")
                if max_frames is None and last_hint > n:    # before the output is complete: nothing written
                    raise HintOutsideImage(f"a hint is given for frame {last_hint}, but the video has {n + 1} "
                                           f"frames (0 to {n})")
                if max_frames is None:
                    check_frames_in_clip(per_frame, n + 1)
                emit(state.finish())
                writer.close()
            except Exception:
                VideoWriter.abort(writer)
                raise
            finally:
                if bar is not None and hasattr(bar, "close"):
                    bar.close()
            result.update(frames=writer.frames, width=writer.stream.width, height=writer.stream.height,
                          cuts=list(state.cuts), rotation=reader.rotation)

    import av
    try:
        write_atomic(dst, write, overwrite)
    except av.FFmpegError as e:
        raise VideoError(f"cannot write video: {str(e).splitlines()[0]}") from None
    return result
