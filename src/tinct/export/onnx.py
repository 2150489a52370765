"""Export a tinct model to one self-contained ONNX file.

The graph is the network only: inputs ``l`` ``(N, 1, H, W)`` (CIELAB L in [0, 100]) and, for models with hint
channels, ``hints`` ``(N, 3, H, W)`` = (a / 110, b / 110, mask); output ``logits`` ``(N, Q, H / 4, W / 4)``.
Batch and spatial axes are dynamic; H and W must be multiples of 32. Everything needed to turn logits into
colour travels in the file's ``metadata_props`` (JSON strings under ``tinct.*`` keys):

- ``tinct.format``: ``tinct-onnx-1``
- ``tinct.model``: the :class:`~tinct.model.config.ModelConfig` (JSON object)
- ``tinct.inference``: the :class:`~tinct.model.config.InferenceConfig` (input size, decode defaults, ...)
- ``tinct.bin_centres``: ``(Q, 2)`` ab centres of the bins, ``tinct.prior``: ``(Q,)`` training prior,
  ``tinct.rebalance_weights``: ``(Q,)`` rebalancing weights (JSON lists of float32 values, exact round trip)

so another runtime can decode without tinct: ``ab = softmax(log_softmax(logits) / T) @ centres`` (annealed mean,
T = ``inference.temperature``), then upsample ab to the photo and recombine with its own L.

The exporter is PyTorch's TorchScript-based one (``dynamo=False``): it needs only ``onnx``, not ``onnxscript``.
"""
from __future__ import annotations

import io
import json
import warnings
from dataclasses import asdict
from pathlib import Path

import torch
from torch import nn

from ..files.atomic import write_bytes_atomic

FORMAT = "tinct-onnx-1"
DEFAULT_OPSET = 17
META_PREFIX = "tinct."


class _LogitsOnly(nn.Module):
    """``forward(l, hints)`` -> logits, with no optional arguments (what the tracer sees)."""

    def __init__(self, net: nn.Module, hints: bool):
        super().__init__()
        self.net = net
        self.hints = hints

    def forward(self, l, hints=None):
        return self.net(l, hints if self.hints else None)


def _require_onnx():
    try:
        import onnx
    except ModuleNotFoundError:
        raise ModuleNotFoundError("ONNX export needs the 'onnx' package: pip install 'tinct[onnx]'") from None
    return onnx


def _floats(t: torch.Tensor) -> str:
    # float32 -> Python float is exact, and repr round-trips, so json.loads(...) gives back the same float32 values
    return json.dumps(t.detach().float().cpu().tolist())


def metadata(loaded) -> dict[str, str]:
    """The ``tinct.*`` metadata_props for a :class:`~tinct.model.io.LoadedModel`."""
    return {
        "tinct.format": FORMAT,
        "tinct.model": json.dumps(asdict(loaded.model_config)),
        "tinct.inference": json.dumps(asdict(loaded.inference)),
        "tinct.bin_centres": _floats(loaded.centres),
        "tinct.prior": _floats(loaded.prior),
        "tinct.rebalance_weights": _floats(loaded.weights),
    }


def to_onnx_bytes(loaded, opset: int = DEFAULT_OPSET, sample_size: int | None = None) -> bytes:
    """Export ``loaded`` (a :class:`~tinct.model.io.LoadedModel`) and return the checked ONNX model as bytes."""
    onnx = _require_onnx()
    net = loaded.net
    was_training = net.training
    device = next(net.parameters()).device
    net = net.cpu().eval()
    hints = bool(loaded.model_config.hints)
    wrapper = _LogitsOnly(net, hints).eval()
    s = sample_size or loaded.inference.input_size
    s = max(32, s // 32 * 32)
    l = torch.full((1, 1, s, s), 50.0)
    args = (l, torch.zeros(1, 3, s, s)) if hints else (l,)
    names = ["l", "hints"] if hints else ["l"]
    spatial = {0: "batch", 2: "height", 3: "width"}
    dyn = {n: spatial for n in names}
    dyn["logits"] = {0: "batch", 2: "height_div4", 3: "width_div4"}
    buf = io.BytesIO()
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # the legacy exporter's deprecation and tracer warnings
            torch.onnx.export(wrapper, args, buf, dynamo=False, input_names=names, output_names=["logits"],
                              dynamic_axes=dyn, opset_version=opset, do_constant_folding=True)
    finally:
        loaded.net.to(device).train(was_training)
    model = onnx.load_from_string(buf.getvalue())
    model.doc_string = ("tinct colorizer: l (N,1,H,W) CIELAB L in [0,100] [, hints (N,3,H,W)] -> logits over ab bins "
                        "(N,Q,H/4,W/4); H, W multiples of 32. Decode with the tinct.* metadata.")
    model.producer_name = "tinct"
    for k, v in metadata(loaded).items():
        p = model.metadata_props.add()
        p.key, p.value = k, v
    onnx.checker.check_model(model)
    return model.SerializeToString()


def export_onnx(loaded, path, opset: int = DEFAULT_OPSET) -> Path:
    """Export to ``path`` (written atomically); returns the path. Runs ``onnx.checker.check_model``."""
    data = to_onnx_bytes(loaded, opset)
    return write_bytes_atomic(Path(path), data)


def read_metadata(model_or_path) -> dict:
    """``tinct.*`` metadata of an ONNX model (object, bytes or path) -> dict of parsed values (keys without the
    prefix). Raises ValueError when the file is not a tinct export."""
    onnx = _require_onnx()
    if isinstance(model_or_path, (bytes, bytearray)):
        model = onnx.load_from_string(bytes(model_or_path))
    elif isinstance(model_or_path, (str, Path)):
        model = onnx.load(str(model_or_path), load_external_data=False)
    else:
        model = model_or_path
    props = {p.key: p.value for p in model.metadata_props}
    if props.get("tinct.format") != FORMAT:
        raise ValueError(f"not a tinct ONNX export (tinct.format {props.get('tinct.format')!r}); "
                         "export one with: tinct export --onnx FILE")
    return {k[len(META_PREFIX):]: (v if k == "tinct.format" else json.loads(v))
            for k, v in props.items() if k.startswith(META_PREFIX)}
