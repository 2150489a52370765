"""Shared fixtures. Keep this small: helpers that build data live in tests/helpers.py."""
from __future__ import annotations

import copy
import io
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session", autouse=True)
def _tinct_cache(tmp_path_factory):
    """--precision auto caches its measurement under TINCT_CACHE_DIR: a fresh folder per test session (also
    for subprocesses), never the user's ~/.cache."""
    import os
    old = os.environ.get("TINCT_CACHE_DIR")
    os.environ["TINCT_CACHE_DIR"] = str(tmp_path_factory.mktemp("tinct-cache"))
    yield
    if old is None:
        os.environ.pop("TINCT_CACHE_DIR", None)
    else:
        os.environ["TINCT_CACHE_DIR"] = old


@pytest.fixture(scope="session")
def colorizer():
    """The shipped model, loaded once per session, on the CPU."""
    from tinct.pipeline.colorizer import Colorizer
    return Colorizer.load(device="cpu")


@dataclass
class CliResult:
    rc: int
    out: bytes   # stdout
    err: str     # stderr

    def error_lines(self) -> list[str]:
        return [ln for ln in self.err.splitlines() if ln.startswith("tinct: ")]


@pytest.fixture
def tinct_cli(colorizer, monkeypatch):
    """Run ``tinct ARGS...`` in-process -> CliResult. The shipped model is shared (loaded once per session)
    for ``--model default`` on the CPU; other models are loaded for real."""
    import tinct.cli.colorize as colorize_cmd
    from tinct.cli.main import main

    real_load = colorize_cmd.load_colorizer

    def load(model, device, max_pixels, backend="torch"):
        if model in (None, "default") and device in ("auto", "cpu") and backend == "torch":
            c = copy.copy(colorizer)
            c.max_pixels = max_pixels
            return c
        return real_load(model, device, max_pixels, backend)

    monkeypatch.setattr(colorize_cmd, "load_colorizer", load)

    def run(*args, stdin: bytes = b"") -> CliResult:
        out = io.TextIOWrapper(io.BytesIO(), write_through=True)
        err = io.StringIO()
        prev = sys.stdin, sys.stdout, sys.stderr
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
        monkeypatch.setattr(sys, "stdout", out)
        monkeypatch.setattr(sys, "stderr", err)
        try:
            rc = main([str(a) for a in args])
        except SystemExit as e:  # argparse usage errors
            rc = e.code if isinstance(e.code, int) else 2
        finally:
            sys.stdin, sys.stdout, sys.stderr = prev
        return CliResult(rc, out.buffer.getvalue(), err.getvalue())

    return run
