"""Planning ``tinct colorize --ray`` when an input or ``-o`` is an fsspec URL: which input becomes which output,
decided from listings before any image is read, by the rules of local folders (files.plan) and the one output
rule (files.outputs: ``file://`` URLs resolved to real paths): with ``-o FOLDER`` names mirrored (subfolders with
``-r``), without ``-o`` ``<stem>_color<ext>`` beside the input; ``--ext``; an existing output is skipped
(``--skip-existing``) or fails (unless ``--overwrite``), checked with one listing per output folder.
``-o`` must be a folder here (or absent); local paths may be mixed in (they are listed the same way).
Photos only: videos are not listed at URLs. Jobs are files.jobs.Job of kind 'url' (src and out: URLs as
written, or absolute local paths)."""
from __future__ import annotations

import os
import posixpath

from . import urls
from .jobs import OUTPUT_SUFFIX, Job, Plan, UsageError, cause, is_sibling_output, output_ext, show
from .outputs import OutputRule, fs_key


def place(text: str):
    """-> (fs, path in it, the text jobs use: the URL as written, or an absolute local path)."""
    if urls.is_url(text):
        fs, path = urls.split(text)
        return fs, path.rstrip("/") or path, text
    base = os.path.abspath(text)
    return urls.local_fs(), base, base


def _inside(key: tuple, folder: tuple) -> bool:
    sep = os.sep if key[0] == "file" else "/"
    return key[0] == folder[0] and (key[1] + sep).startswith(folder[1].rstrip(sep) + sep)


def _inputs(text: str, opts, out_key, rule: OutputRule, errors: list) -> list:
    """One input (folder or file) -> [(src, name, relative folder, file name, fs, path)]."""
    try:
        fs, path, base = place(text)
        if fs.isdir(path):
            rels = urls.list_images(fs, path, opts.recursive)
            left_out = None
            if out_key is not None and out_key != fs_key(fs, path):
                rels = [r for r in rels if not _inside(fs_key(fs, urls.join(path, r)), out_key)]
                left_out = out_key
            rule.add_folder(fs_key(fs, path), opts.recursive, left_out)
            if opts.out is None:   # earlier <stem>_color outputs of a sibling input are not inputs
                stems = {posixpath.splitext(r)[0] for r in rels}
                rels = [r for r in rels if not is_sibling_output(posixpath.splitext(r)[0], stems)]
            if not rels:
                errors.append((show(text), "no images found" + _subfolder_hint(fs, path, opts.recursive)))
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


def plan_urls(opts) -> Plan:
    """The jobs for the Ray workers; raises UsageError for a command that cannot be planned."""
    from .write import format_for
    if "-" in opts.inputs:
        raise UsageError("- (stdin) cannot be combined with URLs")
    out = None if opts.out is None else str(opts.out)
    out_key = None
    if out is not None:
        try:
            out_fs, out_path, out_base = place(out)
            is_file = format_for(out_path) is not None and not out_fs.isdir(out_path)
        except Exception as e:
            raise UsageError(f"-o {show(out)}: {cause(e)}") from None
        if is_file:
            raise UsageError(f"-o {show(out)}: with URLs -o must be a folder")
        out_key = fs_key(out_fs, out_path)
    result, rule = Plan(), OutputRule()
    found: list = []
    srcs: set = set()
    for text in opts.inputs:
        for item in _inputs(text, opts, out_key, rule, result.errors):
            key = fs_key(item[4], item[5])
            if key not in srcs:
                srcs.add(key)
                rule.add_input(key, item[5] if urls.is_local(item[4]) else None)
                found.append(item)
    places: list = []          # (fs, output path) of each job
    for src, name, rel, fname, fs, path in found:
        oname = posixpath.splitext(fname)[0] + output_ext(fname, opts.ext)
        if out is not None:
            dst, dfs, dpath = urls.join(out_base, rel, oname), out_fs, urls.join(out_path, rel, oname)
        else:
            stem, ext = posixpath.splitext(oname)
            oname = stem + OUTPUT_SUFFIX + ext
            dst, dfs = src[:len(src) - len(fname)] + oname, fs
            dpath = posixpath.join(posixpath.dirname(path), oname)
        why = rule.refuse(name, fs_key(dfs, dpath), dst, local_out=dpath if urls.is_local(dfs) else None,
                          sibling_names=out is None)
        if why:
            result.errors.append((show(name), why))
            continue
        result.jobs.append(Job(src, show(name), dst, format_for(dst) or "", kind="url"))
        places.append((dfs, dpath))
    return _check_outputs(result, places, opts)


def _check_outputs(result: Plan, places: list, opts) -> Plan:
    """Drop jobs whose output exists (skip or fail), or whose local folder cannot be made."""
    listings: dict = {}
    jobs = []
    for j, (fs, path) in zip(result.jobs, places):
        folder = posixpath.dirname(path)
        if (id(fs), folder) not in listings:
            listings[(id(fs), folder)] = _listing(fs, folder)
        names = listings[(id(fs), folder)]
        if isinstance(names, str):    # the folder could not be made
            result.errors.append((j.name, names))
            continue
        if path in names and not opts.overwrite:
            if opts.skip_existing:
                result.skipped += 1
                continue
            result.errors.append((j.name, f"{show(j.out)} already exists (use --overwrite to replace it, "
                                          "--skip-existing to skip)"))
            continue
        jobs.append(j)
    result.jobs = jobs
    return result


def _listing(fs, folder: str):
    """The names in ``folder`` (a set; empty when it does not exist yet), after making it when it is local;
    or the one-line cause why it cannot be made."""
    from .write import OutputError, ensure_folder
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
