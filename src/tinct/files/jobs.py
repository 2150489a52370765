"""One colorize job's files: one input (file or stdin) into an upright PIL image with its EXIF and format, one
result out (atomically to a file, or to stdout), and the one-line messages that name a file and a cause.
Used by ``tinct colorize`` and by the Ray workers (``tinct.cluster``)."""
from __future__ import annotations

import io
import os
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path


def show(name) -> str:
    """A file name printable on one line (control characters escaped)."""
    s = str(name)
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in s)


def cause(e: BaseException) -> str:
    """One line saying why ``e`` happened."""
    from .read import ImageError
    from .write import OutputError
    if isinstance(e, MemoryError):
        return "out of memory"
    if isinstance(e, OSError) and not isinstance(e, OutputError) and e.strerror:
        return e.strerror[:1].lower() + e.strerror[1:]
    text = str(e).strip()
    first = text.splitlines()[0] if text else ""
    if isinstance(e, (ImageError, OutputError, ValueError)) and first:
        return show(first)
    return show(f"{type(e).__name__}: {first}" if first else type(e).__name__)


OUTPUT_SUFFIX = "_color"   # without -o, an output is <stem>_color<ext> beside its input


def output_ext(name, ext: str) -> str:
    """The extension of the output for input file ``name`` under ``--ext ext``: 'same' keeps the input's when
    tinct writes that format (else '.png'); otherwise '.' + ext."""
    from .write import format_for
    if ext == "same":
        return os.path.splitext(str(name))[1] if format_for(name) else ".png"
    return "." + ext


def is_sibling_output(stem: str, stems) -> bool:
    """Whether ``stem`` is ``<other>_color`` for another input's stem in ``stems``: an earlier output written
    beside its input, which a rerun must not take as an input."""
    return stem.endswith(OUTPUT_SUFFIX) and stem[:-len(OUTPUT_SUFFIX)] in stems


@dataclass
class Job:
    src: Path | None          # None: stdin
    name: str                 # how messages name the input
    out: Path | None          # None: stdout
    fmt: str | None = None    # output format; None: decided from the input (stdin) or the output's extension
    kind: str = "photo"       # 'photo', 'video', 'sequence' (src a frame pattern) or 'url' (src, out: URLs)
    frames: list | None = None  # a sequence's [(number, file)], in order


class UsageError(Exception):
    """A command that cannot be planned at all (one line; exit 2)."""


@dataclass
class Plan:
    jobs: list = field(default_factory=list)     # files.jobs.Job, each with its kind
    errors: list = field(default_factory=list)   # (name, cause): inputs that fail at planning
    skipped: int = 0                             # outputs that exist, skipped at planning (--skip-existing, URLs)

    def of_kind(self, *kinds: str) -> list:
        return [j for j in self.jobs if j.kind in kinds]


@dataclass
class Source:
    image: object            # PIL image, RGB or RGBA, upright
    exif: object             # PIL Exif (orientation removed) or None
    format: str | None       # the decoder's format name


def read_source(job: Job, max_pixels: int) -> Source:
    from .read import ImageError, open_image
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
    return source_of(img, fmt)


def source_of(img, fmt: str | None = None) -> Source:
    """An opened image (``open_image``) with its EXIF (None when unreadable)."""
    try:
        exif = img.getexif()
    except Exception:
        exif = None
    return Source(img, exif, fmt)


def _peek_format(stream) -> str | None:
    from .read import open_raster
    try:
        with open_raster(stream) as im:
            return im.format
    except Exception:
        return None
    finally:
        stream.seek(0)


def write_result(job: Job, out_img, src: Source, overwrite: bool) -> None:
    from .write import FORMAT_EXT, encode_bytes, save_image
    if job.out is None:
        fmt = job.fmt or (src.format if src.format in FORMAT_EXT else "PNG")
        if fmt == "MPO":
            fmt = "JPEG"
        data = encode_bytes(out_img, fmt, src.exif)
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    save_image(out_img, job.out, job.fmt, overwrite=overwrite, exif=src.exif)
