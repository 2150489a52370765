"""Choosing the inference precision per machine: fp32, or bf16 autocast where it is faster and close enough.

bf16 is twice as fast as fp32 on some CPUs (AMX, or AVX512_BF16 on some AMD EPYCs) and slower on others
(Xeons with AVX512_BF16 but no AMX: BENCHMARKS.md), so ``precision="auto"`` measures instead of guessing:
a short start-up run of the model's own network on a real photo (``weights/probe.jpg``, a Library of Congress
stereograph half, examples/SOURCES.tsv) times fp32 and bf16 forwards, interleaved (fastest of 4), at batch 1 and at batch
:data:`PROBE_BATCH`, and compares the decoded colours. bf16 is chosen when it is at least
:data:`MIN_SPEEDUP` times faster **and** its colour stays within :data:`MAX_AB_ERROR` CIELAB ab units of
fp32's (mean per-pixel distance of the decoded ab). The result is cached in ``precision.json`` under
:func:`cache_dir`, keyed by the CPU (model name and flags), the torch version and thread count, the device and
the model's weights, so the measurement runs once per machine and model.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import torch

PRECISIONS = ("auto", "fp32", "bf16")
MAX_AB_ERROR = 2.0   # CIELAB ab units, mean over pixels of |ab_bf16 - ab_fp32|
MIN_SPEEDUP = 1.05   # bf16 must take at most 1/1.05 of fp32's time
PROBE_BATCH = 4
CACHE_FILE = "precision.json"


@dataclass
class Measurement:
    """Seconds per image (batch-1 time + batch-PROBE_BATCH time per image) and the bf16 colour error."""
    fp32_s: float
    bf16_s: float
    ab_mean: float      # mean |Δab| of bf16 vs fp32 on the probe photo(s), CIELAB units
    ab_max: float       # largest per-pixel |Δab| (reported, not used for the decision)

    @property
    def ratio(self) -> float:
        """bf16 time / fp32 time (< 1: bf16 is faster)."""
        return self.bf16_s / self.fp32_s


def decide(m: Measurement) -> str:
    """'bf16' when it is at least MIN_SPEEDUP faster and within MAX_AB_ERROR of fp32's colour, else 'fp32'."""
    return "bf16" if m.bf16_s * MIN_SPEEDUP <= m.fp32_s and m.ab_mean <= MAX_AB_ERROR else "fp32"


def autocast(device: torch.device, precision: str):
    """The context a forward pass runs in for ``precision`` ('fp32': none; 'bf16': torch.autocast)."""
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return nullcontext()


def cache_dir() -> Path:
    """``$TINCT_CACHE_DIR``, else ``$XDG_CACHE_HOME/tinct``, else ``~/.cache/tinct``."""
    if os.environ.get("TINCT_CACHE_DIR"):
        return Path(os.environ["TINCT_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "tinct"


@functools.lru_cache(maxsize=1)
def cpu_info() -> dict:
    """The first CPU's fields of ``/proc/cpuinfo`` (``{"model name": ..., "flags": ...}``; empty where unreadable)."""
    info: dict = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                k, _, v = line.partition(":")
                info.setdefault(k.strip(), v.strip())
    except OSError:
        pass
    return info


def cpu_flags() -> set[str]:
    """The CPU's feature flags (``avx512_bf16``, ``amx_bf16``, ...; empty where unknown)."""
    return set(cpu_info().get("flags", "").split())


def _cpu() -> str:
    """CPU model name and a digest of its feature flags (AVX-512, AMX, ... decide bf16's speed)."""
    info = cpu_info()
    name = info.get("model name") or platform.processor() or platform.machine()
    flags = " ".join(sorted(cpu_flags()))
    return f"{name} [flags {hashlib.sha256(flags.encode()).hexdigest()[:12]}]"


def model_digest(net: torch.nn.Module) -> str:
    """sha256 of the network's weights (names, shapes and bytes), 16 hex digits."""
    h = hashlib.sha256()
    for k, v in net.state_dict().items():
        h.update(k.encode())
        h.update(str(tuple(v.shape)).encode())
        h.update(v.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()[:16]


def machine_key(device: torch.device, digest: str) -> str:
    dev = torch.cuda.get_device_name(device) if device.type == "cuda" else _cpu()
    return f"{dev} | torch {torch.__version__} x{torch.get_num_threads()} | {device.type} | model {digest}"


def probe_photos() -> list[np.ndarray]:
    """The real photo(s) the measurement runs on, uint8 RGB."""
    from PIL import Image
    with Image.open(str(resources.files("tinct") / "weights" / "probe.jpg")) as im:
        return [np.asarray(im.convert("RGB"))]


def measure(colorizer, photos: list[np.ndarray] | None = None, repeats: int = 4) -> Measurement:
    """Time fp32 and bf16 forwards of ``colorizer``'s network (interleaved; the fastest of ``repeats`` after one
    warm-up, since other processes only ever add time) on the first photo at batch 1 and PROBE_BATCH, and
    compare decoded ab on every photo."""
    photos = photos if photos is not None else probe_photos()
    opts = colorizer.options()
    ls = [colorizer.network_input(rgb, opts.size) for rgb in photos]
    inputs = (ls[0], ls[0].repeat(PROBE_BATCH, 1, 1, 1))
    times: dict = {(p, i): [] for p in ("fp32", "bf16") for i in range(2)}
    for rep in range(repeats + 1):
        for (p, i), ts in times.items():
            t0 = time.perf_counter()
            colorizer.forward_logits(inputs[i], None, p)
            if rep:
                ts.append(time.perf_counter() - t0)
    per_image = {p: min(times[p, 0]) + min(times[p, 1]) / PROBE_BATCH
                 for p in ("fp32", "bf16")}
    means, maxes = [], []
    for l in ls:
        a, b = (colorizer.decode_logits(colorizer.forward_logits(l, None, p), opts) for p in ("fp32", "bf16"))
        d = (a - b).norm(dim=1)
        means.append(d.mean().item())
        maxes.append(d.max().item())
    return Measurement(per_image["fp32"], per_image["bf16"], max(means), max(maxes))


def _load_cache(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _save_cache(path: Path, data: dict) -> None:
    """Atomic (temporary file + rename); a cache that cannot be written is simply not kept."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
        os.replace(tmp, path)
    except OSError:
        pass


def choose(colorizer, measure_fn=None, use_cache: bool = True) -> tuple[str, dict]:
    """-> (precision, record) for ``colorizer`` on this machine: from the cache, else measured and cached.
    ``record`` holds the choice, the timings (ms per image), their ratio and the ab error."""
    if colorizer.device.type not in ("cpu", "cuda") or not isinstance(colorizer.net, torch.nn.Module):
        return "fp32", {"choice": "fp32", "why": "bf16 is only offered for the torch backend on CPU or CUDA"}
    key = machine_key(colorizer.device, model_digest(colorizer.model.net))
    path = cache_dir() / CACHE_FILE
    cache = _load_cache(path) if use_cache else {}
    rec = cache.get(key)
    if isinstance(rec, dict) and rec.get("choice") in ("fp32", "bf16"):
        return rec["choice"], rec
    m = (measure_fn or measure)(colorizer)
    rec = {"choice": decide(m), "fp32_ms": m.fp32_s * 1e3, "bf16_ms": m.bf16_s * 1e3, "ratio": m.ratio,
           **{k: v for k, v in asdict(m).items() if k.startswith("ab_")},
           "measured_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime())}
    if use_cache:
        cache = _load_cache(path)  # re-read: another process may have added its own machine meanwhile
        cache[key] = rec
        _save_cache(path, cache)
    return rec["choice"], rec
