"""The stabiliser's fast paths give the same colours as the plain ones: rows decode = ``tinct.color.decode``,
and the network runs in the Colorizer's chosen precision (bf16 autocast when chosen)."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

pytest.importorskip("cv2")

from tinct.color import decode  # noqa: E402
from tinct.video import colorize_frames  # noqa: E402


@pytest.mark.parametrize("method,temperature", [("annealed", 0.38), ("annealed", 1.0), ("annealed", 1e-40),
                                                ("mean", 1.0), ("mode", 1.0)])
def test_rows_decode_equals_decode(colorizer, method, temperature):
    from tinct.video.decode_rows import decode_rows
    g = torch.Generator().manual_seed(1)
    q = len(colorizer.centres)
    logits = torch.randn(1, q, 5, 7, generator=g) * 3
    shift = torch.randn(q, generator=g)
    want = decode(logits, colorizer.centres, method, temperature, shift)
    got = decode_rows(logits[0].flatten(1).T, colorizer.centres, method, temperature, shift)
    assert torch.allclose(got.T.reshape(1, 2, 5, 7), want, atol=1e-4)


def test_frames_use_the_colorizers_precision(colorizer, monkeypatch):
    """The video path goes through ``forward_logits`` (autocast in the chosen precision), not the bare network:
    with bf16 chosen the network really runs in bf16."""
    c = copy.copy(colorizer)
    c.precision = "bf16"
    seen = []
    real = type(c.net).forward

    def spy(self, l, hints=None):
        seen.append(torch.get_autocast_dtype("cpu") if torch.is_autocast_enabled("cpu") else None)
        return real(self, l, hints)
    monkeypatch.setattr(type(c.net), "forward", spy)
    frames = [np.random.default_rng(i).integers(0, 255, (48, 64, 3), dtype=np.uint8) for i in range(3)]
    outs = list(colorize_frames(c, iter(frames), stability=0.6))
    assert len(outs) == 3 and seen == [torch.bfloat16] * 3


def test_network_worker_leaves_thread_counts_alone(colorizer):
    """The network's worker thread gets its own torch thread count; the caller's, and the default that new
    threads start with, are what they were."""
    import threading
    before = torch.get_num_threads()
    frames = [np.random.default_rng(i).integers(0, 255, (32, 48, 3), dtype=np.uint8) for i in range(3)]
    assert len(list(colorize_frames(colorizer, iter(frames), stability=0.6))) == 3
    seen = []
    t = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
    t.start()
    t.join()
    assert torch.get_num_threads() == before and seen == [before]
