"""Planning ``tinct colorize --ray`` when an input or ``-o`` is an fsspec URL: which input becomes which output,
decided from listings before any image is read, by the rules plain colorize applies to local folders
(cli/colorize_plan.py): with ``-o FOLDER`` names mirrored (subfolders with ``-r``), without ``-o``
``<stem>_color<ext>`` beside the input; ``--ext``; never onto an input; an existing output is skipped
(``--skip-existing``) or fails (unless ``--overwrite``), checked with one listing per output folder.
``-o`` must be a folder here (or absent); local paths may be mixed in (they are listed the same way)."""
from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass, field

from ..files import urls
from ..files.jobs import OUTPUT_SUFFIX, cause, is_sibling_output, output_ext, show


class UsageError(Exception):
    pass


@dataclass
class UrlPlan:
    rows: list = field(default_factory=list)     # {src, dst, fmt, name}: URLs or absolute local paths
    errors: list = field(default_factory=list)   # (name, cause)
    skipped: int = 0                             # outputs that exist (--skip-existing)


def place(text: str):
    """-> (fs, path in it, the text rows use: the URL as written, or an absolute local path)."""
    if urls.is_url(text):
        fs, path = urls.split(text)
        return fs, path.rstrip("/") or path, text
    base = os.path.abspath(text)
    return urls.local_fs(), base, base


def _key(fs, path: str) -> tuple:
    return type(fs).__name__, path.rstrip("/")


def _inputs(text: str, args, out_key, errors: list) -> list:
    """One input (folder or file) -> [(src, name, relative folder, file name, fs, path)]."""
    fs, path, base = place(text)
    try:
        if fs.isdir(path):
            rels = urls.list_images(fs, path, args.recursive)
            if out_key is not None and out_key[0] == _key(fs, path)[0]:
                inside = out_key[1] + "/"
                rels = [r for r in rels if not (path.rstrip("/") + "/" + r).startswith(inside)]
            if args.out is None:   # earlier <stem>_color outputs of a sibling input are not inputs
                stems = {posixpath.splitext(r)[0] for r in rels}
                rels = [r for r in rels if not is_sibling_output(posixpath.splitext(r)[0], stems)]
            if not rels:
                errors.append((show(text), "no images found" + _subfolder_hint(fs, path, args.recursive)))
            return [(urls.join(base, r), urls.join(text, r), posixpath.dirname(r), posixpath.basename(r), fs,
                     urls.join(path, r)) for r in rels]
        if fs.isfile(path):
            return [(base, text, "", posixpath.basename(path), fs, path)]
        errors.append((show(text), "no such file or directory"))
    except Exception as e:
        errors.append((show(text), f"cannot read: {cause(e)}"))
    return []


def _subfolder_hint(fs, path: str, recursive: bool) -> str:
    if recursive:
        return ""
    try:
        sub = any(e.get("type") == "directory" for e in fs.ls(path, detail=True))
    except Exception:
        return ""
    return " (use -r to look in subfolders)" if sub else ""


def plan_urls(args) -> UrlPlan:
    """The rows for the Ray workers; raises UsageError for a command that cannot be planned."""
    from ..files.write import format_for
    if "-" in args.inputs:
        raise UsageError("- (stdin) cannot be combined with URLs")
    out = None if args.out is None else str(args.out)
    out_key = None
    if out is not None:
        out_fs, out_path, out_base = place(out)
        try:
            is_file = format_for(out_path) is not None and not out_fs.isdir(out_path)
        except Exception as e:
            raise UsageError(f"-o {show(out)}: {cause(e)}") from None
        if is_file:
            raise UsageError(f"-o {show(out)}: with URLs -o must be a folder")
        out_key = _key(out_fs, out_path)
    result = UrlPlan()
    places: list = []          # (fs, output path) of each row
    srcs: set = set()
    seen_out: dict = {}
    for text in args.inputs:
        for src, name, rel, fname, fs, path in _inputs(text, args, out_key, result.errors):
            if _key(fs, path) in srcs:
                continue
            srcs.add(_key(fs, path))
            oname = posixpath.splitext(fname)[0] + output_ext(fname, args.ext)
            if out is not None:
                dst, dfs, dpath = urls.join(out_base, rel, oname), out_fs, urls.join(out_path, rel, oname)
            else:
                stem, ext = posixpath.splitext(oname)
                oname = stem + OUTPUT_SUFFIX + ext
                dst, dfs, dpath = src[:len(src) - len(fname)] + oname, fs, posixpath.join(posixpath.dirname(path), oname)
            if dst in seen_out:
                result.errors.append((show(name), f"its output {show(dst)} would also be the output of "
                                                  f"{seen_out[dst]}"))
                continue
            seen_out[dst] = show(name)
            result.rows.append({"src": src, "dst": dst, "fmt": format_for(dst) or "", "name": show(name)})
            places.append((dfs, dpath))
    return _check_outputs(result, places, srcs, args)


def _check_outputs(result: UrlPlan, places: list, srcs: set, args) -> UrlPlan:
    """Drop rows whose output is an input, exists (skip or fail), or whose local folder cannot be made."""
    listings: dict = {}
    rows = []
    for r, (fs, path) in zip(result.rows, places):
        if _key(fs, path) in srcs:
            result.errors.append((r["name"], f"its output {show(r['dst'])} is one of the inputs; tinct never "
                                             "writes over its inputs, even with --overwrite (choose another -o)"))
            continue
        folder = posixpath.dirname(path)
        if (id(fs), folder) not in listings:
            listings[(id(fs), folder)] = _listing(fs, folder)
        names = listings[(id(fs), folder)]
        if isinstance(names, str):    # the folder could not be made
            result.errors.append((r["name"], names))
            continue
        if path in names and not args.overwrite:
            if args.skip_existing:
                result.skipped += 1
                continue
            result.errors.append((r["name"], f"{show(r['dst'])} already exists (use --overwrite to replace it, "
                                             "--skip-existing to skip)"))
            continue
        rows.append(r)
    result.rows = rows
    return result


def _listing(fs, folder: str):
    """The names in ``folder`` (a set; empty when it does not exist yet), after making it when it is local;
    or the one-line cause why it cannot be made."""
    from ..files.write import OutputError, ensure_folder
    if urls.is_local(fs):
        try:
            ensure_folder(folder)
        except OutputError as e:
            return cause(e)
        if not os.access(folder, os.W_OK | os.X_OK):
            return f"cannot write to folder {show(folder)}: permission denied"
    try:
        return {p.rstrip("/") for p in fs.ls(folder, detail=False)}
    except (FileNotFoundError, NotADirectoryError):
        return set()
    except Exception as e:      # credentials, permissions, network: each of its inputs fails with this line
        return f"cannot list output folder {show(fs.unstrip_protocol(folder))}: {cause(e)}"
