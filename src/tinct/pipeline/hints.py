"""User colour hints -> the model's hint channels.

A hint is ``(x, y, (r, g, b))`` or ``(x, y, (r, g, b), radius)``: a point in input-image pixels (x right,
y down, origin top-left), an 8-bit sRGB colour (only its chroma is used: lightness always comes from the
photo) and a radius in input pixels (default: about 1/100 of the image's longer side). Hints are painted as
discs on the network's input grid as ``(a / 110, b / 110, mask)``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import torch

from ..color import rgb_to_lab
from .checks import hint_numbers, number


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


def as_hints(hints) -> list[Hint]:
    """Accept Hint objects or tuples ``(x, y, (r, g, b)[, radius])``; validate (ValueError: one line)."""
    out = []
    for h in hints or []:
        if not isinstance(h, Hint):
            if len(h) not in (3, 4) or len(h[2]) != 3:
                raise ValueError(f"hint {str(h)[:60]} is not (x, y, (r, g, b)[, radius])")
            h = Hint(h[0], h[1], tuple(h[2]), h[3] if len(h) == 4 else None)
        x, y, radius = hint_numbers(h.x, h.y, h.radius)
        rgb = tuple(round(number(c, "hint colour channel", 0, 255)) for c in h.rgb)
        out.append(Hint(x, y, rgb, radius))
    return out


def render_hints(hints: list[Hint], image_size: tuple[int, int], grid: tuple[int, int]) -> torch.Tensor:
    """Paint hints given in an image of ``image_size`` (W, H) onto a ``grid`` (h, w) -> ``(1, 3, h, w)``.
    Hints outside the image are ignored."""
    W, H = image_size
    h, w = grid
    out = torch.zeros(1, 3, h, w)
    if not hints:
        return out
    ys = torch.arange(h, dtype=torch.float32).view(-1, 1) + 0.5
    xs = torch.arange(w, dtype=torch.float32).view(1, -1) + 0.5
    for hint in hints:
        if not (0 <= hint.x < W and 0 <= hint.y < H):
            continue
        cx, cy = hint.x * w / W, hint.y * h / H
        r_img = hint.radius if hint.radius is not None else max(W, H) / 100
        r = max(r_img * max(w / W, h / H), 1.0)
        disc = ((xs - cx) ** 2 + (ys - cy) ** 2) <= r * r
        if not disc.any():
            disc[min(int(cy), h - 1), min(int(cx), w - 1)] = True
        rgb = torch.tensor(hint.rgb, dtype=torch.float32).view(1, 3, 1, 1) / 255
        ab = rgb_to_lab(rgb)[0, 1:, 0, 0]
        out[0, 0][disc] = ab[0] / 110
        out[0, 1][disc] = ab[1] / 110
        out[0, 2][disc] = 1.0
    return out
