"""Colorize an archive on a Ray cluster (optional extra ``tinct[cluster]``): ``tinct colorize SRC -o DST --ray``.

Ray is imported lazily, only by the modules here, so the base install never needs it."""
from __future__ import annotations

INSTALL_HINT = "--ray needs Ray Data: pip install 'tinct[cluster]'"


def ray_missing() -> str | None:
    """None when Ray Data can be imported, else the one-line message naming the extra."""
    try:
        import ray  # noqa: F401
        import ray.data  # noqa: F401
    except ImportError:
        return INSTALL_HINT
    return None
