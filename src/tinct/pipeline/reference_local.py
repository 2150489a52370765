"""Applying reference colours to a batch of logits (issue 27): the per-lightness-band histogram re-weighting
(pipeline/reference.py) and, for a photo reference on a network with an encoder, the local correspondence
(pipeline/correspondence.py) mixed in where the photo's features match the reference's with confidence; the whole
re-weighting scaled by how much of the photo is in view of the reference (its mean match confidence, floored:
:func:`in_view`), so a film's shot after a cut, or an unrelated photo, is steered less.

The reference side of the matching (its encoder features and per-location ab) is computed once per reference and
network, and cached; the photo's features are those its own forward pass left (a hook on the encoder), so the
local step costs a matrix product and a top-k per photo, not a second network pass.
"""
from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np
import torch

from ..color import rgb_from_u8, rgb_to_lab
from . import correspondence as corr
from .reference import ReferencePrior, band_weights_on_grid, reweight_logits

LOCAL = True            # local correspondence on (BENCHMARKS.md "Reference colours": measured step by step)
MATCH_FULL = 0.5       # a photo whose mean match confidence reaches this takes the reference at full strength ...
MATCH_FLOOR = 0.5      # ... one that matches nothing (its content not in the reference's view) at this share
_CACHE_SIZE = 8
_matches: OrderedDict = OrderedDict()
_lock = threading.Lock()


def reweight(colorizer, logits: torch.Tensor, opts, l: torch.Tensor | None, smoother=None) -> torch.Tensor:
    """``colorizer``'s logits ``(N, Q, h, w)`` for the network inputs ``l`` ``(N, 1, H, W)`` re-weighted by the
    reference colours in ``opts`` (unchanged without a reference or at strength 0):
    ``logits + S * v * ((1 - c) * sum_b w_b(L) ratio_b + c * GAIN * local_ratio)`` (pipeline/correspondence.py),
    ``v`` the photo's share :func:`in_view` from its mean match confidence (1 without local matching).
    ``smoother``: None for photos; in a video, a callable ``(local, conf) -> (local, conf)`` that averages the
    local term and its confidence over the shot's frames so far (video/local_smoothing.py)."""
    ref: ReferencePrior | None = opts.reference
    strength = opts.reference_strength
    if ref is None or strength == 0:
        return logits
    if l is None and len(ref.bands) > 1:
        raise ValueError("reference colours per lightness band need the network input's lightness")
    train_prior = colorizer.model.prior
    ratio = ref.log_ratio(train_prior)
    match = _match(colorizer, ref, opts.size) if l is not None else None
    if match is None:
        return reweight_logits(logits, l, ratio, ref.bands, strength)
    size = logits.shape[-2:]
    local, conf = corr.local_term(_photo_features(colorizer, l).to(logits), match, train_prior.to(logits), size)
    if smoother is not None:
        local, conf = smoother(local, conf)
    w = band_weights_on_grid(l, ref.bands, logits) * (1 - conf[:, 0, :, :, None])             # (N, h, w, B)
    # all in (N, h, w, Q) - the bins innermost, as the network's channels-last logits and the decode want them:
    # mixing layouts would cost a strided pass over every term and a copy in the decode
    delta = w @ ratio.to(logits)                                                               # (N, h, w, Q)
    delta.add_(local.permute(0, 2, 3, 1)).mul_(strength * in_view(conf)).add_(logits.permute(0, 2, 3, 1))
    return delta.permute(0, 3, 1, 2)


def in_view(conf: torch.Tensor) -> torch.Tensor:
    """Per photo, how far a reference steers it (``(N, 1, 1, 1)``): its mean match confidence over
    :data:`MATCH_FULL`, within [:data:`MATCH_FLOOR`, 1], from the confidence map ``(N, 1, h, w)``. A reference
    whose content is not in view (a film's later shot, an unrelated photo) steers less, but still steers."""
    return (conf.mean((1, 2, 3), keepdim=True) / MATCH_FULL).clamp(MATCH_FLOOR, 1)


def _photo_features(colorizer, l: torch.Tensor) -> torch.Tensor:
    """The features of the photo whose logits are being re-weighted: those its own forward left in this thread
    (same input), else one encoder pass (e.g. the first photo after the hook went in)."""
    maps = corr.take_captured(l.to(colorizer.device))
    if maps is None:
        with torch.inference_mode():
            maps = colorizer.net.encoder(l.to(colorizer.device))
    return corr.describe(maps)


def _match(colorizer, ref: ReferencePrior, size) -> corr.ReferenceMatch | None:
    """The reference's :class:`~.correspondence.ReferenceMatch` for this network (cached), or None when local
    matching is off, the reference is a palette, or the network has no encoder to match with."""
    if not LOCAL or ref.source is None or not corr.install_capture(colorizer.net):
        return None
    key = (id(colorizer.net), ref.key, size)
    with _lock:
        if key in _matches:
            _matches.move_to_end(key)
            return _matches[key]
    l = colorizer.network_input(ref.source, size)
    h, w = l.shape[-2:]
    from PIL import Image
    small = np.asarray(Image.fromarray(ref.source).resize((w, h), Image.BILINEAR))
    ab = rgb_to_lab(rgb_from_u8(small))[1:].unsqueeze(0)
    match = corr.reference_match(colorizer.net, l.to(colorizer.device), ab.to(colorizer.device),
                                 colorizer.centres)
    match = corr.ReferenceMatch(match.feats.cpu(), match.codes.cpu())
    with _lock:
        _matches[key] = match
        while len(_matches) > _CACHE_SIZE:
            _matches.popitem(last=False)
    return match
