"""Model files: one ``.safetensors`` holding weights, bin centres, prior and rebalancing weights, with the
model and inference configs in its metadata, so a file rebuilds and runs itself (no pickle, no network)."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import torch
from safetensors.torch import load_file, save
from safetensors import SafetensorError, safe_open

from ..color import bin_centres
from ..files.atomic import write_atomic
from .colorizers import ClassicColorizer, LiteFPNColorizer
from .config import InferenceConfig, ModelConfig
from .validate import ModelFileError, bins_shape, check_finite, check_shapes, expected_shapes, read_configs

FORMAT = "tinct-model-1"
MODEL_FILE = "model.safetensors"   # a run folder's model file
_META = ("meta.bin_centres", "meta.prior", "meta.rebalance_weights")


def build_model(cfg: ModelConfig, num_bins: int | None = None) -> torch.nn.Module:
    """The network ``cfg`` describes, with ``num_bins`` outputs (default: the size of ``cfg.grid``)."""
    q = num_bins or len(bin_centres(cfg.grid))
    if cfg.arch == "default":
        return LiteFPNColorizer(q, cfg.decoder_dim, cfg.num_classes, cfg.hints, cfg.encoder)
    if cfg.arch == "classic":
        return ClassicColorizer(q, cfg.width, cfg.num_classes, cfg.hints)
    raise ValueError(f"unknown model arch {cfg.arch!r}; choose 'default' or 'classic'")


@dataclass
class LoadedModel:
    net: torch.nn.Module
    model_config: ModelConfig
    inference: InferenceConfig
    centres: torch.Tensor        # (Q, 2)
    prior: torch.Tensor          # (Q,)
    weights: torch.Tensor        # (Q,) rebalancing weights used in training


def save_model_file(path, net, model_config: ModelConfig, inference: InferenceConfig, prior, weights,
                    step: int | None = None) -> None:
    """Write atomically (io_atomic: temporary file, fsync, rename). ``step``: the training step the weights are
    from, kept in the metadata as provenance (:func:`model_file_step`)."""
    tensors = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    tensors.update({"meta.bin_centres": bin_centres(model_config.grid), "meta.prior": prior.float().cpu(),
                    "meta.rebalance_weights": weights.float().cpu()})
    meta = {"format": FORMAT, "model": json.dumps(asdict(model_config)), "inference": json.dumps(asdict(inference))}
    if step is not None:
        meta["step"] = str(int(step))
    write_atomic(path, lambda f: f.write(save(tensors, metadata=meta)), mode=0o644)


def model_file_step(path) -> int | None:
    """The training step a model file's weights are from, when the training loop wrote it (else None)."""
    with safe_open(str(path), "pt") as f:
        step = (f.metadata() or {}).get("step")
    return int(step) if step is not None else None


def load_model_file(path) -> LoadedModel:
    """Read and check a model file (:mod:`.validate`: metadata ranges and header shapes before any allocation,
    then every weight finite) -> the network, ready. Any fault: :class:`ModelFileError`, one line naming the file."""
    path = str(path)
    try:
        with safe_open(path, "pt") as f:
            meta = f.metadata() or {}
            shapes = {k: list(f.get_slice(k).get_shape()) for k in f.keys()}
    except (SafetensorError, OSError, ValueError) as e:
        if isinstance(e, FileNotFoundError):
            raise
        raise ModelFileError(f"{path}: not a readable safetensors file ({_first_line(e)})") from None
    if meta.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a tinct model file (format {str(meta.get('format'))[:40]!r})")
    mcfg, icfg = read_configs(path, meta)
    q = bins_shape(path, shapes)
    check_shapes(path, expected_shapes(build_model, mcfg, q), {k: v for k, v in shapes.items() if k not in _META})
    try:
        tensors = load_file(path)
    except (SafetensorError, OSError, ValueError) as e:
        raise ModelFileError(f"{path}: cannot read the weights ({_first_line(e)})") from None
    check_finite(path, tensors)
    net = build_model(mcfg, q)   # the bins travel with the weights
    net.load_state_dict({k: v for k, v in tensors.items() if not k.startswith("meta.")})
    net.eval()
    return LoadedModel(net, mcfg, icfg, tensors["meta.bin_centres"], tensors["meta.prior"],
                       tensors["meta.rebalance_weights"])


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0][:200] if text else type(e).__name__
