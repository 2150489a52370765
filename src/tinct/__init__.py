"""tinct: turn black-and-white photos into plausible colour ones (Zhang, Isola & Efros 2016, on a CPU)."""
__version__ = "0.1.0"


def __getattr__(name):
    if name == "Colorizer":
        from .pipeline.colorizer import Colorizer
        return Colorizer
    raise AttributeError(name)


__all__ = ["Colorizer", "__version__"]
