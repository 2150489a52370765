"""What the subcommands share when reading their command line: argparse ``type`` functions built from plain
converters (a ValueError becomes argparse's one-line usage error, exit 2), number parsing with the message
users see, and the one line printed when an optional extra is not installed."""
from __future__ import annotations

import argparse
import functools


def parsed(convert):
    """An argparse ``type`` from ``convert(text) -> value``; its ValueError is the usage error's message."""
    @functools.wraps(convert)
    def parse(text):
        try:
            return convert(text)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
    return parse


def number(text: str, cast=float, lo=None, hi=None, out_of_range: str | None = None):
    """``cast(text)`` within [lo, hi] (either bound optional), else ValueError: "'x' is not a number" /
    "... a whole number", or ``out_of_range`` (formatted with ``value``) / a plain range message."""
    try:
        v = cast(text)
    except ValueError:
        raise ValueError(f"{text[:40]!r} is not {'a whole number' if cast is int else 'a number'}") from None
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        if out_of_range:
            raise ValueError(out_of_range.format(value=v))
        raise ValueError(f"{text!r} must be at least {lo}" if hi is None else f"{text!r} must be between {lo} and {hi}")
    return v


def missing_extra(command: str, extra: str, what: str) -> str:
    """The one line for a subcommand whose optional extra is not installed."""
    return f"{command}: needs the '{extra}' extra ({what} is not installed): pip install 'tinct[{extra}]'"


def require(command: str, extra: str, *modules: str) -> str | None:
    """None when every module of the optional ``extra`` can be imported, else :func:`missing_extra`'s line
    for the first one that cannot (checked without importing it)."""
    import importlib.util
    missing = next((m for m in modules if importlib.util.find_spec(m) is None), None)
    return missing and missing_extra(command, extra, missing)
