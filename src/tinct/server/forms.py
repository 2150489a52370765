"""Validating what a client sends in the ``POST /api/colorize`` form: hints (JSON) and decode options.
Anything malformed raises ``ClientError(422)`` with a one-line message."""
from __future__ import annotations

import json
import math

from ..pipeline.hints import Hint, parse_hint
from .errors import ClientError

MAX_HINTS = 512
MAX_SIZE = 1024                             # largest network input side a client may ask for


def _number(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ClientError(422, f"{what} must be a number, not {json.dumps(value)[:40]}")
    v = float(value)
    if not math.isfinite(v):
        raise ClientError(422, f"{what} must be finite")
    return v


def parse_hints(text: str | None) -> list[Hint]:
    """The ``hints`` form field -> validated Hint list (ClientError 422 on anything malformed)."""
    if text is None or not text.strip():
        return []
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise ClientError(422, "hints must be a JSON list of {x, y, color[, radius]}") from None
    if not isinstance(data, list):
        raise ClientError(422, "hints must be a JSON list of {x, y, color[, radius]}")
    if len(data) > MAX_HINTS:
        raise ClientError(422, f"too many hints ({len(data)}); at most {MAX_HINTS}")
    out = []
    for i, h in enumerate(data):
        if not isinstance(h, dict):
            raise ClientError(422, f"hint {i}: must be an object {{x, y, color[, radius]}}")
        try:
            out.append(parse_hint(h))
        except ValueError as e:
            raise ClientError(422, f"hint {i}: {e}") from None
    return out


def parse_options(form, defaults) -> dict:
    out = {}
    decode = form.get("decode")
    if decode is not None and str(decode).strip():
        from ..color import DECODES
        if decode not in DECODES:
            raise ClientError(422, f"decode must be one of {list(DECODES)}")
        out["decode"] = decode
    t = form.get("temperature")
    if t is not None and str(t).strip():
        try:
            tv = float(t)
        except (TypeError, ValueError):
            raise ClientError(422, "temperature must be a number") from None
        if not math.isfinite(tv) or not 0 < tv <= 10:
            raise ClientError(422, "temperature must be in (0, 10]")
        out["temperature"] = tv
    s = form.get("size")
    if s is not None and str(s).strip():
        try:
            sv = int(s)
        except (TypeError, ValueError):
            raise ClientError(422, "size must be an integer") from None
        if not 32 <= sv <= MAX_SIZE:
            raise ClientError(422, f"size must be in [32, {MAX_SIZE}]")
        out["size"] = sv
    return out


def parse_point(form) -> tuple[float, float]:
    """The ``x`` and ``y`` form fields of ``POST /api/suggest`` -> pixel coordinates (ClientError 422)."""
    out = []
    for key in ("x", "y"):
        v = form.get(key)
        try:
            out.append(_number(float(v), key))
        except (TypeError, ValueError):
            raise ClientError(422, f"field {key!r} must be a number (pixels of the image)") from None
    return out[0], out[1]
