"""``--reference``, ``--palette``, ``--reference-strength`` and the reading of ``--frame-reference`` (issue 27):
their definitions, parsing and validation, shared by ``tinct colorize`` for photos, folders, videos and image sequences.

A palette is ``"#rrggbb,#rrggbb[:weight],..."``; a malformed one is argparse's usage error (exit 2). The reference
photo is read through the same safe reader and pixel limit as the photos (files/read.py) and checked to have
colour before anything is loaded or written (:func:`reference_values`)."""
from __future__ import annotations

from .args import number, parsed


def parse_palette_text(text: str) -> list:
    """``"#rrggbb,#rrggbb:2,..."`` -> [("#rrggbb", weight)]; ValueError (one line) on anything malformed."""
    from ..pipeline.reference import ReferenceError, parse_palette
    items = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        colour, _, weight = part.partition(":")
        items.append((colour, number(weight, lo=0, out_of_range=f"palette weight {weight!r} must be > 0")
                      if weight else 1.0))
    try:
        return [("#%02x%02x%02x" % c, w) for c, w in parse_palette(items)]
    except ReferenceError as e:
        raise ValueError(str(e)) from None


def _strength(text: str) -> float:
    return number(text, lo=0, hi=10)


def add_reference_arguments(p) -> None:
    """Add the reference-colour options to the argparse parser ``p``."""
    from ..color.ab_histogram import DEFAULT_STRENGTH   # (not pipeline/: building the parser stays light)
    g = p.add_argument_group("reference colours")
    g.add_argument("--reference", default=None, metavar="REF",
                   help="a colour photo whose colours steer every input (one reference colours a whole folder or "
                        "clip consistently); any size")
    g.add_argument("--palette", type=parsed(parse_palette_text), default=None, metavar="#RRGGBB[:W],...",
                   help="colours (optionally weighted) that steer every input, e.g. '#704214,#3a6ea5:2'")
    g.add_argument("--reference-strength", type=parsed(_strength), default=None, metavar="S",
                   help=f"how strongly the reference/palette steers (0 = off, default {DEFAULT_STRENGTH:g}; "
                        "larger follows it more closely, a wrong reference then costs more)")


class ReferenceArgError(ValueError):
    """A reference that cannot be used; the message is one line naming the file and the cause."""


def reference_values(args) -> dict:
    """The parsed arguments -> keyword arguments for ``Colorizer.options`` / ``colorize``: ``reference`` (the
    reference photo as a uint8 array, read once), ``palette``, ``reference_strength``. Raises
    :class:`ReferenceArgError` for an unreadable or colourless reference."""
    out: dict = {}
    ref = getattr(args, "reference", None)
    if ref is not None:
        out["reference"] = _read_checked(ref, getattr(args, "max_pixels", None))
    if getattr(args, "palette", None) is not None:
        out["palette"] = args.palette
    if getattr(args, "reference_strength", None) is not None:
        out["reference_strength"] = args.reference_strength
    return out


def _read_checked(ref, max_pixels):
    """The reference photo ``ref`` -> uint8 RGB, read and checked to have colour; ReferenceArgError naming it."""
    from ..pipeline.reference import ReferenceError, check_colour, read_reference
    try:
        rgb = read_reference(ref, max_pixels)
        check_colour(rgb)
    except ReferenceError as e:
        msg = str(e)
        raise ReferenceArgError(msg if msg.startswith(f"reference {ref}:") else f"{ref}: {msg}") from None
    return rgb


def frame_reference_values(args) -> list:
    """``--frame-reference``'s [(FRAME, REF path)] -> [(FRAME, uint8 RGB)], each file read once and checked to
    have colour. Raises :class:`ReferenceArgError` for an unusable REF or a FRAME given twice."""
    out, read, seen = [], {}, set()
    for frame, ref in getattr(args, "frame_references", None) or []:
        if frame in seen:
            raise ReferenceArgError(f"--frame-reference ...@{frame}: frame {frame} is given two references")
        seen.add(frame)
        if ref not in read:
            read[ref] = _read_checked(ref, getattr(args, "max_pixels", None))
        out.append((frame, read[ref]))
    return out


def check_reference(args, stderr) -> int | None:
    """Read and check the reference and the frame references once, keep the keyword arguments on
    ``args.reference_options`` and the frame references' pixels on ``args.frame_references``; -> None, or 2
    after printing "tinct: reference REF: <cause>"."""
    try:
        args.reference_options = reference_values(args)
        args.frame_references = frame_reference_values(args)
    except ReferenceArgError as e:
        print(f"tinct: {e}", file=stderr)
        return 2
    return None
