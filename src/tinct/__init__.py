"""tinct: turn black-and-white photos into plausible colour ones (Zhang, Isola & Efros 2016, on a CPU)."""
import os as _os

# Before torch loads its OpenMP runtime (libgomp reads this once, at load): idle worker threads sleep instead of
# spinning, so two tinct processes, or tinct beside a training run, share the cores instead of burning them
# (BENCHMARKS.md, "Sharing the CPUs"). An explicit OMP_WAIT_POLICY in the environment is kept.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"


def __getattr__(name):
    if name == "Colorizer":
        from .pipeline.colorizer import Colorizer
        return Colorizer
    raise AttributeError(name)


__all__ = ["Colorizer", "__version__"]
