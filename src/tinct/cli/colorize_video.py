"""The video part of ``tinct colorize``: its options, and the planned video and image-sequence jobs (files.plan
decides every output, by the same rules as photos) handed to ``tinct.video``.

Image sequences (``shot/f_%04d.png``): with -o FILE.mp4 (.mov, .mkv, .avi) a video at --fps, with -o FOLDER the
colorized frames (same names), without -o the frames in ``<folder>_color`` beside the frames' folder.
--frame-hint's and --frame-reference's FRAME is the frame's index (from 0) in a video, and the number in the file
name in a sequence.
"""
from __future__ import annotations

import os
import sys

from ..files.jobs import cause, show
from .args import missing_extra, number, parsed


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
                   help="colour hint on frame FRAME of a video (counted from 0) or of an image sequence (the "
                        "number in the frame's file name: @12 is f_0012.png); it follows the motion through the "
                        "shot and is dropped at the next cut; repeatable (plain --hint applies from the first "
                        "frame); a FRAME the input does not have, or --frame-hint on a photo, is an error (exit 2)")
    g.add_argument("--frame-reference", dest="frame_references", action="append", type=_frame_reference,
                   default=[], metavar="REF@FRAME",
                   help="a colour photo whose colours steer the clip from frame FRAME (counted as --frame-hint "
                        "counts: a video's frame index from 0, a sequence's file-name number) until the next "
                        "--frame-reference: colour one frame of each shot (a keyframe) and the shot follows; before "
                        "the first one --reference applies if given, else automatic colour; repeatable; "
                        "--reference-strength and --palette apply too; an unreadable or colourless REF, a FRAME "
                        "the input does not have, or a photo input is an error (exit 2, nothing written)")


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


@parsed
def _frame_reference(text):
    ref, sep, frame = text.rpartition("@")
    if not sep or not ref or not frame.strip().isdigit():
        raise ValueError(f"frame reference {text!r} is not REF@FRAME (a colour photo and a frame number)")
    return int(frame), ref


def run_videos(jobs: list, opts, load) -> tuple[int, list]:
    """Colorize the planned video and sequence ``jobs`` (files.plan); ``load()`` returns a Colorizer or None
    (message printed). One line per failed input. Returns (exit status: 2 when a hint cannot apply, 1 when
    any failed, else 0; the (name, cause) failures)."""
    try:
        from ..video import DEFAULT_STABILITY, colorize_video
        from ..video.stabilize import DEFAULT_LOOKAHEAD
        from ..video.sequence import DEFAULT_FPS, colorize_sequence
        from ..video.io import DEFAULT_CRF
        from ..video.frame_references import FrameOutsideClip
        import av  # noqa: F401
    except ImportError:
        print(missing_extra("tinct", "video", "PyAV or OpenCV"), file=sys.stderr)
        return 2, []
    from ..files.listing import VIDEO_OUT_SUFFIXES
    from ..files.write import clean_stale_temps
    from ..pipeline.hints import HintOutsideImage
    crf = DEFAULT_CRF if opts.crf is None else opts.crf
    if not 0 <= crf <= 51:
        print(f"tinct: --crf {crf}: must be between 0 and 51", file=sys.stderr)
        return 2, []
    common = dict(stability=DEFAULT_STABILITY if opts.stability is None else opts.stability, crf=crf,
                  overwrite=opts.overwrite, decode=opts.decode, temperature=opts.temperature, size=opts.size,
                  lookahead=DEFAULT_LOOKAHEAD if opts.lookahead is None else opts.lookahead)
    colorizer = None
    failures: list = []
    misused = False
    for job in jobs:
        to_folder = job.kind == "sequence" and job.out.suffix.lower() not in VIDEO_OUT_SUFFIXES
        if not to_folder and os.path.lexists(job.out) and not opts.overwrite:
            if opts.skip_existing:
                continue
            why = f"{show(job.out)} already exists (use --overwrite to replace it, --skip-existing to skip)"
            print(f"tinct: {job.name}: {why}", file=sys.stderr)
            failures.append((job.name, why))
            continue
        if colorizer is None:
            colorizer = load()
            if colorizer is None:
                return 2, failures
        clean_stale_temps(job.out if to_folder and job.out.is_dir() else job.out.parent)
        try:
            kw = dict(common, hints=_frame_hints(opts, job), progress=None if opts.quiet else _bar(job.src),
                      frame_references=_by_position(opts.frame_references, job), **opts.reference_options)
            if job.kind == "sequence":
                colorize_sequence(colorizer, job.src, job.out, fps=opts.fps or DEFAULT_FPS,
                                  files=[f for _, f in job.frames], skip_existing=opts.skip_existing, **kw)
            else:
                colorize_video(colorizer, job.src, job.out, **kw)
        except Exception as e:
            misused |= isinstance(e, (HintOutsideImage, FrameOutsideClip))
            print(f"tinct: {job.name}: {cause(e)}", file=sys.stderr)
            failures.append((job.name, cause(e)))
    return (2 if misused else 1 if failures else 0), failures


def _frame_hints(opts, job) -> dict:
    """{frame position: hints}: --hint on the first frame; --frame-hint on frame FRAME of a video (0-based)
    or on the frame numbered FRAME of a sequence (the number in its file name; files.plan checked it exists)."""
    hints: dict = {0: list(opts.hints)} if opts.hints else {}
    position = {n: i for i, (n, _) in enumerate(job.frames)} if job.kind == "sequence" else None
    for frame, hint in opts.frame_hints:
        hints.setdefault(frame if position is None else position[frame], []).append(hint)
    return hints


def _by_position(frame_references: list, job) -> dict:
    """--frame-reference's [(FRAME, reference)] -> {frame position: reference}: FRAME is a video's frame index,
    a sequence's file-name number (files.plan checked it exists), as for --frame-hint."""
    position = {n: i for i, (n, _) in enumerate(job.frames)} if job.kind == "sequence" else None
    return {frame if position is None else position[frame]: ref for frame, ref in frame_references}


def _bar(src: Path):
    def make(total):
        from tqdm import tqdm
        return tqdm(total=total, unit="frame", desc=src.name, file=sys.stderr, dynamic_ncols=True, leave=False)
    return make
