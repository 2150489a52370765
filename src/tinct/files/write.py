"""Writing result images safely: never a half-written or zero-byte file, never an accidental overwrite.

A file is written with :func:`tinct.files.atomic.write_atomic` (a hidden temporary file in the destination folder,
fsynced, then published in one step): ``os.link`` (fails if the name exists, so nothing is overwritten even by
a concurrent writer) or, with ``overwrite=True``, ``os.replace``. On any error the temporary file is removed.
A process killed with SIGKILL can leave a temporary file behind but never a partial output;
:func:`clean_stale_temps` removes the temporary files of processes that are no longer running.
"""
from __future__ import annotations

import io
import os
from pathlib import Path

from PIL import Image

from . import atomic as io_atomic
from .atomic import TEMP_RE, clean_stale_temps  # noqa: F401 - part of this module's interface

# Formats tinct writes, by file extension (lower case). Anything else becomes PNG.
EXT_FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".jpe": "JPEG", ".png": "PNG", ".webp": "WEBP",
               ".tif": "TIFF", ".tiff": "TIFF", ".bmp": "BMP"}
FORMAT_EXT = {"JPEG": ".jpg", "MPO": ".jpg", "PNG": ".png", "WEBP": ".webp", "TIFF": ".tif", "BMP": ".bmp"}
# Encoder settings (size and time of each choice measured in BENCHMARKS.md, benchmarks/bench_encoders.py):
JPEG_QUALITY = 95
JPEG_SUBSAMPLING = "4:2:0"   # the colour is predicted at 1/4 resolution anyway; 4:4:4 is 1.2x the size
PNG_COMPRESS_LEVEL = 1       # zlib level 1: 0.25x the time of Pillow's default level 6 for 1.1x the size
WEBP_QUALITY = 95
WEBP_METHOD = 2              # 0.5x the time of Pillow's default method 4, same size
ORIENTATION_TAG = 0x0112


class OutputError(Exception):
    """The result could not be written; the message is one line naming the cause."""


class OutputExists(OutputError):
    """The destination exists and overwriting was not asked for."""


def is_temp_name(name: str) -> bool:
    return TEMP_RE.match(name) is not None


def format_for(path) -> str | None:
    """The format tinct writes for ``path``'s extension, or None if it does not write that extension."""
    return EXT_FORMATS.get(Path(path).suffix.lower())


def prepare_image(img: Image.Image, fmt: str) -> Image.Image:
    """Make ``img`` (RGB or RGBA) storable as ``fmt``: JPEG has no alpha, so RGBA is flattened onto white."""
    if fmt == "JPEG" and img.mode == "RGBA":
        bg = Image.new("RGB", img.size, (255, 255, 255))
        bg.paste(img, mask=img.getchannel("A"))
        return bg
    return img


def _save_kwargs(img: Image.Image, fmt: str, exif) -> dict:
    kw: dict = {}
    if fmt == "JPEG":
        kw.update(quality=JPEG_QUALITY, subsampling=JPEG_SUBSAMPLING)
    elif fmt == "PNG":
        kw["compress_level"] = PNG_COMPRESS_LEVEL
    elif fmt == "WEBP":
        kw.update(quality=WEBP_QUALITY, method=WEBP_METHOD)
    elif fmt == "TIFF":
        kw["compression"] = "tiff_deflate"
    if exif is not None and fmt in ("JPEG", "PNG", "WEBP"):
        try:
            if not isinstance(exif, Image.Exif):  # raw EXIF bytes
                raw, exif = bytes(exif), Image.Exif()
                exif.load(raw)
            if ORIENTATION_TAG in exif:
                del exif[ORIENTATION_TAG]  # pixels are already upright
            data = exif.tobytes() if len(exif) else b""
            if data:
                kw["exif"] = data
        except Exception:  # malformed metadata is dropped, never a reason to fail
            pass
    return kw


def encode(img: Image.Image, fmt: str, stream, exif=None) -> None:
    """Encode ``img`` as ``fmt`` into a binary stream (alpha flattened for JPEG; no orientation tag)."""
    img = prepare_image(img, fmt)
    kw = _save_kwargs(img, fmt, exif)
    try:
        img.save(stream, fmt, **kw)
    except Exception:
        if "exif" not in kw:
            raise
        kw.pop("exif")  # retry without the metadata
        stream.seek(0)
        stream.truncate()
        img.save(stream, fmt, **kw)


def encode_bytes(img: Image.Image, fmt: str, exif=None) -> bytes:
    buf = io.BytesIO()
    encode(img, fmt, buf, exif)
    return buf.getvalue()


def _cause(e: OSError) -> str:
    return e.strerror or str(e) or type(e).__name__


def ensure_folder(folder) -> None:
    """Create ``folder`` (and parents) if missing; raise OutputError with a one-line cause if impossible."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(f"cannot create folder {folder}: a file of that name exists") from None
    except OSError as e:
        raise OutputError(f"cannot create folder {folder}: {_cause(e)}") from None
    if not folder.is_dir():
        raise OutputError(f"cannot write to {folder}: not a folder")


def write_atomic(path, write, overwrite: bool = False) -> None:
    """Create ``path`` with ``write(fileobj)`` filling it, atomically (io_atomic.write_atomic): link (no
    overwrite) or replace (``overwrite``). Raises OutputExists or OutputError; on any error (or
    KeyboardInterrupt) nothing is left behind."""
    path = Path(path)
    ensure_folder(path.parent)
    exists = OutputExists(f"{path} already exists (use --overwrite to replace it)")
    if not overwrite and os.path.lexists(path):
        raise exists
    try:
        io_atomic.write_atomic(path, write, exclusive=not overwrite)
    except FileExistsError:
        raise exists from None
    except OSError as e:
        raise OutputError(f"cannot write {path}: {_cause(e)}") from None


def save_image(img: Image.Image, path, fmt: str | None = None, overwrite: bool = False, exif=None) -> None:
    """Encode ``img`` as ``fmt`` (default: from the extension) and write it atomically to ``path``."""
    fmt = fmt or format_for(path)
    if fmt is None:
        raise OutputError(f"cannot write {Path(path).suffix or 'files without an extension'}: "
                          f"use one of {', '.join(sorted(EXT_FORMATS))}")
    write_atomic(path, lambda f: encode(img, fmt, f, exif), overwrite)
