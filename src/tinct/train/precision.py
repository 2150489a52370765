"""Choosing the training precision for ``--precision auto``: bf16 autocast on CUDA; on the CPU, measured.

bf16 training steps are faster than fp32 on some CPUs (AVX512_BF16, AMX) and slower on others, so on the CPU
``auto`` measures instead of guessing: :func:`measure` times whole training steps (forward, loss, backward; no
optimizer update) of the run's own network on the run's own first batch in fp32 and in bf16 autocast,
interleaved, the fastest of ``repeats`` after one warm-up each, on a copy of the network (its weights and
BatchNorm statistics stay untouched) with the global RNG state restored. :func:`decide` takes bf16 when its step
is at least :data:`MIN_SPEEDUP` times faster **and** its loss on that batch is within :data:`MAX_LOSS_REL` of
fp32's. The run stores the result (``precision.json`` in the run, and the resolved ``precision`` in its config,
so ``--resume`` keeps the choice without measuring again). The probe uses the run's own batch, not a smaller
one: bf16's speed depends on the shapes (on a 2-core AMD EPYC with AVX512_BF16, no AMX, a bf16 step took
0.6-0.8x fp32's time at batch 32 in some measurements and 0.9-1.6x in others on the busy machine, and several
times fp32's CPU time at batch 16). It costs ``2 * (repeats + 1)`` steps without updates, once per run.
"""
from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass
from typing import Callable

import torch

MIN_SPEEDUP = 1.1      # bf16 must take at most 1/1.1 of fp32's step time
MAX_LOSS_REL = 0.02    # |loss_bf16 - loss_fp32| / |loss_fp32| on the probe batch


@dataclass
class StepProbe:
    """Seconds per training step in fp32 and bf16, and the two losses on the same batch."""
    fp32_s: float
    bf16_s: float
    fp32_loss: float
    bf16_loss: float

    @property
    def ratio(self) -> float:
        """bf16 time / fp32 time (< 1: bf16 is faster)."""
        return self.bf16_s / self.fp32_s

    @property
    def loss_rel(self) -> float:
        return abs(self.bf16_loss - self.fp32_loss) / max(abs(self.fp32_loss), 1e-12)


def decide(p: StepProbe) -> str:
    """'bf16' when at least MIN_SPEEDUP faster and its loss within MAX_LOSS_REL of fp32's, else 'fp32'."""
    return "bf16" if p.bf16_s * MIN_SPEEDUP <= p.fp32_s and p.loss_rel <= MAX_LOSS_REL else "fp32"


def measure(net: torch.nn.Module, loss_of: Callable[[torch.nn.Module, bool], torch.Tensor], device: torch.device,
            repeats: int = 4) -> StepProbe:
    """Time ``loss_of(net_copy, bf16).backward()`` with ``bf16`` False and True (``loss_of`` runs its forward in
    bf16 autocast when asked), interleaved, the fastest of ``repeats`` after one warm-up each (other processes
    only ever add time), on a deep copy of ``net``; the losses are those of the warm-ups."""
    probe = copy.deepcopy(net)
    times: dict[bool, list[float]] = {False: [], True: []}
    losses: dict[bool, float] = {}
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        for rep in range(repeats + 1):
            for bf16 in ((False, True) if rep % 2 == 0 else (True, False)):
                t0 = time.perf_counter()
                loss = loss_of(probe, bf16)
                loss.backward()
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                if rep:
                    times[bf16].append(time.perf_counter() - t0)
                else:
                    losses[bf16] = float(loss.detach())
                probe.zero_grad(set_to_none=True)
    return StepProbe(min(times[False]), min(times[True]), losses[False], losses[True])


def resolve(requested: str, device: torch.device, measure_fn: Callable[[], StepProbe]) -> tuple[str, dict]:
    """-> (precision, record) for a run asking ``requested`` ('auto' | 'fp32' | 'bf16') on ``device``.
    Only 'auto' on the CPU calls ``measure_fn``; the record says what was chosen and why."""
    if requested in ("fp32", "bf16"):
        return requested, {"requested": requested, "choice": requested, "why": "asked for"}
    if device.type == "cuda":
        return "bf16", {"requested": "auto", "choice": "bf16", "why": "CUDA"}
    if device.type != "cpu":
        return "fp32", {"requested": "auto", "choice": "fp32", "why": f"{device.type}: bf16 not offered"}
    p = measure_fn()
    choice = decide(p)
    return choice, {"requested": "auto", "choice": choice, "why": "measured on this CPU", **asdict(p),
                    "ratio": p.ratio, "loss_rel": p.loss_rel, "min_speedup": MIN_SPEEDUP,
                    "max_loss_rel": MAX_LOSS_REL, "measured_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime())}


def describe(rec: dict) -> str:
    """One line for the log."""
    if "ratio" not in rec:
        return f"precision {rec['requested']} -> {rec['choice']} ({rec['why']})"
    return (f"precision auto -> {rec['choice']} (a training step here: fp32 {rec['fp32_s']:.3f} s, bf16 "
            f"{rec['bf16_s']:.3f} s, {1 / rec['ratio']:.2f}x; probe loss differs {100 * rec['loss_rel']:.2f} %)")
