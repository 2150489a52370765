"""The one way tinct writes a file that must never be seen half-written (outputs, checkpoints, model files,
shards, ONNX exports, training images): a temporary file in the destination folder, flushed and fsynced, then
published in one step and the folder fsynced. On any failure, ``KeyboardInterrupt`` included, the temporary
file is removed and the exception propagates unchanged (an ``OSError`` keeps its ``errno``, e.g. ``ENOSPC``).

Temporary names are ``.tinct-<pid>-<random>.part``: hidden, not an image extension (folder listings skip
them), and tied to the writing process so that a later run can remove those of killed processes
(:func:`clean_stale_temps`).
"""
from __future__ import annotations

import errno
import os
import re
import secrets
from pathlib import Path

TEMP_PREFIX = ".tinct-"
TEMP_SUFFIX = ".part"
TEMP_RE = re.compile(r"^\.tinct-(\d+)-[0-9a-f]+\.part$")
DISK_FULL = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))
# where hard links are impossible, an exclusive publish falls back to check-then-rename
_NO_LINK = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK, errno.ENOSYS, errno.EACCES}


def write_atomic(path, write, exclusive: bool = False, mode: int | None = None) -> Path:
    """Create or replace ``path`` with ``write(binary_file)`` filling it. ``exclusive``: never replace an
    existing ``path`` (``FileExistsError``; published with ``os.link``). ``mode``: permission bits for the new
    file (default: 0o666 less the umask)."""
    path = Path(path)
    folder = path.parent
    tmp = folder / f"{TEMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}{TEMP_SUFFIX}"
    f = open(tmp, "xb")
    try:
        with f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        _publish(tmp, path, exclusive)
    finally:
        try:
            os.unlink(tmp)  # after a link or a failure; already gone after a rename
        except OSError:
            pass
    fsync_dir(folder)
    return path


def write_bytes_atomic(path, data: bytes, **kw) -> Path:
    return write_atomic(path, lambda f: f.write(data), **kw)


def _publish(tmp: Path, path: Path, exclusive: bool) -> None:
    if exclusive:
        try:
            os.link(tmp, path)
            return
        except OSError as e:
            if isinstance(e, FileExistsError) or e.errno not in _NO_LINK:
                raise
        if os.path.lexists(path):  # no hard links on this file system: a tiny race, never a partial file
            raise FileExistsError(errno.EEXIST, "File exists", str(path))
    os.replace(tmp, path)


def fsync_dir(folder) -> None:
    """Make a rename in ``folder`` durable (best effort: not every platform can open a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def is_disk_full(e: BaseException) -> bool:
    return isinstance(e, OSError) and e.errno in DISK_FULL


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def clean_stale_temps(folder) -> int:
    """Remove temporary files in ``folder`` left by processes that no longer run. Returns the count."""
    n = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for e in entries:
        m = TEMP_RE.match(e.name)
        if m and not _pid_alive(int(m.group(1))):
            try:
                os.unlink(e.path)
                n += 1
            except OSError:
                pass
    return n
