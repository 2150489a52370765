"""Reading and writing for ``tinct colorize``: one input (file or stdin) into an upright PIL image with its EXIF
and format, one result out (atomically to a file, or to stdout), and the cheap checks made before any decoding."""
from __future__ import annotations

import io
import os
import stat
import sys
from dataclasses import dataclass

from .colorize_plan import Job, cause, show


@dataclass
class Source:
    image: object            # PIL image, RGB or RGBA, upright
    exif: object             # PIL Exif (orientation removed) or None
    format: str | None       # the decoder's format name


def read_source(job: Job, max_pixels: int) -> Source:
    from ..data.images import ImageError, open_image
    if job.src is None:
        data = sys.stdin.buffer.read()
        if not data:
            raise ImageError("empty input")
        stream = io.BytesIO(data)
        fmt = _peek_format(stream)
        img = open_image(stream, max_pixels)
    else:
        with open(job.src, "rb") as f:
            st = os.fstat(f.fileno())
            if st.st_size == 0 and stat.S_ISREG(st.st_mode):
                raise ImageError("empty file")
            fmt = None
            img = open_image(f, max_pixels)
    try:
        exif = img.getexif()
    except Exception:
        exif = None
    return Source(img, exif, fmt)


def _peek_format(stream) -> str | None:
    from ..data.images import open_raster
    try:
        with open_raster(stream) as im:
            return im.format
    except Exception:
        return None
    finally:
        stream.seek(0)


def write_result(job: Job, out_img, src: Source, overwrite: bool) -> None:
    from ..pipeline.output import FORMAT_EXT, encode_bytes, save_image
    if job.out is None:
        fmt = job.fmt or (src.format if src.format in FORMAT_EXT else "PNG")
        if fmt == "MPO":
            fmt = "JPEG"
        data = encode_bytes(out_img, fmt, src.exif)
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    save_image(out_img, job.out, job.fmt, overwrite=overwrite, exif=src.exif)


def precheck(job: Job, args) -> str | None:
    """-> 'skip', an error cause, or None (go ahead). Cheap checks before any decoding or compute."""
    from ..pipeline.output import OutputError, ensure_folder
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
