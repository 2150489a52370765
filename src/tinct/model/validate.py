"""Checks on a model file before anything is allocated for it (issue 25): its metadata's configs against the
ranges of :mod:`.limits`, and the tensor names and shapes in its safetensors header against the network those
configs describe (built on PyTorch's ``meta`` device, which allocates no memory). A file that fails raises
:class:`ModelFileError`, one line naming the file and the cause."""
from __future__ import annotations

import json

import torch

from ..color import DECODES, GRIDS
from . import limits
from .efficientnet_lite import ENCODERS
from .config import InferenceConfig, ModelConfig, from_dict

ARCHS = ("default", "classic")


class ModelFileError(ValueError):
    """A model file that cannot be used: one line, ``"<file>: <cause>"``."""


def read_configs(path: str, meta: dict) -> tuple[ModelConfig, InferenceConfig]:
    """The metadata's model and inference configs, every field checked, else ModelFileError."""
    cfgs = []
    for key, cls in (("model", ModelConfig), ("inference", InferenceConfig)):
        try:
            d = json.loads(meta[key])
        except KeyError:
            raise ModelFileError(f"{path}: the metadata has no {key!r} config") from None
        except ValueError as e:
            raise ModelFileError(f"{path}: the metadata's {key!r} config is not JSON ({e})") from None
        if not isinstance(d, dict):
            raise ModelFileError(f"{path}: the metadata's {key!r} config is not an object")
        cfgs.append(from_dict(cls, d))
    mcfg, icfg = cfgs
    try:
        check_model_config(mcfg)
        check_inference_config(icfg)
    except ValueError as e:
        raise ModelFileError(f"{path}: metadata: {e}") from None
    return mcfg, icfg


def check_model_config(c: ModelConfig) -> None:
    if c.arch not in ARCHS:
        raise ValueError(f"arch must be one of {list(ARCHS)}, not {str(c.arch)[:40]!r}")
    if c.grid not in GRIDS:
        raise ValueError(f"grid must be one of {list(GRIDS)}, not {str(c.grid)[:40]!r}")
    if c.encoder not in ENCODERS:
        raise ValueError(f"encoder must be one of {list(ENCODERS)}, not {str(c.encoder)[:40]!r}")
    limits.whole(c.decoder_dim, "decoder_dim", 1, limits.MAX_DECODER_DIM)
    limits.number(c.width, "width", 1 / 64, limits.MAX_WIDTH)
    limits.whole(c.num_classes, "num_classes", 0, limits.MAX_CLASSES)
    if not isinstance(c.hints, bool):
        raise ValueError(f"hints must be true or false, not {str(c.hints)[:40]!r}")


def check_inference_config(c: InferenceConfig) -> None:
    limits.whole(c.input_size, "input_size", limits.MIN_SIZE, limits.MAX_SIZE)
    if c.decode not in DECODES:
        raise ValueError(f"decode must be one of {list(DECODES)}, not {str(c.decode)[:40]!r}")
    limits.temperature(c.temperature)
    limits.number(c.rebalance_correction, "rebalance_correction", -limits.MAX_REBALANCE_CORRECTION,
                  limits.MAX_REBALANCE_CORRECTION)
    limits.whole(c.output_stride, "output_stride", 1, 64)


def check_shapes(path: str, expected: dict[str, torch.Size], found: dict[str, list[int]]) -> None:
    """The network's state dict shapes (``expected``) against the header's (``found``, weights only)."""
    missing = sorted(set(expected) - set(found))
    if missing:
        raise ModelFileError(f"{path}: tensor {missing[0]!r} is missing"
                             f"{f' (and {len(missing) - 1} more)' if len(missing) > 1 else ''}; "
                             "the file does not match its metadata")
    extra = sorted(set(found) - set(expected))
    if extra:
        raise ModelFileError(f"{path}: unexpected tensor {extra[0]!r}"
                             f"{f' (and {len(extra) - 1} more)' if len(extra) > 1 else ''}; "
                             "the file does not match its metadata")
    for name, shape in expected.items():
        if list(shape) != list(found[name]):
            raise ModelFileError(f"{path}: tensor {name!r} has shape {tuple(found[name])}, but the metadata's "
                                 f"network needs {tuple(shape)}")


def expected_shapes(build, mcfg: ModelConfig, num_bins: int) -> dict[str, torch.Size]:
    """The state dict shapes of ``build(mcfg, num_bins)``, built on the meta device (no memory)."""
    with torch.device("meta"):
        net = build(mcfg, num_bins)
    return {k: v.shape for k, v in net.state_dict().items()}


def check_finite(path: str, tensors: dict[str, torch.Tensor]) -> None:
    """Every floating tensor finite, else ModelFileError naming the first bad one."""
    for name, t in tensors.items():
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            bad = int((~torch.isfinite(t)).sum())
            raise ModelFileError(f"{path}: tensor {name!r} holds {bad} NaN/inf value(s) of {t.numel()}; "
                                 "the weights are broken (a diverged training?)")


def bins_shape(path: str, shapes: dict[str, list[int]]) -> int:
    """The number of ab bins from the header's ``meta.bin_centres`` ``(Q, 2)``, checked against the prior's."""
    for key in ("meta.bin_centres", "meta.prior", "meta.rebalance_weights"):
        if key not in shapes:
            raise ModelFileError(f"{path}: tensor {key!r} is missing")
    q = shapes["meta.bin_centres"]
    if len(q) != 2 or q[1] != 2 or not 2 <= q[0] <= 4096:
        raise ModelFileError(f"{path}: meta.bin_centres has shape {tuple(q)}, not (Q, 2) with 2 <= Q <= 4096")
    for key in ("meta.prior", "meta.rebalance_weights"):
        if list(shapes[key]) != [q[0]]:
            raise ModelFileError(f"{path}: {key} has shape {tuple(shapes[key])}, not ({q[0]},) like the bins")
    return q[0]


__all__ = ["ModelFileError", "read_configs", "check_shapes", "expected_shapes", "check_finite", "bins_shape"]
