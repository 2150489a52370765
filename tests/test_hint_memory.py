"""Hint propagation's cost grows with the pixels, not pixels x hints (issue 25, case 6: 256 hints on a 1024²
grid once took 6.4 GB). Memory is measured as the peak RSS of a child process (no wall-clock involved)."""
from __future__ import annotations

import json
import subprocess

import torch

import helpers
from tinct.pipeline.hint_propagation import WORK, apply_hints, pool_factor

CHILD = r"""
import json, resource, sys
import numpy as np, torch
from tinct.pipeline.hint_propagation import apply_hints
from tinct.pipeline.hints import Hint, hint_discs
torch.set_num_threads(1)
k, side = int(sys.argv[1]), int(sys.argv[2])
L = torch.nn.functional.avg_pool2d(torch.rand(1, 1, side, side, generator=torch.Generator().manual_seed(0)) * 100,
                                   9, 1, 4)
rng = np.random.default_rng(0)
hints = [Hint(float(rng.uniform(0, side)), float(rng.uniform(0, side)), (200, 40, 40)) for _ in range(k)]
apply_hints(torch.zeros(1, 2, side // 4, side // 4), L, *hint_discs(hints[:1], (side, side), (side, side)))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
out = apply_hints(torch.zeros(1, 2, side // 4, side // 4), L, *hint_discs(hints, (side, side), (side, side)))
assert out.isfinite().all()
print(json.dumps({"growth_mb": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024}))
"""


def peak_growth_mb(hints: int, side: int) -> float:
    r = subprocess.run([helpers.python(), "-c", CHILD, str(hints), str(side)], capture_output=True, text=True,
                       env=helpers.subprocess_env(1), timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(r.stdout.strip().splitlines()[-1])["growth_mb"]


def test_many_hints_cost_no_more_memory_than_one():
    side = 512                       # 256 full-grid hint layers would be >= 256 x 1 MB per float32 plane
    one, many = peak_growth_mb(1, side), peak_growth_mb(256, side)
    assert many < one + 64, f"1 hint: +{one:.0f} MB, 256 hints: +{many:.0f} MB"


def test_the_work_per_image_is_bounded():
    for h, w, k in [(1024, 1024, 512), (1024, 768, 128), (256, 256, 10), (4096, 4096, 1)]:
        f = pool_factor(h, w, k)
        assert -(-h // f) * -(-w // f) * k <= WORK or f == max(h, w)
    assert pool_factor(256, 256, 10) == 1          # the model's own size with a few hints: the grid itself


def test_an_edge_still_stops_many_hints_on_the_pooled_grid():
    L = torch.full((1, 1, 256, 256), 30.0)
    L[..., 128:] = 70.0
    k = 300
    assert pool_factor(256, 256, k) > 1
    g = torch.Generator().manual_seed(0)
    ys, xs = torch.randint(0, 256, (k,), generator=g), torch.randint(0, 120, (k,), generator=g)
    discs = torch.zeros(k, 256, 256, dtype=torch.bool)
    discs[torch.arange(k), ys, xs] = True
    want = torch.tensor([50.0, -30.0]).expand(k, 2)
    out = apply_hints(torch.zeros(1, 2, 64, 64), L, discs, want, torch.ones(k))[0]
    assert torch.allclose(out[:, ys, xs], want.T)
    assert out[0, :, :120].mean() > 40 and out[:, :, 136:].abs().max() < 5
