"""Reading images safely: one function that returns an upright RGB(A) PIL image or raises ImageError."""
from __future__ import annotations

import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm"}
DEFAULT_MAX_PIXELS = 100_000_000  # 100 MP; larger files are refused before decoding


# Decoders tinct lets Pillow use: raster formats decoded in-process. Never EPS/PS/PDF (Pillow would start
# Ghostscript, a PostScript interpreter) or any other plugin that may call an external program. (Multi-picture
# JPEGs, MPO, come through the JPEG opener.)
ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "TIFF", "BMP", "GIF", "PPM", "TGA", "PCX", "SGI", "QOI")
_REFUSED_MAGIC = {b"%!PS": "PostScript/EPS", b"\xc5\xd0\xd3\xc6": "EPS", b"%PDF": "PDF"}


def list_images(folder) -> list:
    """Image files (by extension) under ``folder``, searched recursively, sorted, as ``Path``s."""
    from pathlib import Path
    return sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())


class ImageError(Exception):
    """An input that cannot be used; the message is one line naming the cause."""


class NotAnImage(ImageError):
    """Not a file of an allowed raster format (unknown, or refused such as EPS/PDF)."""


def open_raster(source) -> Image.Image:
    """``Image.open`` restricted to :data:`ALLOWED_FORMATS` (lazy: nothing decoded yet). Raises
    :class:`NotAnImage` for anything else, naming PostScript/EPS/PDF when that is what it is."""
    try:
        return Image.open(source, formats=ALLOWED_FORMATS)
    except UnidentifiedImageError:
        head = _head(source)
        for magic, name in _REFUSED_MAGIC.items():
            if head.startswith(magic):
                raise NotAnImage(f"{name} files are refused (they need an external interpreter); "
                                 "convert to PNG or JPEG first") from None
        raise NotAnImage("not an image file (unrecognized format; tinct reads JPEG, PNG, WebP, TIFF, BMP, GIF, "
                         "PPM, TGA, PCX, SGI, QOI)") from None


def _head(source, n: int = 8) -> bytes:
    try:
        if hasattr(source, "read"):
            source.seek(0)
            head = source.read(n)
            source.seek(0)
            return head
        with open(source, "rb") as f:
            return f.read(n)
    except (OSError, ValueError):
        return b""


def open_image(source, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Open ``source`` (path or file object), apply EXIF orientation, take the first frame, and return an
    ``RGB`` or ``RGBA`` image fully decoded. Raises :class:`ImageError` with a one-line cause."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = open_raster(source)
            w, h = img.size
            if w * h > max_pixels:
                raise ImageError(f"image is {w}x{h} = {_mp(w * h)}, over the limit of {_mp(max_pixels)}")
            if img.tell() != 0:  # an opened image is at its first frame; some formats cannot seek at all
                img.seek(0)
            img.load()
            img = ImageOps.exif_transpose(img)
            return to_rgb(img)
    except ImageError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageError(_cause(e)) from None
    except Exception as e:  # decoders raise many types (OSError, ValueError, NotImplementedError, AttributeError...)
        raise ImageError(f"cannot decode image: {_cause(e)}") from None


def _mp(pixels: int) -> str:
    return f"{pixels / 1e6:.1f} MP" if pixels >= 100_000 else f"{pixels} pixels"


def _cause(e: Exception) -> str:
    msg = str(e).splitlines()[0] if str(e) else type(e).__name__
    if isinstance(e, UnidentifiedImageError):
        return "not an image file (unrecognized format)"
    if isinstance(e, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
        return "refused as a possible decompression bomb: " + msg
    return msg


def to_rgb(img: Image.Image) -> Image.Image:
    """Any PIL mode -> ``RGB``, or ``RGBA`` when the image carries transparency."""
    if img.mode in ("RGB", "RGBA"):
        return img
    has_alpha = img.mode in ("LA", "PA", "La") or (img.mode == "P" and "transparency" in img.info)
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16/32-bit grey: scale to 8 bits
        img = Image.fromarray(_grey_to_8bit(img), "L")
    if img.mode == "F":
        import numpy as np
        a = np.asarray(img, dtype=np.float64)
        img = Image.fromarray((a.clip(0, 1) * 255).round().astype("uint8") if a.max() <= 1 else a.clip(0, 255).astype("uint8"), "L")
    return img.convert("RGBA" if has_alpha else "RGB")


def _grey_to_8bit(img: Image.Image, band_pixels: int = 1 << 18):
    """16/32-bit grey -> uint8 (H, W): ``round(v * 255 / top)`` clipped to 0-255, ``top`` = 65535 when any value
    exceeds 255, else 255. Integer maths, 256 K pixels at a time, so a 40 MP 16-bit scan costs its own size
    plus the 8-bit result, not several float64 copies (1.8 GB)."""
    import numpy as np
    a = np.asarray(img)
    top = 65535 if a.max() > 255 else 255
    out = np.empty(a.shape, np.uint8)
    rows = max(1, band_pixels // max(a.shape[1], 1))
    for y in range(0, a.shape[0], rows):
        band = a[y:y + rows].astype(np.int64)
        out[y:y + rows] = ((band * 255 + top // 2) // top).clip(0, 255)
    return out
