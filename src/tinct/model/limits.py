"""Ranges for every number a model file or a caller may set (model files, the Python API, the CLI and the web API
share them; ``pipeline/checks.py`` builds on them).

Each check returns the value as a plain ``float``/``int`` or raises ``ValueError`` with a one-line message naming
the value and the range. Non-finite numbers, numbers too large for a float (a 309-digit integer) and booleans are
refused.
"""
from __future__ import annotations

import math
import numbers

MIN_TEMPERATURE = 0.01   # annealed-mean temperature; below ~0.05 the result is already the mode (decode: mode)
MAX_TEMPERATURE = 10.0   # above ~2 the result is already the plain mean
MIN_SIZE = 32            # network input side, pixels
MAX_SIZE = 8192          # a photo is never enlarged for the network, so more than this only costs memory
MAX_DECODER_DIM = 1024   # default arch: FPN width (shipped: 64)
MAX_WIDTH = 8.0          # classic arch: channel multiplier (the paper: 1)
MAX_CLASSES = 100_000    # scene-category head outputs
MAX_REBALANCE_CORRECTION = 10.0  # |beta| of the decode-time log-prior shift


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


def whole(value, what: str, lo: int, hi: int) -> int:
    """``value`` as an int in ``[lo, hi]`` (no bool, no float), else ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{what} must be a whole number, not {str(value)[:40]!r}")
    if not lo <= value <= hi:
        shown = str(value) if len(str(value)) <= 12 else f"{str(value)[:9]}... ({len(str(value))} digits)"
        raise ValueError(f"{what} must be in [{lo}, {hi}], not {shown}")
    return int(value)


def temperature(value) -> float:
    return number(value, "temperature", MIN_TEMPERATURE, MAX_TEMPERATURE)


def size(value, hi: int = MAX_SIZE) -> int:
    """A whole number of pixels in ``[MIN_SIZE, hi]``."""
    return whole(value, "size", MIN_SIZE, hi)
