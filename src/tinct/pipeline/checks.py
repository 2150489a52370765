"""Range checks for every number a caller hands to colorization (Python API, CLI and web API share them; the
ranges shared with model files live in :mod:`tinct.model.limits`).

Each check returns the value as a plain ``float``/``int`` or raises ``ValueError`` with a one-line message
naming the value and the range. Non-finite numbers, numbers too large for a float (a 309-digit integer) and
booleans are refused.
"""
from __future__ import annotations

from ..model.limits import (MAX_SIZE, MAX_TEMPERATURE, MIN_SIZE, MIN_TEMPERATURE, number, size,  # noqa: F401
                            temperature)

MAX_COORD = 1e9          # hint x, y, radius in image pixels (a hint outside its image fails that image)


def hint_numbers(x, y, radius=None, what: str = "hint") -> tuple[float, float, float | None]:
    """Hint position (any finite value within +-MAX_COORD; whether it lies inside the image is checked where the image is known) and radius
    (``None`` = default, else in ``[0, MAX_COORD]``)."""
    x = number(x, f"{what} x", -MAX_COORD, MAX_COORD)
    y = number(y, f"{what} y", -MAX_COORD, MAX_COORD)
    if radius is not None:
        radius = number(radius, f"{what} radius", 0, MAX_COORD)
    return x, y, radius
