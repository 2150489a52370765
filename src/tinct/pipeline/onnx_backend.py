"""Run the colorizer network with ONNX Runtime instead of PyTorch (``Colorizer.load(..., backend="onnxruntime")``).

:class:`OnnxNetwork` behaves like the torch network as far as :class:`~tinct.pipeline.colorizer.Colorizer` is
concerned: ``net(l, hints)`` -> logits as a torch tensor. :func:`load_onnx_model` returns a
:class:`~tinct.model.io.LoadedModel` whose ``net`` is an :class:`OnnxNetwork`; it reads a ``.onnx`` file written
by ``tinct export --onnx`` (self-contained: configs and bins are in its metadata), or exports a ``.safetensors``
model in memory first. ``onnxruntime`` is an optional dependency (``pip install 'tinct[onnx]'``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch


def _require_ort():
    try:
        import onnxruntime
    except ModuleNotFoundError:
        raise ModuleNotFoundError("the onnxruntime backend needs the 'onnxruntime' package: "
                                  "pip install 'tinct[onnx]' (or use backend 'torch')") from None
    return onnxruntime


class OnnxNetwork:
    """An ONNX Runtime session with the torch network's calling convention (CPU execution provider)."""

    training = False

    def __init__(self, model: bytes | str | Path, threads: int | None = None):
        ort = _require_ort()
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.intra_op_num_threads = threads or torch.get_num_threads()
        so.inter_op_num_threads = 1
        # no busy-waiting after a run: spinning ORT threads would slow the torch stages that follow
        # (measured: the next torch forward took 2x as long; BENCHMARKS.md)
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        src = model if isinstance(model, (bytes, bytearray)) else str(model)
        self.session = ort.InferenceSession(src, so, providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self.session.get_inputs()]

    # torch.nn.Module look-alikes used by Colorizer
    def to(self, *args, **kwargs):
        return self

    def eval(self):
        return self

    def __call__(self, l: torch.Tensor, hints: torch.Tensor | None = None) -> torch.Tensor:
        l_np = l.detach().float().cpu().contiguous().numpy()
        feeds = {"l": l_np}
        if "hints" in self.input_names:
            h = (np.zeros((l_np.shape[0], 3) + l_np.shape[2:], np.float32) if hints is None
                 else hints.detach().float().cpu().contiguous().numpy())
            feeds["hints"] = h
        (logits,) = self.session.run(["logits"], feeds)
        return torch.from_numpy(logits)

    forward = __call__


def load_onnx_model(path, threads: int | None = None):
    """A ``.onnx`` file from ``tinct export --onnx`` or a ``.safetensors`` model file -> ``LoadedModel`` whose
    ``net`` is an :class:`OnnxNetwork`."""
    from ..export.onnx import read_metadata, to_onnx_bytes
    from ..model import LoadedModel, load_model_file
    from ..model.config import InferenceConfig, ModelConfig, from_dict
    _require_ort()
    path = Path(path)
    if path.suffix.lower() == ".onnx":
        data = path.read_bytes()
        meta = read_metadata(data)
        return LoadedModel(OnnxNetwork(data, threads), from_dict(ModelConfig, meta["model"]),
                           from_dict(InferenceConfig, meta["inference"]),
                           torch.tensor(meta["bin_centres"], dtype=torch.float32),
                           torch.tensor(meta["prior"], dtype=torch.float32),
                           torch.tensor(meta["rebalance_weights"], dtype=torch.float32))
    loaded = load_model_file(path)
    loaded.net = OnnxNetwork(to_onnx_bytes(loaded), threads)
    return loaded
