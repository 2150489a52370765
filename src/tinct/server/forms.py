"""Validating what a client sends in the ``POST /api/colorize`` form: hints (JSON), decode options and reference
colours (``palette`` JSON, ``reference_strength``). Anything malformed raises ``ClientError(422)`` with a one-line
message."""
from __future__ import annotations

import json

from ..pipeline import checks
from ..pipeline.hints import Hint, as_hints
from .errors import ClientError

MAX_HINTS = 512
MAX_SIZE = 1024                             # largest network input side a client may ask for
MAX_PALETTE = 64                            # colours in a palette
MAX_STRENGTH = 10.0                         # reference_strength in [0, MAX_STRENGTH]


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
            out.append(as_hints([h])[0])
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
    for name, cast, kind, check, *extra in (("temperature", float, "a number", checks.temperature),
                                            ("size", int, "an integer", checks.size, MAX_SIZE),
                                            ("reference_strength", float, "a number", _strength)):
        v = form.get(name)
        if v is not None and str(v).strip():
            try:
                v = cast(v)
            except (TypeError, ValueError):
                raise ClientError(422, f"{name} must be {kind}") from None
            out[name] = _checked(check, v, *extra)
    return out


def _strength(v: float) -> float:
    if not 0 <= v <= MAX_STRENGTH:
        raise ValueError(f"reference_strength must be in [0, {MAX_STRENGTH:g}]")
    return v


def parse_palette_field(text) -> list | None:
    """The ``palette`` form field: a JSON list of "#rrggbb", [r, g, b] or {"color", "weight"} -> the validated
    palette (``[((r, g, b), weight)]``) or None when absent/empty (ClientError 422 on anything malformed)."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    if not isinstance(text, str):
        raise ClientError(422, "field 'palette' must be text (JSON), not a file")
    from ..pipeline.reference import ReferenceError, parse_palette
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise ClientError(422, "palette must be a JSON list of colours (\"#rrggbb\" or {color, weight})") from None
    if not isinstance(data, list):
        raise ClientError(422, "palette must be a JSON list of colours (\"#rrggbb\" or {color, weight})")
    if len(data) > MAX_PALETTE:
        raise ClientError(422, f"too many palette colours ({len(data)}); at most {MAX_PALETTE}")
    if not data:
        return None
    try:
        return parse_palette(data)
    except ReferenceError as e:
        raise ClientError(422, str(e)) from None


def _checked(check, *args):
    try:
        return check(*args)
    except ValueError as e:
        raise ClientError(422, str(e)) from None


def parse_point(form) -> tuple[float, float]:
    """The ``x`` and ``y`` form fields of ``POST /api/suggest`` -> pixel coordinates (ClientError 422)."""
    out = []
    for key in ("x", "y"):
        v = form.get(key)
        try:
            out.append(checks.number(float(v), key, -checks.MAX_COORD, checks.MAX_COORD))
        except (TypeError, ValueError):
            raise ClientError(422, f"field {key!r} must be a number (pixels of the image)") from None
    return out[0], out[1]
