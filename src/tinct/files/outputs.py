"""The one rule for every output of ``tinct colorize`` (photos, videos, frame sequences, folders, URLs; plain and
``--ray``), applied by the planner before any work:

- inputs and outputs are compared as real places: symlinks, ``..`` and ``file://`` URLs resolved, hard links
  caught by file identity;
- an output that *is* an input is refused, with or without ``--overwrite``;
- an output that a rerun of the same command would read as an input and colorize again elsewhere (it lies in
  a folder being listed, where the listing does not leave it out) is refused; with -o the listed folder itself
  a rerun would map such an output onto itself, which is refused then, so it is allowed;
- two inputs mapping to one output is an error naming both.

A place is a key ``(file system, path)``: ``('file', real path)`` for local files and ``file://`` URLs, else the
fsspec file system's name and its normalised path."""
from __future__ import annotations

import os
import posixpath

from .jobs import is_sibling_output, show

NEVER_OVER_INPUTS = "tinct never writes over its inputs, even with --overwrite (choose another -o)"


def local_key(path) -> tuple:
    """The key of a local path: its real path (symlinks and '..' resolved, also in missing tails)."""
    return "file", os.path.normcase(os.path.realpath(os.fspath(path)))


def fs_key(fs, path: str) -> tuple:
    """The key of ``path`` on fsspec file system ``fs`` (a local one resolves as :func:`local_key`)."""
    from .urls import is_local
    if is_local(fs):
        return local_key(path)
    norm = posixpath.normpath("/" + path.strip("/"))
    return type(fs).__name__, norm


def _inside(key: tuple, folder: tuple, directly: bool) -> bool:
    """Whether place ``key`` lies in ``folder`` (directly in it, or anywhere below)."""
    if key[0] != folder[0]:
        return False
    sep = os.sep if key[0] == "file" else "/"
    parent, child = folder[1].rstrip(sep) + sep, key[1]
    if not child.startswith(parent):
        return False
    return not directly or sep not in child[len(parent):]


def _file_id(path) -> tuple | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


class OutputRule:
    """Collects a plan's inputs (files and listed folders), then judges each output with :meth:`refuse`."""

    def __init__(self):
        self.inputs: set = set()          # keys of the input files
        self.ids: set = set()             # (device, inode) of local input files
        self.folders: list = []           # (key, recursive, left-out keys) of listed input folders
        self.outputs: dict = {}           # output key -> name of the input it belongs to

    def add_input(self, key: tuple, local_path=None) -> None:
        self.inputs.add(key)
        if local_path is not None and (fid := _file_id(local_path)) is not None:
            self.ids.add(fid)

    def add_folder(self, key: tuple, recursive: bool, left_out: tuple | None = None) -> None:
        """An input folder the command lists (``recursive``: its subfolders too); ``left_out``: the key of a
        folder inside it that the listing skips (the -o folder)."""
        self.folders.append((key, recursive, left_out))

    def refuse(self, name: str, out_key: tuple, out_name: str, local_out=None,
               sibling_names: bool = False) -> str | None:
        """None when input ``name`` may write ``out_key``, else the one-line cause. ``sibling_names``: outputs
        named ``<stem>_color`` beside an input with that stem are left out of listings (no -o). Records the output for the clash check."""
        if out_key in self.inputs or (local_out is not None and _file_id(local_out) in self.ids - {None}):
            return f"its output {show(out_name)} is one of the inputs; {NEVER_OVER_INPUTS}"
        for folder, recursive, left_out in self.folders:
            if left_out == folder:   # -o IN (--ext png): a rerun maps such an output onto itself, refused above
                continue
            if not _inside(out_key, folder, directly=not recursive):
                continue
            if left_out is not None and (out_key[1] == left_out[1] or _inside(out_key, left_out, False)):
                continue
            stem = posixpath.splitext(posixpath.basename(out_key[1].replace(os.sep, "/")))[0]
            if sibling_names and stem.endswith("_color") and self._has_sibling_input(out_key, stem):
                continue
            return (f"its output {show(out_name)} would be read as an input when the command is run again "
                    f"(it lies in the input folder {show(folder[1])}); choose an -o outside it")
        if out_key in self.outputs:
            return f"its output {show(out_name)} would also be the output of {self.outputs[out_key]}"
        self.outputs[out_key] = show(name)
        return None

    def _has_sibling_input(self, out_key: tuple, stem: str) -> bool:
        sep = os.sep if out_key[0] == "file" else "/"
        folder = out_key[1].rsplit(sep, 1)[0]
        for key in self.inputs:
            if key[0] == out_key[0] and key[1].rsplit(sep, 1)[0] == folder:
                other = posixpath.splitext(key[1].rsplit(sep, 1)[-1])[0]
                if is_sibling_output(stem, {other}):
                    return True
        return False
