"""Listing input folders for ``tinct colorize``: the photos and the videos in a folder (``-r``: its subfolders),
hidden names, the -o folder and earlier ``<stem>_color`` outputs left out."""
from __future__ import annotations

import os
from pathlib import Path

from .jobs import cause, is_sibling_output, show

VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v")
VIDEO_OUT_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv", ".avi")   # containers tinct writes H.264 into


def video_out_suffix(name) -> str:
    """The output extension for a video input: its own when tinct can write it, else .mkv (WebM)."""
    s = os.path.splitext(str(name))[1].lower()
    return s if s in VIDEO_OUT_SUFFIXES else ".mkv"


def _real(path) -> str:
    return os.path.normcase(os.path.realpath(path))


def list_folder(root: Path, suffixes, recursive: bool, skip_dir: str | None, skip_siblings: bool,
                errors: list) -> list[Path]:
    """Files under ``root`` whose extension is in ``suffixes``, sorted per folder; ``skip_dir``: the real path
    of a folder left out (the -o folder); ``skip_siblings``: leave out ``<stem>_color`` files beside a file of
    that stem. A folder that cannot be read adds (name, cause) to ``errors``."""
    found = []

    def unreadable(e: OSError):
        errors.append((show(e.filename if e.filename is not None else root), f"cannot read folder: {cause(e)}"))
    for folder, dirs, files in os.walk(root, onerror=unreadable):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                         and (skip_dir is None or _real(os.path.join(folder, d)) != skip_dir))
        if not recursive:
            dirs[:] = []
        names = [f for f in files if not f.startswith(".") and os.path.splitext(f)[1].lower() in suffixes
                 and os.path.isfile(os.path.join(folder, f))]
        stems = {os.path.splitext(f)[0] for f in names}
        for f in sorted(names):
            if skip_siblings and is_sibling_output(os.path.splitext(f)[0], stems):
                continue
            found.append(Path(folder) / f)
    return found


def has_subfolders(p: Path) -> bool:
    try:
        return any(e.is_dir() and not e.name.startswith(".") for e in os.scandir(p))
    except OSError:
        return False
