"""Reference colours (issue 27): a colour photo or a palette steers the whole picture, training-free.

A reference is analysed once into a :class:`ReferencePrior`: its soft ab histogram over the model's bins per
lightness band (:func:`tinct.color.ab_histogram.ab_histogram`), each band shrunk towards the reference's global
histogram where the band has few pixels, then floored with a little of the training prior so that no bin is
ruled out. At decode time the network's logits at each pixel are re-weighted

    logits + strength * sum_b w_b(L) * (log q_b - log p_train)

where ``w_b(L)`` are the pixel's soft lightness-band weights and ``p_train`` the training prior stored in the
model file; decoding then goes on as usual. ``strength`` 0 is the automatic result. Point hints still win
where they are (they are network inputs and are propagated after decoding).

Analyses are cached by content (a folder or a clip with one reference pays once).
"""
from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ..color import lab_to_rgb, rgb_from_u8, rgb_to_lab
from ..color.ab_histogram import DEFAULT_BANDS, DEFAULT_STRENGTH, ab_histogram, band_centres, band_weights
from ..files.read import DEFAULT_MAX_PIXELS, ImageError, open_image, to_rgb

ANALYSIS_PIXELS = 128 * 128  # a reference is analysed at about this many pixels (its colours, not its detail)
MATCH_PIXELS = 320 * 320     # ... and kept at about this many for local matching (the network's own scale)
SHRINK = 0.25               # per band: pseudo-mass of the global histogram, as a fraction of the mean band mass
FLOOR = 0.05                # share of the training prior mixed into q, so a bin absent from the reference is
                            # penalised (by about log FLOOR * strength), never forbidden
PRIOR_MIN = 1e-4            # the training prior is clamped here: bins training never saw are not boosted without end
PALETTE_SIGMA = 10.0        # a palette colour stands for a neighbourhood of colours, wider than one pixel's code
NO_COLOUR_CHROMA = 4.0      # a reference whose 95th percentile chroma (ab length) is below this has no colour
_CACHE_SIZE = 32
_cache: OrderedDict = OrderedDict()
_lock = threading.Lock()


class ReferenceError(ImageError):
    """A reference or palette that cannot be used; the message is one line."""


@dataclass(frozen=True)
class ReferencePrior:
    """Soft ab distributions ``q`` ``(B, Q)`` (rows sum to 1) for the lightness bands ``bands`` ``(B,)``, and the
    reference's dominant colours (``swatches``: dicts ``{"color": "#rrggbb", "weight": w}``) for display. A photo
    reference also keeps ``source``, a copy of about :data:`MATCH_PIXELS` (uint8 RGB), for local correspondence
    (pipeline/reference_local.py), and ``key``, its content hash."""
    q: torch.Tensor
    bands: torch.Tensor
    swatches: list = field(default_factory=list, compare=False)
    source: np.ndarray | None = field(default=None, compare=False, repr=False)   # the photo, for local matching
    key: str | None = field(default=None, compare=False)                      # its content hash (None: a palette)

    def log_ratio(self, prior: torch.Tensor) -> torch.Tensor:
        """``(B, Q)`` log q_b - log p_train, with q floored by the training prior (:data:`FLOOR`)."""
        p = prior.double().clamp(min=PRIOR_MIN)
        p = p / p.sum()
        q = (1 - FLOOR) * self.q.double() + FLOOR * p.view(1, -1)
        return (q.log() - p.log().view(1, -1)).float()


def reweight_logits(logits: torch.Tensor, l: torch.Tensor, ratio: torch.Tensor, bands: torch.Tensor,
                    strength: float) -> torch.Tensor:
    """Logits ``(N, Q, h, w)`` + ``strength`` x the per-pixel mix of ``ratio`` ``(B, Q)`` by the lightness band
    of each pixel of ``l`` (``(N, 1, H, W)``, L 0-100, any size: resized to the logits' grid)."""
    if strength == 0:
        return logits
    ratio = ratio.to(logits)
    if len(bands) == 1:
        return logits + strength * ratio.view(1, -1, 1, 1)
    delta = band_weights_on_grid(l, bands, logits) @ (strength * ratio)     # (N, h, w, Q): the bins innermost,
    return delta.add_(logits.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)       # as channels-last logits and the decode


def band_weights_on_grid(l: torch.Tensor, bands: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """``(N, h, w, B)``: each place's weights over the lightness ``bands`` on the grid of ``logits``
    ``(N, Q, h, w)`` (their device and dtype), from ``l`` (``(N, 1, H, W)``, L 0-100, any size)."""
    ls = F.interpolate(l.float().to(logits.device), size=logits.shape[-2:], mode="area")[:, 0]     # (N, h, w)
    return band_weights(ls, bands.to(logits.device)).to(logits).permute(1, 2, 3, 0)


# --- analysis ---------------------------------------------------------------------------------------------
def _shrunk(hist: torch.Tensor) -> torch.Tensor:
    """Per-band histograms ``(B, Q)`` -> distributions, each band shrunk towards the global one (:data:`SHRINK`)."""
    total = hist.sum(0, keepdim=True)
    g = total / total.sum().clamp(min=1e-12)
    kappa = SHRINK * float(total.sum()) / len(hist)
    q = (hist + kappa * g) / (hist.sum(1, keepdim=True) + kappa)
    return (q / q.sum(1, keepdim=True)).float()


def _swatches(q: torch.Tensor, centres: torch.Tensor, lab_mean_l: float = 60.0, count: int = 6,
              merge: float = 20.0) -> list:
    """The dominant colours of a global distribution ``q`` ``(Q,)``: greedy modes (bins within ``merge`` ab join)."""
    modes: list = []
    for i in q.argsort(descending=True).tolist():
        ab = centres[i]
        near = [m for m in modes if float((m[0] - ab).norm()) < merge]
        if near:
            near[0][1] += float(q[i])
        else:
            modes.append([ab.clone(), float(q[i])])
    out = []
    for ab, w in sorted(modes, key=lambda m: -m[1])[:count]:
        rgb = lab_to_rgb(torch.tensor([lab_mean_l, float(ab[0]), float(ab[1])]).view(3, 1, 1))
        c = (rgb.view(3).clamp(0, 1) * 255).round().int().tolist()
        out.append({"color": "#%02x%02x%02x" % tuple(c), "weight": round(w, 4)})
    return out


def _shrink(rgb: np.ndarray, pixels: int) -> np.ndarray:
    """uint8 RGB ``(H, W, 3)`` resized (box filter) to about ``pixels`` if larger."""
    h, w = rgb.shape[:2]
    s = min(1.0, (pixels / (h * w)) ** 0.5)
    if s < 1:
        rgb = np.asarray(Image.fromarray(rgb).resize((max(1, round(w * s)), max(1, round(h * s))), Image.BOX))
    return rgb


def _lab_pixels(rgb: np.ndarray) -> torch.Tensor:
    """uint8 RGB ``(H, W, 3)`` -> Lab ``(3, N)`` of a copy resized to about :data:`ANALYSIS_PIXELS`."""
    return rgb_to_lab(rgb_from_u8(_shrink(rgb, ANALYSIS_PIXELS))).reshape(3, -1)


def check_colour(rgb: np.ndarray) -> torch.Tensor:
    """Raise :class:`ReferenceError` "reference has no colour" for a grey or nearly grey photo (95th percentile
    chroma below :data:`NO_COLOUR_CHROMA`); -> its Lab pixels ``(3, N)`` at analysis size."""
    lab = _lab_pixels(rgb)
    chroma = lab[1:].norm(dim=0)
    if len(chroma) == 0 or float(torch.quantile(chroma, 0.95)) < NO_COLOUR_CHROMA:
        raise ReferenceError("reference has no colour")
    return lab


def analyse_rgb(rgb: np.ndarray, centres: torch.Tensor, bands: int = DEFAULT_BANDS, key: str | None = None
                ) -> ReferencePrior:
    """A colour photo (uint8 RGB ``(H, W, 3)``) -> its :class:`ReferencePrior`. Raises :class:`ReferenceError`
    ("reference has no colour") for a grey or nearly grey photo."""
    lab = check_colour(rgb)
    hist = ab_histogram(lab, centres, band_centres(bands))
    q = _shrunk(hist)
    glob = hist.sum(0) / hist.sum()
    key = key or hashlib.sha1(rgb.tobytes()).hexdigest() + str(rgb.shape)
    return ReferencePrior(q, band_centres(bands), _swatches(glob.float(), centres, float(lab[0].mean())),
                          np.ascontiguousarray(_shrink(rgb, MATCH_PIXELS)), key)


def read_reference(reference, max_pixels: int | None = None) -> np.ndarray:
    """A path, PIL image or uint8 ndarray -> uint8 RGB ``(H, W, 3)``. Paths go through the safe reader and pixel
    limit of photos (files/read.py); errors are :class:`ReferenceError` naming the file."""
    max_pixels = max_pixels or DEFAULT_MAX_PIXELS
    if isinstance(reference, (str, Path)):
        try:
            img = open_image(reference, max_pixels)
        except ImageError as e:
            raise ReferenceError(f"reference {reference}: {e}") from None
        except OSError as e:
            raise ReferenceError(f"reference {reference}: {e.strerror or e}") from None
        reference = img
    if isinstance(reference, Image.Image):
        if reference.width * reference.height > max_pixels:
            raise ReferenceError(f"reference is {reference.width}x{reference.height}, over the pixel limit")
        arr = np.asarray(to_rgb(reference).convert("RGB"))
    elif isinstance(reference, np.ndarray):
        if reference.dtype != np.uint8 or reference.ndim not in (2, 3):
            raise ReferenceError(f"reference array must be uint8 (H, W) or (H, W, 3|4), not {reference.dtype} "
                                 f"{reference.shape}")
        arr = reference if reference.ndim == 3 else np.repeat(reference[:, :, None], 3, 2)
        arr = np.ascontiguousarray(arr[:, :, :3])
        if arr.shape[0] * arr.shape[1] > max_pixels:
            raise ReferenceError(f"reference is {arr.shape[1]}x{arr.shape[0]}, over the pixel limit")
    else:
        raise ReferenceError(f"cannot use a {type(reference).__name__} as a reference; give a path, PIL image "
                             "or uint8 array")
    return arr


def _cached(key, make):
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    value = make()
    with _lock:
        _cache[key] = value
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return value


def analyse_reference(reference, centres: torch.Tensor, max_pixels: int = DEFAULT_MAX_PIXELS,
                      bands: int = DEFAULT_BANDS) -> ReferencePrior:
    """A reference (path, PIL image, uint8 array, or an already analysed :class:`ReferencePrior`) -> its prior,
    cached by content and analysis settings."""
    if isinstance(reference, ReferencePrior):
        return reference
    rgb = read_reference(reference, max_pixels)
    ckey = ("ref", hashlib.sha1(rgb.tobytes()).hexdigest(), rgb.shape, bands,
            hashlib.sha1(centres.numpy().tobytes()).hexdigest())
    return _cached(ckey, lambda: analyse_rgb(rgb, centres, bands, f"{ckey[1]}{rgb.shape}"))


# --- palettes ---------------------------------------------------------------------------------------------
_HEX = re.compile(r"^#?([0-9a-fA-F]{6})$")


def parse_colour(c) -> tuple[int, int, int]:
    """"#rrggbb" (or "rrggbb") or an (r, g, b) of 0-255 integers -> (r, g, b). Raises ReferenceError."""
    if isinstance(c, str):
        m = _HEX.match(c.strip())
        if not m:
            raise ReferenceError(f"invalid palette colour {c!r} (give #rrggbb)")
        v = m.group(1)
        return int(v[0:2], 16), int(v[2:4], 16), int(v[4:6], 16)
    try:
        t = tuple(c)
    except TypeError:
        raise ReferenceError(f"invalid palette colour {c!r} (give #rrggbb or (r, g, b))") from None
    if len(t) != 3 or not all(isinstance(x, (int, np.integer)) and 0 <= x <= 255 for x in t):
        raise ReferenceError(f"invalid palette colour {c!r} (give #rrggbb or (r, g, b) of 0-255 integers)")
    return tuple(int(x) for x in t)


def parse_palette(palette) -> list[tuple[tuple[int, int, int], float]]:
    """A palette: a list of colours ("#rrggbb", (r, g, b)) or (colour, weight) pairs / {"color", "weight"} dicts
    -> [((r, g, b), weight)]. Weights must be > 0 (default 1). Raises ReferenceError."""
    if isinstance(palette, str) or not hasattr(palette, "__iter__"):
        raise ReferenceError("a palette is a list of colours")
    out = []
    for item in palette:
        weight = 1.0
        if isinstance(item, dict):
            colour, weight = item.get("color"), item.get("weight", 1.0)
        elif isinstance(item, (list, tuple)) and len(item) == 2:
            colour, weight = item
        else:
            colour = item
        try:
            weight = float(weight)
        except (TypeError, ValueError):
            raise ReferenceError(f"invalid palette weight {weight!r}") from None
        if not (weight > 0 and np.isfinite(weight)):
            raise ReferenceError(f"invalid palette weight {weight!r} (must be > 0)")
        out.append((parse_colour(colour), weight))
    if not out:
        raise ReferenceError("the palette is empty")
    return out


def palette_prior(palette, centres: torch.Tensor) -> ReferencePrior:
    """A palette (see :func:`parse_palette`) -> a global (one band) :class:`ReferencePrior`, cached."""
    pal = parse_palette(palette)
    ckey = ("palette", tuple(pal), hashlib.sha1(centres.numpy().tobytes()).hexdigest())

    def make():
        rgb = np.array([[c for c, _ in pal]], np.uint8)                     # (1, n, 3)
        lab = rgb_to_lab(rgb_from_u8(rgb)).reshape(3, -1)
        w = torch.tensor([w for _, w in pal], dtype=torch.float64)
        hist = ab_histogram(lab, centres, None, w, k=9, sigma=PALETTE_SIGMA)
        q = (hist / hist.sum()).float()
        sw = [{"color": "#%02x%02x%02x" % c, "weight": round(w / float(sum(x for _, x in pal)), 4)} for c, w in pal]
        return ReferencePrior(q, band_centres(1), sw)
    return _cached(ckey, make)


def combine(a: ReferencePrior | None, b: ReferencePrior | None) -> ReferencePrior | None:
    """A reference and a palette together: the mean of their distributions (a one-band one broadcast to the
    other's bands)."""
    if a is None or b is None:
        return a or b
    if len(a.bands) < len(b.bands):
        a, b = b, a
    photo = a if a.source is not None else b
    return ReferencePrior((a.q + b.q.expand_as(a.q)) / 2, a.bands, a.swatches + b.swatches, photo.source, photo.key)


def resolve(reference, palette, centres: torch.Tensor, max_pixels: int = DEFAULT_MAX_PIXELS
            ) -> ReferencePrior | None:
    """``reference`` and/or ``palette`` (either may be None) -> one :class:`ReferencePrior` or None."""
    ref = None if reference is None else analyse_reference(reference, centres, max_pixels)
    pal = None if palette is None else palette_prior(palette, centres)
    return combine(ref, pal)
