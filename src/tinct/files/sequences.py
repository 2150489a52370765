"""Numbered image sequences (``shot/frame_%04d.png``, printf-style as in FFmpeg) as file names only: which
existing files a pattern names, and their frame numbers. Reading and colorizing them is ``tinct.video.sequence``.

A pattern holds one ``%d`` (any number of digits) or ``%0Nd`` (exactly N digits) in its file name; the frames
are the existing files that match, in the order of their numbers (gaps allowed). A frame's number is the one in
its file name (``--frame-hint ...@12`` means ``frame_0012.png``)."""
from __future__ import annotations

import os
import re
from pathlib import Path

_FIELD = re.compile(r"%(0?)(\d*)d")


class SequenceError(ValueError):
    """A pattern that names no frames (one-line message)."""


def is_sequence_pattern(text) -> bool:
    """True when the file-name part of ``text`` holds exactly one ``%d`` / ``%0Nd`` field."""
    return len(_FIELD.findall(Path(str(text)).name)) == 1


def is_sequence(text) -> bool:
    """A frame pattern that is not itself an existing file."""
    return is_sequence_pattern(text) and not os.path.lexists(str(text))


def numbered_frames(pattern) -> list[tuple[int, Path]]:
    """(number, file) of the existing files matching ``pattern``, sorted by number. Raises SequenceError when
    none match or ``pattern`` is not a frame pattern."""
    p = Path(str(pattern))
    m = _FIELD.search(p.name)
    if m is None or not is_sequence_pattern(p):
        raise SequenceError(f"{p.name} is not a frame pattern (one %d or %0Nd in the file name)")
    digits = rf"(\d{{{int(m.group(2))}}})" if m.group(1) and m.group(2) else r"(\d+)"
    regex = re.compile(re.escape(p.name[:m.start()]) + digits + re.escape(p.name[m.end():]))
    folder = p.parent
    try:
        names = [(int(k.group(1)), f) for f in folder.iterdir() if (k := regex.fullmatch(f.name)) and f.is_file()]
    except OSError as e:
        raise SequenceError(f"cannot list {folder}: {e.strerror or e}") from None
    if not names:
        raise SequenceError(f"no frames match {p.name} in {folder}")
    return sorted(names)
