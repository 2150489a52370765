"""Local correspondence for reference colours (issue 27, step 3; the idea of He et al. 2018, *Deep Exemplar-based
Colorization*), training-free.

The network's own encoder sees the grey photo's L and the reference's L. Their features at stride 8 and 16
(L2-normalised, concatenated) are matched by cosine similarity: every location of the photo takes the reference's
ab distribution at its ``k`` best matches (softmax-weighted by similarity), a *local* q in place of the global or
per-band histogram, with a confidence from the best match's similarity. Where confidence is low the per-band
histogram stays in charge:

    ratio(x) = c(x) * GAIN * (log q_local(x) - log p_train) + (1 - c(x)) * sum_b w_b(L) (log q_b - log p_train)

``c(x) = clamp((sim(x) - LOW) / (HIGH - LOW), 0, 1)``: a match-confidence adaptive strength, the reference is
followed more where (and as far as) the photo matches it. The reference side (features and per-location ab codes)
is computed once per reference (cached with its prior, pipeline/reference.py); the photo's features are those of
the network's own forward pass (captured by a hook on its encoder: no second pass).
"""
from __future__ import annotations

import functools
import threading
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..color.bins import encode_soft
from .precision import cpu_flags

FEATURE_LEVELS = (1, 2)   # encoder outputs used: stride 8 (40 channels) and stride 16 (112 channels)
TOP_K = 4                 # reference locations each photo location takes its colours from
TAU = 0.05                # softmax temperature over the top-k similarities
LOW, HIGH = 0.45, 0.75    # best-match similarity -> confidence 0 .. 1
GAIN = 2.5                # the local re-weighting's strength, relative to the histograms': where the match is
                          # confident a reference is followed more (related references match at a mean best
                          # similarity of ~0.75, unrelated ones ~0.45-0.5). LOW, HIGH, GAIN, TOP_K were chosen on
                          # the wallpapers and 100 MiniPlaces train photos (BENCHMARKS.md "Reference colours"; top 4
                          # scores as top 8 there, within 0.02 dB, and its top-k is cheaper)
FLOOR = 0.05              # share of the training prior in a local q (as pipeline/reference.py)

_captured = threading.local()


@functools.lru_cache(maxsize=1)
def native_bf16() -> bool:
    """Whether this CPU multiplies bf16 natively (AVX512_BF16 or AMX): there a bf16 similarity product takes
    about half the time of fp32's; elsewhere bf16 is emulated and slower, and fp32 is used."""
    flags = cpu_flags()
    return "avx512_bf16" in flags or "amx_bf16" in flags


@dataclass(frozen=True)
class ReferenceMatch:
    """A reference's encoder features ``(C, N)`` (unit columns) and its ab distributions ``(N, Q)`` at the same
    ``N`` locations (stride 8 of its network grid)."""
    feats: torch.Tensor
    codes: torch.Tensor


def describe(feature_maps: list) -> torch.Tensor:
    """The encoder's feature maps (strides 4, 8, 16, 32) -> ``(N, C, h8, w8)``: the :data:`FEATURE_LEVELS`, each
    L2-normalised per location, stacked at stride 8 and normalised again."""
    base = feature_maps[FEATURE_LEVELS[0]].float()
    parts = []
    for i in FEATURE_LEVELS:
        f = feature_maps[i].float()
        if f.shape[-2:] != base.shape[-2:]:
            f = F.interpolate(f, size=base.shape[-2:], mode="bilinear", align_corners=False)
        parts.append(F.normalize(f, dim=1))
    return F.normalize(torch.cat(parts, 1), dim=1)


def install_capture(net) -> bool:
    """Hook ``net.encoder`` (once) so that each forward leaves its input and feature maps for
    :func:`take_captured` in the calling thread. -> False when the network has no encoder to hook (e.g. an ONNX
    session)."""
    enc = getattr(net, "encoder", None)
    if not isinstance(enc, torch.nn.Module):
        return False
    if not getattr(enc, "_tinct_capture", False):
        enc.register_forward_hook(lambda mod, args, out: setattr(_captured, "last", (args[0], out)))
        enc._tinct_capture = True
    return True


def take_captured(l: torch.Tensor):
    """The feature maps of this thread's last encoder forward when its input was ``l`` (then forgotten), or
    None."""
    last = getattr(_captured, "last", None)
    _captured.last = None
    if last is None or last[0].shape != l.shape or not torch.equal(last[0].to(l), l):
        return None
    return last[1]


def reference_match(net, l: torch.Tensor, ab: torch.Tensor, centres: torch.Tensor) -> ReferenceMatch:
    """A reference's L ``(1, 1, h, w)`` at its network grid and its ab ``(1, 2, h, w)`` -> :class:`ReferenceMatch`:
    the encoder's features and, per stride-8 location, the soft ab histogram of its pixels."""
    with torch.inference_mode():
        feats = describe(net.encoder(l))[0]                                    # (C, h8, w8)
        idx, w = encode_soft(ab.float(), centres, 5, 5.0)                      # (1, k, h, w)
        dense = torch.zeros(1, len(centres), *ab.shape[-2:], device=ab.device).scatter_add_(1, idx, w)
        codes = F.adaptive_avg_pool2d(dense, feats.shape[-2:])[0]              # (Q, h8, w8)
    codes = codes.flatten(1).T
    return ReferenceMatch(feats.flatten(1).contiguous(), (codes / codes.sum(1, keepdim=True)).contiguous())


def local_ratio(feats: torch.Tensor, match: ReferenceMatch, prior: torch.Tensor, k: int | None = None,
                tau: float | None = None, low: float | None = None, high: float | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """The photo's features ``(N, C, h, w)`` (:func:`describe`) -> (``(N, Q, h, w)`` log q_local - log p_train,
    a channels-last view; confidence ``(N, 1, h, w)`` in [0, 1]). ``k``, ``tau``, ``low``, ``high``: default
    :data:`TOP_K`, :data:`TAU`, :data:`LOW`, :data:`HIGH`."""
    k, tau = k or TOP_K, tau or TAU
    low, high = LOW if low is None else low, HIGH if high is None else high
    n, c, h, w = feats.shape
    f = feats.flatten(2).transpose(1, 2)                                       # (N, hw, C)
    if f.device.type == "cpu" and native_bf16():   # the one large product; bf16 moves sims by ~1e-3
        sim = (f.bfloat16() @ match.feats.to(torch.bfloat16)).float()          # (N, hw, Nr)
    else:
        sim = f @ match.feats.to(f)
    top, idx = sim.topk(min(k, sim.shape[-1]), dim=-1)
    wts = torch.softmax(top / tau, -1)
    # the weighted sum of the k matched rows of codes, without gathering them into an (N, hw, k, Q) copy
    q = F.embedding_bag(idx.flatten(0, 1), match.codes.to(f), per_sample_weights=wts.flatten(0, 1), mode="sum")
    p = prior.to(f).clamp(min=1e-4)
    p = p / p.sum()
    ratio = q.mul_(1 - FLOOR).add_(FLOOR * p).log_().sub_(p.log())           # (N * hw, Q)
    conf = ((top[..., 0] - low) / (high - low)).clamp(0, 1)
    return ratio.view(n, h, w, -1).permute(0, 3, 1, 2), conf.view(n, 1, h, w)


def local_term(feats: torch.Tensor, match: ReferenceMatch, prior: torch.Tensor, size, gain: float | None = None,
               **kw) -> tuple[torch.Tensor, torch.Tensor]:
    """-> (``gain * c * (log q_local - log p_train)`` ``(N, Q, *size)``, channels-last; the confidence ``c``
    ``(N, 1, *size)``), computed on the feature grid and brought to ``size`` (the logits' grid) bilinearly.
    ``gain`` defaults to :data:`GAIN`."""
    ratio, conf = local_ratio(feats, match, prior, **kw)
    ratio = ratio.mul_(conf * (GAIN if gain is None else gain))
    term = F.interpolate(ratio, size=size, mode="bilinear", align_corners=False)   # fast on channels-last
    return term, F.interpolate(conf, size=size, mode="bilinear", align_corners=False)
