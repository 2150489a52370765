"""The video part of ``tinct colorize``: video files (and videos inside folders) go to ``tinct.video``.

Image sequences (``shot/f_%04d.png``, see ``tinct.video.sequence``) go there too: with -o FILE.mp4 (.mov, .mkv,
.avi) a video at --fps, with -o FOLDER the colorized frames (same names), without -o the frames in
``<folder>_color`` beside the frames' folder.

Outputs follow the photo rules: without -o, ``<stem>_color<ext>`` beside the input; with -o FOLDER (or
several inputs), ``FOLDER/<stem><ext>``; with -o FILE.mp4|.mov|.mkv|.avi (one video input), exactly there.
``<ext>`` is the input's own when it can hold H.264 (mp4, mov, mkv, avi), else .mkv (WebM inputs).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from ..files.jobs import OUTPUT_SUFFIX, cause, is_sibling_output, show
from .args import missing_extra, number, parsed

VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v")


def add_video_arguments(p) -> None:
    g = p.add_argument_group("video (mp4, mov, avi, mkv, webm inputs; needs tinct[video])")
    g.add_argument("--stability", type=_unit, default=None, metavar="S",
                   help="0..1: how much colour is carried along optical flow from frame to frame; 0 colorizes "
                        "each frame on its own (default 0.6)")
    g.add_argument("--lookahead", type=int, choices=range(0, 17), default=None, metavar="N",
                   help="frames of the future smoothed over as well as the past, 0..16: removes the lag of a "
                        "past-only filter when colours drift (zooms); 0 is past only (default 2)")
    g.add_argument("--fps", type=_positive, default=None, metavar="F",
                   help="frame rate of a video made from an image sequence (default 24)")
    g.add_argument("--crf", type=int, default=None, metavar="N", help="H.264 quality, 0..51, lower is better "
                                                                        "(default 18)")
    g.add_argument("--frame-hint", dest="frame_hints", action="append", type=_frame_hint, default=[],
                   metavar="X,Y,#RRGGBB[,RADIUS]@FRAME",
                   help="colour hint on frame FRAME (0-based) of a video; it follows the motion through the "
                        "shot and is dropped at the next cut; repeatable (plain --hint applies from frame 0)")


@parsed
def _unit(text):
    return number(text, lo=0, hi=1)


@parsed
def _positive(text):
    v = number(text)
    if not 0 < v <= 1000:
        raise ValueError(f"{text!r} must be in (0, 1000]")
    return v


@parsed
def _frame_hint(text):
    from ..pipeline.hints import parse_hint_arg
    hint, sep, frame = text.rpartition("@")
    if not sep or not frame.strip().isdigit():
        raise ValueError(f"video hint {text!r} is not X,Y,#RRGGBB[,RADIUS]@FRAME")
    return int(frame), parse_hint_arg(hint)


def _videos_in(folder: Path, recursive: bool) -> list[Path]:
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")) if recursive else []
        vids = [f for f in files if not f.startswith(".") and os.path.splitext(f)[1].lower() in VIDEO_SUFFIXES]
        stems = {os.path.splitext(f)[0] for f in vids}
        for f in sorted(vids):
            if not is_sibling_output(os.path.splitext(f)[0], stems):
                found.append(Path(root) / f)
    return found


def _has_images(folder: Path, recursive: bool) -> bool:
    from ..files.read import IMAGE_EXTENSIONS
    for _, dirs, files in os.walk(folder):
        if any(os.path.splitext(f)[1].lower() in IMAGE_EXTENSIONS for f in files):
            return True
        if not recursive:
            return False
    return False


def is_sequence(p: Path) -> bool:
    """A frame pattern (``f_%04d.png``) that is not itself an existing file."""
    from ..video.sequence import is_sequence_pattern
    return is_sequence_pattern(p) and not os.path.lexists(p)


def split_inputs(args) -> tuple[list, list]:
    """-> (video jobs ``[(src, out)]``, the inputs left for the photo path)."""
    from ..video.io import out_suffix
    jobs, rest = [], []
    out = args.out
    out_file = out is not None and Path(out).suffix.lower() in VIDEO_SUFFIXES and not Path(out).is_dir()
    for text in args.inputs:
        p = Path(text)
        if text != "-" and p.is_dir():
            vids = _videos_in(p, args.recursive)
            for v in vids:
                rel = v.parent.relative_to(p)
                dst = (out / rel / (v.stem + out_suffix(v))) if out else v.with_name(v.stem + OUTPUT_SUFFIX + out_suffix(v))
                jobs.append((v, dst))
            if not vids or _has_images(p, args.recursive):
                rest.append(text)
        elif is_sequence(p):
            here = p.parent.resolve()
            jobs.append((p, Path(out) if out else here.parent / (here.name + OUTPUT_SUFFIX)))
        elif p.suffix.lower() in VIDEO_SUFFIXES:
            if out_file:
                dst = Path(out)
            elif out:
                dst = Path(out) / (p.stem + out_suffix(p))
            else:
                dst = p.with_name(p.stem + OUTPUT_SUFFIX + out_suffix(p))
            jobs.append((p, dst))
        else:
            rest.append(text)
    if out_file and (len(jobs) != 1 or rest):
        raise ValueError(f"-o {out}: an output video file needs exactly one input video or frame sequence")
    return jobs, rest


def run_videos(args, load) -> tuple[int, list]:
    """Colorize the video inputs of ``args``; ``load(args)`` returns a Colorizer or None (message printed).
    Returns (exit status for the videos, the inputs left for the photo path)."""
    try:
        jobs, rest = split_inputs(args)
    except ValueError as e:
        print(f"tinct: {e}", file=sys.stderr)
        return 2, []
    if not jobs:
        return 0, rest
    hints: dict = {0: list(args.hints)} if args.hints else {}
    for frame, hint in args.frame_hints:
        hints.setdefault(frame, []).append(hint)
    try:
        from ..video import DEFAULT_STABILITY, colorize_video
        from ..video.stabilize import DEFAULT_LOOKAHEAD
        from ..video.sequence import DEFAULT_FPS, colorize_sequence
        from ..video.io import DEFAULT_CRF
        import av  # noqa: F401
    except ImportError:
        print(missing_extra("tinct", "video", "PyAV or OpenCV"), file=sys.stderr)
        return 2, rest
    stability = DEFAULT_STABILITY if args.stability is None else args.stability
    crf = DEFAULT_CRF if args.crf is None else args.crf
    lookahead = DEFAULT_LOOKAHEAD if args.lookahead is None else args.lookahead
    if not 0 <= crf <= 51:
        print(f"tinct: --crf {crf}: must be between 0 and 51", file=sys.stderr)
        return 2, rest
    from ..files.write import clean_stale_temps
    colorizer = None
    failed = 0
    for src, dst in jobs:
        seq = is_sequence(src)
        if not seq and os.path.lexists(dst) and not args.overwrite:
            if args.skip_existing:
                continue
            print(f"tinct: {show(src)}: {show(dst)} already exists (use --overwrite to replace it, "
                  f"--skip-existing to skip)", file=sys.stderr)
            failed += 1
            continue
        if colorizer is None:
            colorizer = load(args)
            if colorizer is None:
                return 2, rest
        clean_stale_temps(dst.parent)
        try:
            kw = dict(stability=stability, hints=hints, crf=crf, overwrite=args.overwrite, decode=args.decode,
                      progress=None if args.quiet else _bar(src), temperature=args.temperature, size=args.size,
                      lookahead=lookahead, **getattr(args, "reference_options", {}))
            if seq:
                colorize_sequence(colorizer, src, dst, fps=args.fps or DEFAULT_FPS, **kw)
            else:
                colorize_video(colorizer, src, dst, **kw)
        except Exception as e:
            print(f"tinct: {show(src)}: {cause(e)}", file=sys.stderr)
            failed += 1
    return (1 if failed else 0), rest


def _bar(src: Path):
    def make(total):
        from tqdm import tqdm
        return tqdm(total=total, unit="frame", desc=src.name, file=sys.stderr, dynamic_ncols=True, leave=False)
    return make
