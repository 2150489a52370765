"""Image files at fsspec URLs (``s3://bucket/scans/a.jpg``, ``gs://...``, ``memory://...``, ``file:///abs/a.jpg``),
for the cluster mode of ``tinct colorize``. A plain path is never a URL: local files keep files.jobs' code.

Writing is atomic, and never over an existing file or object unless asked (``overwrite``):

- ``file://``: the local atomic writer (temporary file, fsync, link or rename: files.write / files.atomic);
- stores whose put is atomic (S3, GCS, Azure, memory; :data:`ATOMIC_PUT`): one put of the complete bytes, so no
  object exists under the final name until it is whole (an upload cut off, multipart included, leaves none);
- any other file system: the bytes under a hidden temporary name in the destination folder
  (``.tinct-<pid>-<tag><random>.part``), then moved onto the final name; on an error the temporary is removed.

fsspec (and a store's backend, e.g. s3fs) is imported only when a URL is used; credentials come from the usual
places (environment variables, ``~/.aws``, fsspec's configuration)."""
from __future__ import annotations

import io
import os
import posixpath
import re
import secrets
from pathlib import Path

URL_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)(?:://|::)")   # also fsspec's chained simplecache::s3://...
ATOMIC_PUT = frozenset({"s3", "s3a", "gs", "gcs", "abfs", "abfss", "az", "adl", "oss", "memory"})


def is_url(text) -> bool:
    """True for ``PROTOCOL://...`` (or chained ``PROTOCOL::...``) text (a ``Path`` never is: Path folds the
    ``//``)."""
    return isinstance(text, str) and URL_RE.match(text) is not None


def out_arg(text: str):
    """argparse type for ``-o``: a URL stays text, anything else becomes a ``Path``."""
    return text if is_url(text) else Path(text)


def protocol(url: str) -> str:
    return URL_RE.match(url).group(1).lower()


def backend_error(url: str) -> str | None:
    """None when fsspec can open ``url``'s protocol; else a one-line cause naming the package to install."""
    proto = protocol(url)
    try:
        import fsspec
        from fsspec.registry import known_implementations
    except ImportError:
        return "URLs need fsspec: pip install 'tinct[cluster]'"
    try:
        fsspec.get_filesystem_class(proto)
    except ImportError as e:
        top = known_implementations.get(proto, {}).get("class", "").split(".")[0]
        missing = getattr(e.__cause__, "name", None) or getattr(e, "name", None)
        pkg = top if top and top != "fsspec" else (missing or "").split(".")[0] or f"the backend for {proto}"
        return f"{proto}:// URLs need the {pkg} package: pip install {pkg}"
    except ValueError:
        return f"unknown URL protocol {proto}:// (no fsspec file system of that name)"
    return None


def split(url: str):
    """``url`` -> (fsspec file system, path within it)."""
    from fsspec.core import url_to_fs
    return url_to_fs(url)


def local_fs():
    from fsspec.implementations.local import LocalFileSystem
    return LocalFileSystem()


def _protocols(fs) -> tuple:
    return (fs.protocol,) if isinstance(fs.protocol, str) else tuple(fs.protocol)


def is_local(fs) -> bool:
    return "file" in _protocols(fs)


def join(base: str, *parts: str) -> str:
    """``base`` (URL or path, as written) with '/'-separated ``parts`` appended; empty parts are dropped."""
    parts = [p.strip("/") for p in parts if p and p.strip("/")]
    if not parts:
        return base
    return (base if base.endswith("/") else base + "/") + "/".join(parts)


def exists(name: str) -> bool:
    """Whether the file or object ``name`` (URL or local path) exists."""
    if not is_url(name):
        return os.path.lexists(name)
    fs, path = split(name)
    return fs.exists(path)


def list_images(fs, root: str, recursive: bool) -> list[str]:
    """Image files (by extension) under folder ``root`` of ``fs``, as sorted '/'-separated paths relative to it.
    Hidden names (a part starting with '.', temporary files included) are left out."""
    from .read import IMAGE_EXTENSIONS
    root = root.rstrip("/")
    found = []
    for p in fs.find(root, maxdepth=None if recursive else 1, withdirs=False):
        p = p.rstrip("/")
        if not p.startswith(root + "/"):
            continue
        rel = p[len(root) + 1:]
        if any(part.startswith(".") for part in rel.split("/")):
            continue
        if posixpath.splitext(rel)[1].lower() in IMAGE_EXTENSIONS:
            found.append(rel)
    return sorted(found)


def read_source(url: str, max_pixels: int):
    """The image at ``url`` -> files.jobs.Source (upright RGB/RGBA, EXIF), as files.jobs.read_source does for
    a file. Raises ImageError (empty or undecodable) or the store's OSError."""
    from .jobs import source_of
    from .read import ImageError, open_image
    fs, path = split(url)
    data = fs.cat_file(path)
    if not data:
        raise ImageError("empty file")
    return source_of(open_image(io.BytesIO(data), max_pixels))


def write_result(url: str, out_img, src, fmt: str | None, overwrite: bool, tag: str = "") -> None:
    """Encode ``out_img`` as ``fmt`` (default: from the extension) with ``src``'s EXIF, exactly as
    files.write.save_image does, and write it to ``url`` atomically (see the module's docstring)."""
    from .write import OutputError, encode_bytes, format_for, save_image
    fs, path = split(url)
    if is_local(fs):
        save_image(out_img, path, fmt, overwrite=overwrite, exif=src.exif)
        return
    fmt = fmt or format_for(path)
    if fmt is None:
        raise OutputError(f"cannot write {posixpath.splitext(path)[1] or 'files without an extension'}")
    put_bytes(fs, path, encode_bytes(out_img, fmt, src.exif), overwrite=overwrite, tag=tag)


def put_bytes(fs, path: str, data: bytes, overwrite: bool = False, direct: bool | None = None,
              tag: str = "") -> None:
    """Write ``data`` to ``path`` of ``fs``, never partially: the local atomic writer for local files, one put
    where ``direct`` (default: the store's put is atomic, :data:`ATOMIC_PUT`), else a temporary name then a move. Raises OutputExists (``path``
    exists and not ``overwrite``) or OutputError; on any error no temporary is left behind."""
    from .jobs import cause
    from .write import OutputError, OutputExists, write_atomic
    if is_local(fs):
        write_atomic(path, lambda f: f.write(data), overwrite=overwrite)
        return
    name = fs.unstrip_protocol(path)
    exists = OutputExists(f"{name} already exists (use --overwrite to replace it)")
    if direct is None:
        direct = atomic_put(fs)
    try:
        if not overwrite and fs.exists(path):
            raise exists
        if direct:
            fs.pipe_file(path, data)
            return
        folder = posixpath.dirname(path)
        fs.makedirs(folder, exist_ok=True)
        tmp = f"{folder}/{temp_name(tag)}"
        try:
            fs.pipe_file(tmp, data)
            if not overwrite and fs.exists(path):
                raise exists
            fs.mv(tmp, path)
        except BaseException:
            remove_quietly(fs, tmp)
            raise
    except OutputError:
        raise
    except Exception as e:
        raise OutputError(f"cannot write {name}: {cause(e)}") from None


def atomic_put(fs) -> bool:
    return any(p in ATOMIC_PUT for p in _protocols(fs))


def temp_name(tag: str = "") -> str:
    """A hidden temporary name of the files.atomic form; ``tag`` (hex) marks the job that made it."""
    from .atomic import TEMP_PREFIX, TEMP_SUFFIX
    return f"{TEMP_PREFIX}{os.getpid()}-{tag}{secrets.token_hex(4)}{TEMP_SUFFIX}"


def remove_quietly(fs, path: str) -> None:
    try:
        if fs.exists(path):
            fs.rm_file(path)
    except Exception:
        pass


def remove_temps(fs, folder: str, tag: str) -> int:
    """Remove the temporary files of job ``tag`` left in ``folder`` (by workers killed mid-write)."""
    from .atomic import TEMP_PREFIX, TEMP_SUFFIX
    pattern = re.compile(rf"^{re.escape(TEMP_PREFIX)}\d+-{re.escape(tag)}[0-9a-f]+{re.escape(TEMP_SUFFIX)}$")
    try:
        names = fs.ls(folder, detail=False)
    except Exception:
        return 0
    n = 0
    for p in names:
        if pattern.match(posixpath.basename(p.rstrip("/"))):
            remove_quietly(fs, p)
            n += 1
    return n
