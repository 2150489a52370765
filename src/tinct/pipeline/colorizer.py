"""The one object behind the CLI, the server and the tests: load a model once, colorize many images.

``Colorizer.colorize`` runs the network on a resized copy of the photo's lightness (area about
``size``^2, sides multiples of 32, aspect kept), decodes ab at 1/4 of that, upsamples ab bilinearly to the
photo's full size and recombines it with the photo's own full-resolution L, in row bands so that memory
does not grow with a float copy of the whole photo. The output has the input's size and lightness; alpha is
kept; colour inputs are recoloured from their L.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ..device import resolve_device
from ..color import DECODES, decode
from ..data.images import DEFAULT_MAX_PIXELS, open_image, to_rgb
from ..model import MODEL_FILE, LoadedModel, load_model_file
from ..model.config import InferenceConfig
from .fast_lab import is_grey, lightness, recombine_band
from .fast_net import prepare_for_cpu
from .hints import as_hints, hint_discs, render_hints
from .hint_propagation import apply_hints

SHIPPED_MODEL = "default"
BAND_PIXELS = 1 << 20  # full-resolution work is done ~1 MP at a time
CPU_FAST_PATHS = True  # on CPU run a copy of the network with BatchNorm folded, channels_last (BENCHMARKS.md)


def shipped_model_path() -> Path:
    return Path(str(resources.files("tinct") / "weights" / f"{SHIPPED_MODEL}.safetensors"))


def resolve_model_path(model: str | Path | None) -> Path:
    """None or 'default' -> the weights inside the package; a run folder -> its model.safetensors; else a file."""
    if model is None or str(model) == SHIPPED_MODEL:
        return shipped_model_path()
    p = Path(model)
    if p.is_dir():
        p = p / MODEL_FILE
    if not p.exists():
        raise FileNotFoundError(f"model {model}: no such file (give a .safetensors file, a run folder or 'default')")
    return p




def network_grid(width: int, height: int, size: int) -> tuple[int, int]:
    """(h, w) the network sees: area about min(size^2, the photo's own area) (a photo is never enlarged for
    the network: small photos keep the scale the model was trained at), aspect kept, sides multiples of 32
    within [32, 4 * size]."""
    scale = min(size / (width * height) ** 0.5, 1.0)

    def snap(v):
        return int(min(max(round(v * scale / 32), 1), 4 * size // 32) * 32)
    return snap(height), snap(width)


@dataclass
class Options:
    decode: str
    temperature: float
    size: int
    rebalance_correction: float


class Colorizer:
    def __init__(self, loaded: LoadedModel, device: torch.device, max_pixels: int = DEFAULT_MAX_PIXELS):
        self.model = loaded
        self.device = device
        self.net = loaded.net.to(device).eval()
        if device.type == "cpu" and CPU_FAST_PATHS and isinstance(self.net, torch.nn.Module):
            self.net = prepare_for_cpu(self.net)  # 0.6x the forward time (BENCHMARKS.md); loaded.net untouched
        self.centres = loaded.centres.to(device)
        self.log_w = loaded.weights.clamp(min=1e-12).log().to(device)
        self.max_pixels = max_pixels
        self.propagate_hints = True  # spread hint colours edge-aware over the photo (hint_propagation.py)
        inf: InferenceConfig = loaded.inference
        self.defaults = Options(inf.decode, inf.temperature, inf.input_size, inf.rebalance_correction)

    @classmethod
    def load(cls, model: str | Path | None = None, device: str = "auto", max_pixels: int = DEFAULT_MAX_PIXELS,
             backend: str = "torch", compile: bool = False):
        """Load a model file (None = the shipped model). No network access.

        ``backend``: ``torch`` (default) or ``onnxruntime`` (CPU; needs ``pip install 'tinct[onnx]'``; ``model``
        may then also be a ``.onnx`` file from ``tinct export --onnx``; ``device`` is ignored).
        ``compile``: wrap the torch network in ``torch.compile`` (opt-in: ~0.9x the time per image once compiled,
        but the first images wait 10-60 s for compilation, again for each new input shape; for long-lived
        processes only; BENCHMARKS.md)."""
        if backend == "onnxruntime":
            from .onnx_backend import load_onnx_model
            return cls(load_onnx_model(resolve_model_path(model)), torch.device("cpu"), max_pixels)
        if backend != "torch":
            raise ValueError(f"backend must be 'torch' or 'onnxruntime', not {backend!r}")
        col = cls(load_model_file(resolve_model_path(model)), resolve_device(device), max_pixels)
        if compile:
            col.net = torch.compile(col.net)
        return col

    def options(self, decode=None, temperature=None, size=None, rebalance_correction=None) -> Options:
        o = replace(self.defaults, **{k: v for k, v in dict(decode=decode, temperature=temperature, size=size,
                                                            rebalance_correction=rebalance_correction).items()
                                      if v is not None})
        if o.decode not in DECODES:
            raise ValueError(f"decode must be one of {DECODES}, not {o.decode!r}")
        if o.temperature <= 0:
            raise ValueError("temperature must be > 0")
        if o.size < 32:
            raise ValueError("size must be at least 32")
        return o

    # --- public API -------------------------------------------------------------------------------------
    def colorize(self, image, hints=None, decode: str | None = None, temperature: float | None = None,
                 size: int | None = None):
        """Colorize one image: a path, a PIL image or a uint8 ndarray ((H, W), (H, W, 3) or (H, W, 4)).
        Returns a PIL image for a path or PIL input, a uint8 ndarray for an ndarray input."""
        opts = self.options(decode, temperature, size)
        as_array = isinstance(image, np.ndarray)
        rgb, alpha = self._read(image)
        hint_list = as_hints(hints)
        ab = self.predict_ab([rgb], [hint_list], opts)[0]
        out = self.recombine(rgb, ab)
        if alpha is not None:
            out = np.dstack([out, alpha])
        if as_array:
            return out
        return Image.fromarray(out, "RGBA" if alpha is not None else "RGB")

    def suggest(self, image, x: float, y: float, hints=None, count: int = 6) -> list[dict]:
        """The model's most likely distinct colours at pixel (x, y) of ``image`` given ``hints``
        (:func:`~tinct.pipeline.suggest.suggest_colours`)."""
        from .suggest import suggest_colours
        return suggest_colours(self, self._read(image)[0], x, y, hints, count)

    def colorize_many(self, images, decode=None, temperature=None, size=None) -> list:
        """Colorize several images; same-shaped network inputs share one forward pass."""
        return [self.colorize(im, decode=decode, temperature=temperature, size=size) for im in images]

    # --- stages ---------------------------------------------------------------------------------------
    def _read(self, image) -> tuple[np.ndarray, np.ndarray | None]:
        """-> (uint8 RGB (H, W, 3), uint8 alpha (H, W) or None)."""
        if isinstance(image, (str, Path)):
            image = open_image(image, self.max_pixels)
        if isinstance(image, Image.Image):
            img = to_rgb(image)
            arr = np.asarray(img)
        elif isinstance(image, np.ndarray):
            if image.dtype != np.uint8:
                raise ValueError(f"ndarray input must be uint8, not {image.dtype}")
            arr = image
            if arr.ndim == 2:
                arr = np.repeat(arr[:, :, None], 3, 2)
            if arr.ndim != 3 or arr.shape[2] not in (3, 4):
                raise ValueError(f"ndarray input must be (H, W), (H, W, 3) or (H, W, 4), not {image.shape}")
        else:
            raise TypeError(f"cannot colorize a {type(image).__name__}; give a path, PIL image or ndarray")
        if arr.shape[0] * arr.shape[1] > self.max_pixels:
            raise ValueError(f"image is {arr.shape[1]}x{arr.shape[0]}, over the limit of {self.max_pixels} pixels")
        if arr.shape[2] == 4:
            return np.ascontiguousarray(arr[:, :, :3]), np.ascontiguousarray(arr[:, :, 3])
        return arr, None

    def network_input(self, rgb: np.ndarray, size: int) -> torch.Tensor:
        """uint8 RGB -> L ``(1, 1, h, w)`` at the network grid."""
        H, W = rgb.shape[:2]
        h, w = network_grid(W, H, size)
        # grey photos (R = G = B) resize one channel; L comes from lookup tables (fast_lab)
        src = Image.fromarray(np.ascontiguousarray(rgb[..., 0])) if is_grey(rgb) else Image.fromarray(rgb)
        small = np.asarray(src.resize((w, h), Image.BILINEAR, reducing_gap=2.0))
        return lightness(small).view(1, 1, h, w)

    @torch.inference_mode()
    def predict_ab(self, rgbs: list[np.ndarray], hints: list, opts: Options) -> list[torch.Tensor]:
        """Low-resolution ab ``(1, 2, h/4, w/4)`` for each image (same-shaped inputs batched together)."""
        ls = [self.network_input(rgb, opts.size) for rgb in rgbs]
        hs = [render_hints(hl, (rgb.shape[1], rgb.shape[0]), l.shape[-2:]) if hl else None
              for rgb, hl, l in zip(rgbs, hints, ls)]
        out: list = [None] * len(ls)
        groups: dict = {}
        for i, l in enumerate(ls):
            groups.setdefault(tuple(l.shape[-2:]), []).append(i)
        shift = -opts.rebalance_correction * self.log_w if opts.rebalance_correction else None
        for idx in groups.values():
            l = torch.cat([ls[i] for i in idx]).to(self.device)
            any_hint = any(hs[i] is not None for i in idx)
            h = torch.cat([hs[i] if hs[i] is not None else torch.zeros(1, 3, *l.shape[-2:]) for i in idx]
                          ).to(self.device) if any_hint else None
            logits = self.net(l, h)
            ab = decode(logits, self.centres, opts.decode, opts.temperature, shift).cpu()
            for j, i in enumerate(idx):
                out[i] = ab[j:j + 1] if hs[i] is None or not self.propagate_hints else apply_hints(
                    ab[j:j + 1], ls[i], *hint_discs(hints[i], rgbs[i].shape[1::-1], ls[i].shape[-2:]))
        return out

    def recombine(self, rgb: np.ndarray, ab_small: torch.Tensor) -> np.ndarray:
        """Full-resolution L of ``rgb`` + ab upsampled bilinearly from ``ab_small`` -> uint8 RGB, in row bands."""
        H, W = rgb.shape[:2]
        out = np.empty((H, W, 3), np.uint8)
        band = max(1, BAND_PIXELS // max(W, 1))
        gx = (torch.arange(W, dtype=torch.float32) + 0.5) * 2 / W - 1
        with torch.inference_mode():
            for y0 in range(0, H, band):
                y1 = min(H, y0 + band)
                gy = (torch.arange(y0, y1, dtype=torch.float32) + 0.5) * 2 / H - 1
                grid = torch.stack(torch.meshgrid(gy, gx, indexing="ij")[::-1], -1).unsqueeze(0)
                ab = F.grid_sample(ab_small.float(), grid, mode="bilinear", padding_mode="border", align_corners=False)
                out[y0:y1] = recombine_band(rgb[y0:y1], ab[0])  # = lab_to_rgb(L of rgb, ab), ~4x faster
        return out
