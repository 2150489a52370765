"""The one object behind the CLI, the server and the tests: load a model once, colorize many images.

``Colorizer.colorize`` runs the network on a resized copy of the photo's lightness (area about
``size``^2, sides multiples of 32, aspect kept), decodes ab at 1/4 of that, upsamples ab to the photo's full size
(bilinearly, or edge-aware with the photo's own lightness: pipeline/upsample.py) and recombines it with the photo's
full-resolution L, in row bands so that memory does not grow with a float copy of the whole photo. The output
has the input's size and lightness; alpha is kept; colour inputs are recoloured from their L.

Precision: ``fp32`` or ``bf16`` (torch autocast); ``precision="auto"`` measures which is faster on this machine
and keeps bf16 only when its colour stays within ab 2 of fp32's (:mod:`.precision`, cached per machine and
model). ``colorize_many`` and :func:`tinct.pipeline.batch.colorize_files` batch same-shaped photos into one
forward and overlap decoding and encoding with compute (:mod:`.batch`).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..device import resolve_device
from ..color import DECODES, decode
from ..color.rebalance import correction_shift
from ..files.read import DEFAULT_MAX_PIXELS
from ..model import MODEL_FILE, LoadedModel, load_model_file
from ..model.config import InferenceConfig
from .fast_lab import is_grey, lightness, recombine_band
from . import checks
from .fast_net import prepare_for_cpu
from .hint_propagation import apply_hints
from .inputs import read_input
from .hints import as_hints, hint_discs, render_hints
from .precision import PRECISIONS, autocast
from .reference import DEFAULT_STRENGTH, ReferencePrior, resolve as resolve_reference
from .reference_local import reweight as reweight_reference
from .upsample import METHODS as UPSAMPLE_METHODS, upsample_bands

SHIPPED_MODELS = ("v1", "v2", "v3")   # weights/<name>.safetensors inside the package (v3: opt-in, MODEL.md)
SHIPPED_MODEL = "default"     # the name users give for the recommended one ...
DEFAULT_MODEL = "v2"          # ... which is this shipped model (MODEL.md: v2 beat v1)
BAND_PIXELS = 1 << 20  # full-resolution work is done ~1 MP at a time
DEFAULT_UPSAMPLE = "bilinear"  # "joint"/"guided" (edge-aware) are opt-in: ~10x the upsampling time (BENCHMARKS.md)
CPU_FAST_PATHS = True  # on CPU run a copy of the network with BatchNorm folded, channels_last (BENCHMARKS.md)


def shipped_model_path(name: str = SHIPPED_MODEL) -> Path:
    """The weights inside the package for a shipped model's name ('default' or one of SHIPPED_MODELS)."""
    name = DEFAULT_MODEL if name == SHIPPED_MODEL else name
    return Path(str(resources.files("tinct") / "weights" / f"{name}.safetensors"))


def resolve_model_path(model: str | Path | None) -> Path:
    """None or 'default' -> the recommended shipped model; a shipped name (SHIPPED_MODELS, e.g. 'v1') -> that
    one; a run folder -> its model.safetensors; else a file."""
    if model is None or str(model) == SHIPPED_MODEL or str(model) in SHIPPED_MODELS:
        return shipped_model_path(str(model or SHIPPED_MODEL))
    p = Path(model)
    if p.is_dir():
        p = p / MODEL_FILE
    if not p.exists():
        names = ", ".join(repr(n) for n in (SHIPPED_MODEL,) + SHIPPED_MODELS)
        raise FileNotFoundError(f"model {model}: no such file (give a .safetensors file, a run folder or a "
                                f"shipped model: {names})")
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
    reference: ReferencePrior | None = None   # reference colours (pipeline/reference.py); None = automatic
    reference_strength: float = DEFAULT_STRENGTH


class Colorizer:
    def __init__(self, loaded: LoadedModel, device: torch.device, max_pixels: int = DEFAULT_MAX_PIXELS,
                 upsample: str = DEFAULT_UPSAMPLE):
        if upsample not in UPSAMPLE_METHODS:
            raise ValueError(f"upsample must be one of {UPSAMPLE_METHODS}, not {upsample!r}")
        self.upsample = upsample
        self.model = loaded
        self.device = device
        self.net = loaded.net.to(device).eval()
        if device.type == "cpu" and CPU_FAST_PATHS and isinstance(self.net, torch.nn.Module):
            self.net = prepare_for_cpu(self.net)  # 0.6x the forward time (BENCHMARKS.md); loaded.net untouched
        self.centres = loaded.centres.to(device)
        self.rebalance_weights = loaded.weights.to(device)   # for decode-time correction (shift())
        self.max_pixels = max_pixels
        self.precision = "fp32"
        self.precision_record: dict = {"choice": "fp32"}
        self.propagate_hints = True  # spread hint colours edge-aware over the photo (hint_propagation.py)
        inf: InferenceConfig = loaded.inference
        self.defaults = Options(inf.decode, inf.temperature, inf.input_size, inf.rebalance_correction)

    @classmethod
    def load(cls, model: str | Path | None = None, device: str = "auto", max_pixels: int = DEFAULT_MAX_PIXELS,
             backend: str = "torch", compile: bool = False, precision: str = "fp32",
             upsample: str = DEFAULT_UPSAMPLE):
        """Load a model file (None = the shipped model). No network access.

        ``backend``: ``torch`` (default) or ``onnxruntime`` (CPU; needs ``pip install 'tinct[onnx]'``; ``model``
        may then also be a ``.onnx`` file from ``tinct export --onnx``; ``device`` is ignored).
        ``compile``: wrap the torch network in ``torch.compile`` (opt-in: ~0.9x the time per image once compiled,
        but the first images wait 10-60 s for compilation, again for each new input shape; for long-lived
        processes only; BENCHMARKS.md).
        ``precision``: ``fp32`` (default), ``bf16`` (autocast) or ``auto`` (measured once per machine and model,
        cached; see :meth:`set_precision`)."""
        if backend == "onnxruntime":
            from .onnx_backend import load_onnx_model
            col = cls(load_onnx_model(resolve_model_path(model)), torch.device("cpu"), max_pixels, upsample)
        elif backend == "torch":
            col = cls(load_model_file(resolve_model_path(model)), resolve_device(device), max_pixels, upsample)
        else:
            raise ValueError(f"backend must be 'torch' or 'onnxruntime', not {backend!r}")
        col.set_precision(precision)
        if compile:
            col.net = torch.compile(col.net)
        return col

    def set_precision(self, precision: str) -> str:
        """Run the network in ``fp32``, ``bf16`` or ``auto`` (measured: :func:`tinct.pipeline.precision.choose`;
        the figures are kept in ``precision_record``). -> the precision now in use."""
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, not {precision!r}")
        if precision == "auto":
            from .precision import choose
            precision, self.precision_record = choose(self)
        elif precision == "bf16" and (self.device.type not in ("cpu", "cuda")
                                      or not isinstance(self.net, torch.nn.Module)):
            raise ValueError(f"bf16 needs the torch backend on a CPU or CUDA device (not {self.device.type}"
                             f"{'' if isinstance(self.net, torch.nn.Module) else ', onnxruntime'})")
        else:
            self.precision_record = {"choice": precision, "why": "asked for"}
        self.precision = precision
        return precision

    def options(self, decode=None, temperature=None, size=None, rebalance_correction=None, reference=None,
                palette=None, reference_strength=None) -> Options:
        """Per-call options over the model's defaults. ``reference`` (path, PIL image, uint8 array or an analysed
        ReferencePrior) and ``palette`` (list of "#rrggbb" / (r, g, b), optionally with weights) are analysed
        here once (cached by content: pipeline/reference.py); ``reference_strength`` 0 turns them off."""
        o = replace(self.defaults, **{k: v for k, v in dict(decode=decode, temperature=temperature, size=size,
                                                            rebalance_correction=rebalance_correction,
                                                            reference_strength=reference_strength).items()
                                      if v is not None})
        if o.decode not in DECODES:
            raise ValueError(f"decode must be one of {DECODES}, not {o.decode!r}")
        if not (0 <= float(o.reference_strength) <= 10):
            raise ValueError(f"reference_strength must be in [0, 10], not {o.reference_strength!r}")
        ref = resolve_reference(reference, palette, self.centres.cpu(), self.max_pixels)
        return replace(o, temperature=checks.temperature(o.temperature), size=checks.size(o.size), reference=ref,
                       reference_strength=float(o.reference_strength))

    # --- public API -------------------------------------------------------------------------------------
    def colorize(self, image, hints=None, decode: str | None = None, temperature: float | None = None,
                 size: int | None = None, reference=None, palette=None, reference_strength: float | None = None):
        """Colorize one image: a path, a PIL image or a uint8 ndarray ((H, W), (H, W, 3) or (H, W, 4)).
        Returns a PIL image for a path or PIL input, a uint8 ndarray for an ndarray input. ``reference`` /
        ``palette`` / ``reference_strength``: reference colours (:meth:`options`)."""
        opts = self.options(decode, temperature, size, reference=reference, palette=palette,
                            reference_strength=reference_strength)
        rgb, alpha = self._read(image)
        ab = self.predict_ab([rgb], [as_hints(hints)], opts)[0]
        return self.finish(rgb, alpha, ab, isinstance(image, np.ndarray))

    def colorize_many(self, images, hints=None, decode=None, temperature=None, size=None, max_batch: int = 8,
                      reference=None, palette=None, reference_strength=None) -> list:
        """Colorize several images (paths, PIL images or ndarrays, as :meth:`colorize`), in order: decoded in
        background threads, same-shaped network inputs (up to ``max_batch``) share one forward pass, memory
        bounded (:mod:`.batch`). Results equal :meth:`colorize`'s within 1 level. Raises the first error."""
        from .batch import run_batched
        images = list(images)
        outs: list = [None] * len(images)

        def put(i, out, _ctx):
            outs[i] = out
        opts = self.options(decode, temperature, size, reference=reference, palette=palette,
                            reference_strength=reference_strength)
        errors = run_batched(self, len(images), lambda i: (images[i], None), put, opts, hints=hints,
                             max_batch=max_batch)
        for e in errors:
            if e is not None:
                raise e
        return outs

    # --- stages (also used by .batch) ------------------------------------------------------------------
    def finish(self, rgb: np.ndarray, alpha, ab_small: torch.Tensor, as_array: bool = False):
        """Recombine at full resolution, put alpha back -> PIL image (or uint8 ndarray if ``as_array``)."""
        out = self.recombine(rgb, ab_small)
        if alpha is not None:
            out = np.dstack([out, alpha])
        return out if as_array else Image.fromarray(out, "RGBA" if alpha is not None else "RGB")

    def suggest(self, image, x: float, y: float, hints=None, count: int = 6, reference=None, palette=None,
                reference_strength: float | None = None) -> list[dict]:
        """The model's most likely distinct colours at pixel (x, y) of ``image`` given ``hints`` and reference
        colours (:func:`~tinct.pipeline.suggest.suggest_colours`)."""
        from .suggest import suggest_colours
        opts = self.options(reference=reference, palette=palette, reference_strength=reference_strength)
        return suggest_colours(self, self._read(image)[0], x, y, hints, count, opts=opts)

    def _read(self, image) -> tuple[np.ndarray, np.ndarray | None]:
        """-> (uint8 RGB (H, W, 3), uint8 alpha (H, W) or None) (:func:`~.inputs.read_input`)."""
        return read_input(image, self.max_pixels)

    def network_input(self, rgb: np.ndarray, size: int) -> torch.Tensor:
        """uint8 RGB -> L ``(1, 1, h, w)`` at the network grid."""
        H, W = rgb.shape[:2]
        h, w = network_grid(W, H, size)
        # grey photos (R = G = B) resize one channel; L comes from lookup tables (fast_lab)
        src = Image.fromarray(np.ascontiguousarray(rgb[..., 0])) if is_grey(rgb) else Image.fromarray(rgb)
        small = np.asarray(src.resize((w, h), Image.BILINEAR, reducing_gap=2.0))
        return lightness(small).view(1, 1, h, w)

    def net_inputs(self, rgb: np.ndarray, hint_list, opts: Options) -> tuple[torch.Tensor, tuple | None]:
        """-> (L ``(1, 1, h, w)``, None or (rendered hints ``(1, 3, h, w)``, their discs for propagation)) at the
        network grid (:func:`~.hints.render_hints`, :func:`~.hints.hint_discs`)."""
        l = self.network_input(rgb, opts.size)
        if not hint_list:
            return l, None
        size = (rgb.shape[1], rgb.shape[0])
        return l, (render_hints(hint_list, size, l.shape[-2:]), hint_discs(hint_list, size, l.shape[-2:]))

    @torch.inference_mode()
    def forward_logits(self, l: torch.Tensor, h: torch.Tensor | None, precision: str | None = None) -> torch.Tensor:
        """The network on a batch in ``precision`` (default: the Colorizer's) -> fp32 logits on the device."""
        with autocast(self.device, precision or self.precision):
            return self.net(l.to(self.device), None if h is None else h.to(self.device)).float()

    def shift(self, beta: float) -> torch.Tensor | None:
        """The decode-time log-prior shift undoing a fraction ``beta`` of the training's rebalancing
        (:func:`~tinct.color.rebalance.correction_shift`), None when ``beta`` is 0."""
        return correction_shift(self.rebalance_weights, beta)

    def reweight(self, logits: torch.Tensor, opts: Options, l: torch.Tensor | None, smoother=None) -> torch.Tensor:
        """Logits re-weighted by the reference colours in ``opts`` (:func:`~.reference_local.reweight`; ``smoother``:
        a video's running average of the local term, None for photos)."""
        return reweight_reference(self, logits, opts, l, smoother)

    @torch.inference_mode()
    def decode_logits(self, logits: torch.Tensor, opts: Options, l: torch.Tensor | None = None) -> torch.Tensor:
        """Logits ``(N, Q, h, w)`` -> ab ``(N, 2, h, w)`` on the CPU (CIELAB units). With reference colours in
        ``opts`` the logits are re-weighted first, per pixel by the lightness ``l`` ``(N, 1, H, W)``."""
        logits = self.reweight(logits, opts, l)
        return decode(logits, self.centres, opts.decode, opts.temperature, self.shift(opts.rebalance_correction)).cpu()

    def forward_ab(self, ls: list[torch.Tensor], hs: list, opts: Options) -> list[torch.Tensor]:
        """Low-resolution ab ``(1, 2, h/4, w/4)`` for each network input (same-shaped ones in one forward); ``hs``
        as :meth:`net_inputs` returns them; hint colours then spread edge-aware (``propagate_hints``)."""
        out: list = [None] * len(ls)
        groups: dict = {}
        for i, l in enumerate(ls):
            groups.setdefault(tuple(l.shape[-2:]), []).append(i)
        for idx in groups.values():
            l = torch.cat([ls[i] for i in idx])
            h = torch.cat([hs[i][0] if hs[i] is not None else torch.zeros(1, 3, *l.shape[-2:]) for i in idx]
                          ) if any(hs[i] is not None for i in idx) else None
            ab = self.decode_logits(self.forward_logits(l, h), opts, l)
            for j, i in enumerate(idx):
                out[i] = ab[j:j + 1] if hs[i] is None or not self.propagate_hints else apply_hints(
                    ab[j:j + 1], ls[i], *hs[i][1])
        return out

    def predict_ab(self, rgbs: list[np.ndarray], hints: list, opts: Options) -> list[torch.Tensor]:
        """Low-resolution ab ``(1, 2, h/4, w/4)`` for each image (same-shaped inputs batched together)."""
        ins = [self.net_inputs(rgb, hl, opts) for rgb, hl in zip(rgbs, hints)]
        return self.forward_ab([l for l, _ in ins], [h for _, h in ins], opts)

    def recombine(self, rgb: np.ndarray, ab_small: torch.Tensor, upsample: str | None = None) -> np.ndarray:
        """Full-resolution L of ``rgb`` + ab upsampled from ``ab_small`` (``upsample``: 'bilinear', 'joint' or 'guided',
        default ``self.upsample``; pipeline/upsample.py) -> uint8 RGB, in row bands."""
        H, W = rgb.shape[:2]
        out = np.empty((H, W, 3), np.uint8)
        for y0, y1, ab in upsample_bands(rgb, ab_small, upsample or self.upsample, BAND_PIXELS):
            out[y0:y1] = recombine_band(rgb[y0:y1], ab)  # = lab_to_rgb(L of rgb, ab), ~4x faster
        return out
