"""The typed options of one ``tinct colorize`` run: what the planner, the photo batch, videos, sequences and the
Ray workers read, built once by the CLI from its command line (no argparse namespace travels below ``cli/``).

Fields keep the command line's names, so a new option is one field here and one argument there."""
from __future__ import annotations

from dataclasses import dataclass, field, fields


def _default_max_pixels() -> int:
    from .read import DEFAULT_MAX_PIXELS    # (Pillow is imported only when options are made)
    return DEFAULT_MAX_PIXELS


@dataclass
class ColorizeOptions:
    inputs: list = field(default_factory=list)   # paths, folders, frame patterns, URLs, or ['-'] for stdin
    out: object = None                           # Path, URL text, or None (beside each input)
    recursive: bool = False
    ext: str = "same"                            # 'same', 'png', 'jpg', 'webp'
    overwrite: bool = False
    skip_existing: bool = False
    # the network and its decoding
    model: str | None = None
    device: str = "auto"
    backend: str = "torch"
    precision: str = "auto"
    batch: int = 8
    upsample: str | None = None
    decode: str | None = None
    temperature: float | None = None
    size: int | None = None
    hints: list = field(default_factory=list)        # [(x, y, (r, g, b)[, radius])] on every input
    max_pixels: int = field(default_factory=_default_max_pixels)
    quiet: bool = False
    # videos and frame sequences
    stability: float | None = None
    lookahead: int | None = None
    fps: float | None = None
    crf: int | None = None
    frame_hints: list = field(default_factory=list)  # [(frame, hint)]: a video's frame index, a sequence's number
    frame_references: list = field(default_factory=list)  # [(frame, uint8 RGB)], frames counted as frame_hints
    # reference colours (cli/reference_args.py: the reference read and checked once, the palette, the strength)
    reference_options: dict = field(default_factory=dict)
    # cluster mode
    ray: str | None = None                           # None: no Ray; 'local'; or an address
    resolved_precision: str | None = None            # set once the driver has loaded the model

    @classmethod
    def of(cls, values) -> "ColorizeOptions":
        """From any object or mapping with (some of) these attribute names; the others keep their defaults."""
        get = values.get if isinstance(values, dict) else (lambda k, d: getattr(values, k, d))
        missing = object()
        kw = {f.name: v for f in fields(cls) if (v := get(f.name, missing)) is not missing}
        return cls(**kw)
