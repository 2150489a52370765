"""User colour hints -> the model's hint channels; one parser for the CLI, the web API and Python.

A hint is ``(x, y, colour[, radius])`` with colour ``"#rrggbb"`` or ``(r, g, b)``, or the web API's
``{"x", "y", "color"[, "radius"]}``: a point in input-image pixels (x right, y down, origin top-left), an
8-bit sRGB colour (only its chroma is used: lightness always comes from the photo) and a radius in input
pixels (default: about 1/100 of the image's longer side). A point outside the image is a ValueError, never
ignored. Hints are painted as discs on the network's input grid as ``(a / 110, b / 110, mask)``.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

import torch

from ..color import rgb_to_lab
from ..data.augment import HINT_SCALE
from .checks import hint_numbers
from .disc_set import DiscSet


@dataclass(frozen=True)
class Hint:
    x: float
    y: float
    rgb: tuple[int, int, int]
    radius: float | None = None


def parse_color(text: str) -> tuple[int, int, int]:
    m = re.fullmatch(r"#?([0-9a-fA-F]{6})", text.strip())
    if not m:
        raise ValueError(f"colour {text!r} is not #RRGGBB")
    h = m.group(1)
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def parse_hint_arg(text: str) -> Hint:
    """``X,Y,#RRGGBB[,RADIUS]`` (the command line's ``--hint``)."""
    parts = text.split(",")
    if len(parts) not in (3, 4):
        raise ValueError(f"hint {text!r} is not X,Y,#RRGGBB[,RADIUS]")
    try:
        x, y = float(parts[0]), float(parts[1])
        radius = float(parts[3]) if len(parts) == 4 else None
    except ValueError:
        raise ValueError(f"hint {text!r}: X, Y and RADIUS must be numbers") from None
    x, y, radius = hint_numbers(x, y, radius, f"hint {text[:40]!r}:")
    return Hint(x, y, parse_color(parts[2]), radius)


def parse_hint(h) -> Hint:
    """One hint in any accepted form -> a validated Hint (ValueError with a one-line message otherwise):
    a Hint; ``(x, y, colour[, radius])`` with colour ``"#rrggbb"`` or ``(r, g, b)``; or the web API's
    ``{"x", "y", "color"[, "radius"]}``."""
    if isinstance(h, Hint):
        x, y, colour, radius = h.x, h.y, h.rgb, h.radius
    elif isinstance(h, dict):
        unknown = set(h) - {"x", "y", "color", "radius"}
        if unknown:
            raise ValueError(f"unknown key(s) {sorted(unknown)}")
        if "x" not in h or "y" not in h or "color" not in h:
            raise ValueError("needs x, y and color")
        x, y, colour, radius = h["x"], h["y"], h["color"], h.get("radius")
        if not isinstance(colour, str):
            raise ValueError("color must be a string '#rrggbb'")
    elif isinstance(h, (tuple, list)) and len(h) in (3, 4):
        x, y, colour = h[:3]
        radius = h[3] if len(h) == 4 else None
    else:
        raise ValueError(f"hint {str(h)[:40]} is not (x, y, '#rrggbb' or (r, g, b)[, radius]) or {{x, y, color}}")
    x, y = _number(x, "x"), _number(y, "y")
    if isinstance(colour, str):
        rgb = parse_color(colour)
    elif isinstance(colour, (tuple, list)) and len(colour) == 3 and all(
            isinstance(c, (int, float)) and not isinstance(c, bool) and float(c).is_integer() for c in colour):
        rgb = tuple(int(c) for c in colour)
        if not all(0 <= c <= 255 for c in rgb):
            raise ValueError(f"hint colour {rgb} is outside 0-255")
    else:
        raise ValueError(f"hint colour {str(colour)[:30]} is not '#rrggbb' or (r, g, b) integers 0-255")
    if radius is not None:
        radius = _number(radius, "radius")
        if radius < 0:
            raise ValueError(f"hint radius {radius:g} is negative")
    return Hint(x, y, rgb, radius)


def _number(v, what: str) -> float:
    try:
        ok = not isinstance(v, bool) and isinstance(v, (int, float)) and math.isfinite(float(v))
    except OverflowError:            # an integer too large for a float
        ok = False
    if not ok:
        raise ValueError(f"hint {what} must be a finite number, not {str(v)[:20]}")
    return float(v)


def as_hints(hints) -> list[Hint]:
    """Any sequence of accepted hint forms (see :func:`parse_hint`) -> validated Hints (numbers in range:
    :func:`~.checks.hint_numbers`)."""
    out = []
    for h in hints or []:
        h = parse_hint(h)
        x, y, radius = hint_numbers(h.x, h.y, h.radius)
        out.append(Hint(x, y, h.rgb, radius))
    return out


class HintOutsideImage(ValueError):
    """A hint whose point lies outside the image it is given for (a usage error: CLI exit 2, API 422)."""


def hint_discs(hints: list[Hint], image_size: tuple[int, int], grid: tuple[int, int]):
    """Hints given in an image of ``image_size`` (W, H), on a ``grid`` (h, w) -> (their discs, a
    :class:`~.disc_set.DiscSet` (no full-grid mask per hint), CIELAB ab ``(k, 2)``, radii in grid pixels ``(k,)``).
    A disc covers at least the pixel under its point."""
    W, H = image_size
    h, w = grid
    discs, abs_, radii = DiscSet((h, w)), [], []
    for hint in hints:
        if not (0 <= hint.x < W and 0 <= hint.y < H):
            raise HintOutsideImage(f"hint at ({hint.x:g}, {hint.y:g}) is outside the {W}x{H} image")
        r_img = hint.radius if hint.radius is not None else max(W, H) / 100
        r = max(r_img * max(w / W, h / H), 1.0)
        discs.add_circle(hint.x * w / W, hint.y * h / H, r)
        rgb = torch.tensor(hint.rgb, dtype=torch.float32).view(1, 3, 1, 1) / 255
        abs_.append(rgb_to_lab(rgb)[0, 1:, 0, 0])
        radii.append(r)
    if not radii:
        return discs, torch.zeros(0, 2), torch.zeros(0)
    return discs, torch.stack(abs_), torch.tensor(radii)


def render_hints(hints: list[Hint], image_size: tuple[int, int], grid: tuple[int, int]) -> torch.Tensor:
    """Paint hints given in an image of ``image_size`` (W, H) onto a ``grid`` (h, w) -> ``(1, 3, h, w)``
    = (a / 110, b / 110, mask); later hints win where discs overlap. A hint outside the image is a ValueError."""
    h, w = grid
    out = torch.zeros(1, 3, h, w)
    discs, abs_, _ = hint_discs(hints, image_size, grid)
    for i, ab in enumerate(abs_):
        discs.paint(out[0], i, torch.cat([ab / HINT_SCALE, torch.ones(1)]))
    return out
