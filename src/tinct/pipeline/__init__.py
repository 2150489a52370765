"""Inference: the Colorizer object, hints, and safe image output."""
from .colorizer import Colorizer
from .hints import Hint, parse_hint_arg

__all__ = ["Colorizer", "Hint", "parse_hint_arg"]
