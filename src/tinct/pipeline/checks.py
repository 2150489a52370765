"""Range checks for every number a caller hands to colorization (Python API, CLI and web API share them).

Each check returns the value as a plain ``float``/``int`` or raises ``ValueError`` with a one-line message
naming the value and the range. Non-finite numbers, numbers too large for a float (a 309-digit integer) and
booleans are refused.
"""
from __future__ import annotations

import math
import numbers

MIN_TEMPERATURE = 0.01   # annealed-mean temperature; below ~0.05 the result is already the mode (decode: mode)
MAX_TEMPERATURE = 10.0   # above ~2 the result is already the plain mean
MIN_SIZE = 32            # network input side, pixels
MAX_SIZE = 8192          # a photo is never enlarged for the network, so more than this only costs memory
MAX_COORD = 1e9          # hint x, y, radius in image pixels (a hint outside its image fails that image)


def number(value, what: str, lo: float, hi: float) -> float:
    """``value`` as a finite float in ``[lo, hi]``, else ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{what} must be a number, not {str(value)[:40]!r}")
    try:
        v = float(value)
    except OverflowError:
        raise ValueError(f"{what} must be in [{lo:g}, {hi:g}]; it is too large to be a number") from None
    if not math.isfinite(v):
        raise ValueError(f"{what} must be a finite number, not {v}")
    if not lo <= v <= hi:
        raise ValueError(f"{what} must be in [{lo:g}, {hi:g}], not {v:g}")
    return v


def temperature(value) -> float:
    return number(value, "temperature", MIN_TEMPERATURE, MAX_TEMPERATURE)


def size(value, hi: int = MAX_SIZE) -> int:
    """A whole number of pixels in ``[MIN_SIZE, hi]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"size must be a whole number, not {str(value)[:40]!r}")
    if not MIN_SIZE <= value <= hi:
        shown = str(value) if len(str(value)) <= 12 else f"{str(value)[:9]}... ({len(str(value))} digits)"
        raise ValueError(f"size must be in [{MIN_SIZE}, {hi}], not {shown}")
    return int(value)


def hint_numbers(x, y, radius=None, what: str = "hint") -> tuple[float, float, float | None]:
    """Hint position (any finite value within +-MAX_COORD; whether it lies inside the image is checked where the image is known) and radius
    (``None`` = default, else in ``[0, MAX_COORD]``)."""
    x = number(x, f"{what} x", -MAX_COORD, MAX_COORD)
    y = number(y, f"{what} y", -MAX_COORD, MAX_COORD)
    if radius is not None:
        radius = number(radius, f"{what} radius", 0, MAX_COORD)
    return x, y, radius
