"""Planning for ``tinct colorize``: which inputs become which output files, decided before any image is read,
and the cheap checks on each output made before any decoding (``precheck``)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..files.jobs import OUTPUT_SUFFIX, Job, cause, is_sibling_output, output_ext, show


# --- messages ------------------------------------------------------------------------------------------
class UsageError(Exception):
    pass


# --- planning -------------------------------------------------------------------------------------------
@dataclass
class Plan:
    jobs: list = field(default_factory=list)
    errors: list = field(default_factory=list)   # (name, cause)


def _list_folder(root: Path, recursive: bool, skip_dirs: set, skip_siblings: bool, errors: list) -> list[Path]:
    """Image files (by extension) in ``root``, sorted; hidden files, temporary files and (``skip_siblings``)
    earlier ``<stem>_color`` outputs of a sibling input are left out. Unreadable folders go to ``errors``."""
    from ..files.read import IMAGE_EXTENSIONS
    found = []

    def unreadable(e: OSError):
        errors.append((show(e.filename if e.filename is not None else root), f"cannot read folder: {cause(e)}"))
    for folder, dirs, files in os.walk(root, onerror=unreadable):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                         and os.path.normcase(os.path.abspath(os.path.join(folder, d))) not in skip_dirs)
        if not recursive:
            dirs[:] = []
        imgs = [f for f in files if not f.startswith(".") and os.path.splitext(f)[1].lower() in IMAGE_EXTENSIONS
                and os.path.isfile(os.path.join(folder, f))]
        stems = {os.path.splitext(f)[0] for f in imgs}
        for f in sorted(imgs):
            if skip_siblings and is_sibling_output(os.path.splitext(f)[0], stems):
                continue
            found.append(Path(folder) / f)
    return found


def _has_subfolders(p: Path) -> bool:
    try:
        return any(e.is_dir() and not e.name.startswith(".") for e in os.scandir(p))
    except OSError:
        return False


def plan(args) -> Plan:
    from ..files.write import EXT_FORMATS, format_for
    from PIL import Image
    inputs = list(args.inputs)
    out = args.out
    if "-" in inputs:
        if len(inputs) > 1:
            raise UsageError("- (stdin) cannot be combined with other inputs")
        if out is not None and str(out) != "-":
            if out.is_dir():
                raise UsageError(f"-o {out}: with - (stdin) give an output file, not a folder")
            fmt = format_for(out)
            if fmt is None:
                raise UsageError(f"-o {out}: cannot write {out.suffix or 'a file without an extension'}; "
                                 "use .png, .jpg, .webp, .tif or .bmp")
            return Plan([Job(None, "<stdin>", out, _check_ext(args.ext, fmt, out))])
        fmt = None if args.ext == "same" else EXT_FORMATS["." + args.ext]
        return Plan([Job(None, "<stdin>", None, fmt)])

    out_file = None
    out_dir = None
    if out is not None:
        Image.init()
        suffix = out.suffix.lower()
        looks_like_file = (not out.is_dir() and not str(args.out).endswith(("/", os.sep))
                           and (suffix in EXT_FORMATS or suffix in Image.registered_extensions()))
        if looks_like_file:
            if len(inputs) != 1 or Path(inputs[0]).is_dir():
                raise UsageError(f"-o {out}: an output file needs exactly one input file "
                                 "(give a folder to -o for several)")
            if format_for(out) is None:
                raise UsageError(f"-o {out}: cannot write {out.suffix}; use .png, .jpg, .webp, .tif or .bmp")
            out_file = out
        else:
            out_dir = out
    skip_dirs = {os.path.normcase(os.path.abspath(out_dir))} if out_dir is not None else set()

    result = Plan()
    seen_src: set = set()
    seen_out: dict = {}
    sources: list = []
    for text in inputs:
        p = Path(text)
        if p.is_dir():
            n_errors = len(result.errors)
            files = _list_folder(p, args.recursive, skip_dirs, out_dir is None, result.errors)
            if not files:
                if len(result.errors) == n_errors:
                    hint = " (use -r to look in subfolders)" if not args.recursive and _has_subfolders(p) else ""
                    result.errors.append((show(text), f"no images found{hint}"))
                continue
            pairs = [(f, f.parent.relative_to(p)) for f in files]
        elif os.path.lexists(p):
            pairs = [(p, Path())]
        else:
            result.errors.append((show(text), "no such file or directory"))
            continue
        for src, rel in pairs:
            key = os.path.normcase(os.path.abspath(src))
            if key in seen_src:
                continue
            seen_src.add(key)
            sources.append(src)
            if out_file is not None:
                dst = out_file
                fmt = _check_ext(args.ext, format_for(out_file), out_file)
            else:
                ext = output_ext(src, args.ext)
                if out_dir is not None:
                    dst = out_dir / rel / (src.stem + ext)
                else:
                    dst = src.with_name(src.stem + OUTPUT_SUFFIX + ext)
                fmt = format_for(dst)
            dkey = os.path.normcase(os.path.abspath(dst))
            if dkey in seen_out:
                result.errors.append((show(src), f"its output {show(dst)} would also be the output of "
                                                 f"{seen_out[dkey]}"))
                continue
            seen_out[dkey] = show(src)
            result.jobs.append(Job(src, show(src), dst, fmt))
    return _not_onto_inputs(result, sources)


def _file_id(path) -> tuple | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _not_onto_inputs(result: Plan, sources: list) -> Plan:
    """Drop (as errors) jobs whose output is one of the inputs: by name, or by the file it is (symlinks and
    hard links included). --overwrite never means replacing a photo being colorized."""
    names = {os.path.normcase(os.path.realpath(p)) for p in sources}
    ids = {_file_id(p) for p in sources} - {None}
    jobs = []
    for j in result.jobs:
        if os.path.normcase(os.path.realpath(j.out)) in names or _file_id(j.out) in ids:
            result.errors.append((j.name, f"its output {show(j.out)} is one of the inputs; tinct never writes "
                                          "over its inputs, even with --overwrite (choose another -o)"))
        else:
            jobs.append(j)
    result.jobs = jobs
    return result


def _check_ext(ext: str, fmt: str, out: Path) -> str:
    from ..files.write import EXT_FORMATS
    if ext != "same" and EXT_FORMATS["." + ext] != fmt:
        raise UsageError(f"--ext {ext} conflicts with -o {out}")
    return fmt


def precheck(job: Job, args) -> str | None:
    """-> 'skip', an error cause, or None (go ahead). Cheap checks before any decoding or compute."""
    from ..files.write import OutputError, ensure_folder
    if job.out is None:
        return None
    if os.path.lexists(job.out):
        if args.skip_existing:
            return "skip"
        if not args.overwrite:
            return f"{show(job.out)} already exists (use --overwrite to replace it, --skip-existing to skip)"
    try:
        ensure_folder(job.out.parent)
    except OutputError as e:
        return cause(e)
    if not os.access(job.out.parent, os.W_OK | os.X_OK):
        return f"cannot write to folder {show(job.out.parent)}: permission denied"
    return None
