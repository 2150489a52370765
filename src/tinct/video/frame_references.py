"""Frame references (issue 27): the colourist's keyframe workflow. ``{frame: reference}`` - a colour photo (path,
PIL image, uint8 array) that steers the clip from that frame until the next frame reference; before the first
one the clip's ``reference=`` (if any) applies, else automatic colour.

Each reference is analysed once, before any frame is read (an unreadable or colourless one fails first, nothing
written), by ``Colorizer.options`` (analyses are cached by content: the same photo at two frames costs one).
At the frame where a reference takes over, the temporal smoothing starts afresh (as at a scene cut, but the
hints carry on): frames before it keep their own colours and the frames from it on follow the new reference.
"""
from __future__ import annotations


class FrameOutsideClip(ValueError):
    """A frame reference for a frame the clip does not have (a usage error: CLI exit 2)."""


def frame_options(colorizer, frame_references, decode=None, temperature=None, size=None, **reference) -> dict:
    """``{frame: reference}`` (None or empty: ``{}``) -> ``{frame: Options}`` with that frame's reference in
    place of the clip's ``reference=`` (the clip's ``palette=`` and ``reference_strength=`` still apply).
    Raises ValueError for a negative frame and ReferenceError (pipeline/reference.py) for an unusable
    reference."""
    out = {}
    for frame, ref in (frame_references or {}).items():
        if int(frame) != frame or int(frame) < 0:
            raise ValueError(f"frame reference frame {frame!r} must be an integer >= 0")
        if ref is None:
            raise ValueError(f"frame reference at frame {frame} is None; give a path, PIL image or uint8 array")
        out[int(frame)] = colorizer.options(decode, temperature, size, **{**reference, "reference": ref})
    return out


def check_frames_in_clip(frame_references, frames: int, what: str = "the video") -> None:
    """Raise :class:`FrameOutsideClip` when a frame reference is for a frame index >= ``frames``."""
    if frame_references and max(frame_references) >= frames:
        raise FrameOutsideClip(f"a frame reference is given for frame {max(frame_references)}, but {what} has "
                               f"{frames} frames (0 to {frames - 1})")
