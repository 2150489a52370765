"""The one planner of ``tinct colorize``: inputs (files, folders, frame patterns like ``shot/f_%04d.png``, URLs,
or ``-`` for stdin) become a typed plan of jobs - input, resolved output, kind (photo, video, sequence, url) -
decided and checked once, before any image is read, by the one output rule (files.outputs).

Outputs: without -o ``<stem>_color<ext>`` beside the input (a sequence: the frames in ``<folder>_color``
beside the frames' folder); with -o FOLDER ``FOLDER/<stem><ext>`` (subfolders mirrored with -r; a sequence's
frames keep their names); with -o FILE (one input) exactly there. A photo's ``<ext>`` follows --ext; a video's
is its own when tinct writes that container (mp4, m4v, mov, mkv, avi), else .mkv."""
from __future__ import annotations

import os
from pathlib import Path

from .jobs import OUTPUT_SUFFIX, Job, Plan, UsageError, cause, output_ext, show
from .listing import VIDEO_SUFFIXES, has_subfolders, list_folder, video_out_suffix
from .outputs import OutputRule, local_key
from .sequences import SequenceError, is_sequence, numbered_frames


def plan(opts) -> Plan:
    """``opts``: files.options.ColorizeOptions (or any object with its names). Raises UsageError."""
    from .urls import is_url
    if any(is_url(t) for t in [*opts.inputs, opts.out]):
        from .plan_urls import plan_urls
        return plan_urls(opts)
    if "-" in opts.inputs:
        return _plan_stdin(opts)
    return _plan_local(opts)


def _plan_stdin(opts) -> Plan:
    from .write import EXT_FORMATS, format_for
    if len(opts.inputs) > 1:
        raise UsageError("- (stdin) cannot be combined with other inputs")
    if opts.ray is not None:
        raise UsageError("- (stdin) cannot be colorized with --ray: give files, folders or URLs")
    out = opts.out
    if opts.frame_hints:
        raise UsageError("--frame-hint applies to videos and frame sequences; stdin is a photo (use --hint)")
    if getattr(opts, "frame_references", None):
        raise UsageError("--frame-reference applies to videos and frame sequences; stdin is a photo "
                         "(use --reference)")
    if out is not None and str(out) != "-":
        if out.is_dir():
            raise UsageError(f"-o {out}: with - (stdin) give an output file, not a folder")
        fmt = format_for(out)
        if fmt is None:
            raise UsageError(f"-o {out}: cannot write {out.suffix or 'a file without an extension'}; "
                             "use .png, .jpg, .webp, .tif or .bmp")
        return Plan([Job(None, "<stdin>", out, _check_ext(opts.ext, fmt, out))])
    fmt = None if opts.ext == "same" else EXT_FORMATS["." + opts.ext]
    return Plan([Job(None, "<stdin>", None, fmt)])


def _out_kind(opts) -> str | None:
    """'photo' / 'video' when -o names one output file, 'folder' for an output folder, None without -o."""
    from PIL import Image

    from .write import EXT_FORMATS
    out = opts.out
    if out is None:
        return None
    if out.is_dir() or str(out).endswith(("/", os.sep)):
        return "folder"
    suffix = out.suffix.lower()
    if suffix in VIDEO_SUFFIXES:
        return "video"
    Image.init()
    return "photo" if suffix in EXT_FORMATS or suffix in Image.registered_extensions() else "folder"


def _plan_local(opts) -> Plan:
    from .read import IMAGE_EXTENSIONS
    out_kind = _out_kind(opts)
    out = Path(opts.out) if opts.out is not None else None
    out_dir = out if out_kind == "folder" else None
    skip = os.path.normcase(os.path.realpath(out_dir)) if out_dir is not None else None
    result, rule = Plan(), OutputRule()
    found: list = []      # (src, relative folder, kind, frames)
    for text in opts.inputs:
        p = Path(text)
        if p.is_dir():
            n_errors = len(result.errors)
            photos = list_folder(p, IMAGE_EXTENSIONS, opts.recursive, skip, out_dir is None, result.errors)
            videos = list_folder(p, VIDEO_SUFFIXES, opts.recursive, skip, True, result.errors)
            rule.add_folder(local_key(p), opts.recursive, local_key(out_dir) if out_dir is not None else None)
            if not photos and not videos:
                if len(result.errors) == n_errors:
                    hint = " (use -r to look in subfolders)" if not opts.recursive and has_subfolders(p) else ""
                    result.errors.append((show(text), f"no images found{hint}"))
                continue
            is_video = set(videos)
            found += [(f, f.parent.relative_to(p), "video" if f in is_video else "photo", None)
                      for f in sorted(photos + videos, key=lambda f: (str(f.parent), f.name))]
        elif is_sequence(p):
            try:
                found.append((p, Path(), "sequence", numbered_frames(p)))
            except SequenceError as e:
                result.errors.append((show(text), str(e)))
        elif os.path.lexists(p):
            found.append((p, Path(), "video" if p.suffix.lower() in VIDEO_SUFFIXES else "photo", None))
        else:
            result.errors.append((show(text), "no such file or directory"))
    found = _unique(found)
    _check_out_file(opts, out_kind, found)
    for src, _, kind, frames in found:
        for f in ([f for _, f in frames] if frames else [src]):
            rule.add_input(local_key(f), f)
    for src, rel, kind, frames in found:
        job = _job(opts, out_kind, out, src, rel, kind, frames)
        why = _refused(rule, job, out is None)
        if why:
            result.errors.append((job.name, why))
        else:
            result.jobs.append(job)
    _check_frame_hints(opts, result.jobs)
    return result


def _unique(found: list) -> list:
    """An input named twice (also through a folder) is colorized once."""
    seen, keep = set(), []
    for item in found:
        key = os.path.normcase(os.path.abspath(item[0]))
        if key not in seen:
            seen.add(key)
            keep.append(item)
    return keep


def _check_out_file(opts, out_kind, found: list) -> None:
    from .write import format_for
    out = opts.out
    if out_kind == "photo":
        if len(opts.inputs) != 1 or Path(opts.inputs[0]).is_dir() or any(k != "photo" for _, _, k, _ in found):
            raise UsageError(f"-o {out}: an output file needs exactly one input file "
                             "(give a folder to -o for several)")
        if format_for(out) is None:
            raise UsageError(f"-o {out}: cannot write {out.suffix}; use .png, .jpg, .webp, .tif or .bmp")
    elif out_kind == "video" and (len(found) != 1 or found[0][2] == "photo" or Path(opts.inputs[0]).is_dir()):
        raise UsageError(f"-o {out}: an output video file needs exactly one input video or frame sequence")


def _job(opts, out_kind, out, src: Path, rel: Path, kind: str, frames) -> Job:
    from .write import format_for
    if kind == "sequence":
        if out is None:
            here = Path(os.path.realpath(src.parent))
            out = here.parent / (here.name + OUTPUT_SUFFIX)
        return Job(src, show(src), out, None, kind="sequence", frames=frames)
    if out_kind in ("photo", "video"):
        dst = out
    else:
        ext = video_out_suffix(src) if kind == "video" else output_ext(src, opts.ext)
        dst = (out / rel / (src.stem + ext)) if out is not None else src.with_name(src.stem + OUTPUT_SUFFIX + ext)
    fmt = None
    if kind == "photo":
        fmt = _check_ext(opts.ext, format_for(dst), dst) if out_kind == "photo" else format_for(dst)
    return Job(src, show(src), dst, fmt, kind=kind)


def _refused(rule: OutputRule, job: Job, no_out: bool) -> str | None:
    """The rule on every output of ``job`` (each frame of a sequence written to a folder)."""
    from .listing import VIDEO_OUT_SUFFIXES
    if job.kind == "sequence" and job.out.suffix.lower() not in VIDEO_OUT_SUFFIXES:
        outs = [job.out / f.name for _, f in job.frames]
    else:
        outs = [job.out]
    for o in outs:
        why = rule.refuse(job.name, local_key(o), show(o), local_out=o, sibling_names=no_out)
        if why:
            return why
    return None


def _check_frame_hints(opts, jobs: list) -> None:
    """--frame-hint and --frame-reference apply to videos and sequences only; on a sequence FRAME is a number in
    its file names."""
    for option, frames, instead in (("--frame-hint", opts.frame_hints, "--hint"),
                                    ("--frame-reference", getattr(opts, "frame_references", None), "--reference")):
        if not frames:
            continue
        photo = next((j for j in jobs if j.kind == "photo"), None)
        if photo is not None:
            raise UsageError(f"{option} applies to videos and frame sequences; {photo.name} is a photo "
                             f"(use {instead})")
        for job in jobs:
            if job.kind == "sequence":
                numbers = {n for n, _ in job.frames}
                bad = sorted({f for f, _ in frames} - numbers)
                if bad:
                    raise UsageError(f"{option} ...@{bad[0]}: {job.name} has no frame numbered {bad[0]} "
                                     f"(its frames are numbered {min(numbers)} to {max(numbers)})")


def _check_ext(ext: str, fmt: str, out: Path) -> str:
    from .write import EXT_FORMATS
    if ext != "same" and EXT_FORMATS["." + ext] != fmt:
        raise UsageError(f"--ext {ext} conflicts with -o {out}")
    return fmt


def precheck(job: Job, opts) -> str | None:
    """-> 'skip', an error cause, or None (go ahead). Cheap checks on a local output before any decoding."""
    from .write import OutputError, ensure_folder
    if job.out is None:
        return None
    if os.path.lexists(job.out):
        if opts.skip_existing:
            return "skip"
        if not opts.overwrite:
            return f"{show(job.out)} already exists (use --overwrite to replace it, --skip-existing to skip)"
    try:
        ensure_folder(job.out.parent)
    except OutputError as e:
        return cause(e)
    if not os.access(job.out.parent, os.W_OK | os.X_OK):
        return f"cannot write to folder {show(job.out.parent)}: permission denied"
    return None
