"""A reference's local term kept steady over a video's shot (issue 27: the real clip's flicker through the
stabiliser came from places on the match-confidence ramp switching their matched colours from frame to frame);
photos are exactly as before."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

pytest.importorskip("cv2")

from test_frame_reference import scene_frames  # noqa: E402
from test_reference import grey_scene  # noqa: E402
from test_reference_local import coloured, two_textures  # noqa: E402
from tinct.pipeline import correspondence as C  # noqa: E402
from tinct.video import colorize_frames  # noqa: E402
from tinct.video import local_smoothing  # noqa: E402


def flicker(frames) -> float:
    """Mean |change| of the colour channels (RGB minus their mean) from frame to frame."""
    chroma = [f.astype(float) - f.astype(float).mean(2, keepdims=True) for f in frames]
    return float(np.mean([np.abs(b - a).mean() for a, b in zip(chroma, chroma[1:])]))


def flipping_local_term(monkeypatch):
    """Make the local step flip between two matched colour sets (and confidences) on alternate frames."""
    calls = itertools.count()
    real = C.local_term

    def flip(feats, match, prior, size, *a, **k):
        local, conf = real(feats, match, prior, size, *a, **k)
        g = torch.Generator().manual_seed(0)
        bias = 4 * torch.randn(local.shape[1], generator=g).to(local).view(1, -1, 1, 1)
        sign = 1 if next(calls) % 2 else -1
        return local + sign * bias, torch.full_like(conf, 0.5 + 0.3 * sign)
    monkeypatch.setattr(C, "local_term", flip)


def test_a_local_term_that_flips_between_frames_is_steadier_through_the_stabiliser(colorizer, monkeypatch):
    frames = scene_frames(8)
    ref = np.asarray(coloured(np.repeat(grey_scene()[:, :, :1], 3, 2)))
    flipping_local_term(monkeypatch)
    kw = dict(reference=ref, reference_strength=1, stability=0.6)
    steady = flicker(list(colorize_frames(colorizer, frames, **kw)))
    monkeypatch.setattr(local_smoothing, "CARRY", 0.0)
    raw = flicker(list(colorize_frames(colorizer, frames, **kw)))
    assert steady < 0.7 * raw, (steady, raw)


def test_the_smoother_carries_the_average_along_the_flow_and_restarts_without_one():
    s = local_smoothing.LocalTermSmoother(0.5)
    l = torch.full((1, 1, 8, 8), 50.0)
    a, b = torch.zeros(1, 3, 4, 4), torch.ones(1, 3, 4, 4)
    ca, cb = torch.zeros(1, 1, 4, 4), torch.ones(1, 1, 4, 4)
    out, conf = s.step(None, l, None)(a, ca)
    assert torch.equal(out, a) and torch.equal(conf, ca)                       # the first frame: as it is
    still = np.zeros((8, 8, 2), np.float32)                                    # no motion, L unchanged: trusted
    out, conf = s.step(l[0, 0], l, still)(b, cb)
    assert torch.allclose(out, torch.full_like(b, 0.5)) and torch.allclose(conf, torch.full_like(cb, 0.5))
    out, _ = s.step(None, l, None)(a, ca)                                      # no flow (e.g. lost): afresh
    assert torch.equal(out, a)


def test_a_photo_is_bit_identical_before_and_after_a_video(colorizer):
    grey = two_textures()
    ref = coloured(grey)
    before = colorizer.colorize(grey, reference=ref, reference_strength=0.7)
    list(colorize_frames(colorizer, scene_frames(3), reference=ref, reference_strength=0.7))
    after = colorizer.colorize(grey, reference=ref, reference_strength=0.7)
    assert np.array_equal(before, after)
