"""Without Ray installed, --ray is a one-line error naming the extra; plain colorize is unaffected."""
from __future__ import annotations

import sys

from helpers import make_image_folder


def test_ray_missing_is_a_one_line_error(tinct_cli, tmp_path, monkeypatch):
    make_image_folder(tmp_path / "in", 2, size=40)
    for name in [m for m in sys.modules if m == "ray" or m.startswith("ray.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "ray", None)   # import ray -> ImportError
    r = tinct_cli("colorize", tmp_path / "in", "-o", tmp_path / "out", "--ray")
    assert r.rc == 2
    assert r.err.strip().splitlines() == ["tinct: --ray needs Ray Data: pip install 'tinct[cluster]'"]
    assert not (tmp_path / "out").exists()
    r = tinct_cli("colorize", tmp_path / "in", "-o", tmp_path / "out", "-q")
    assert r.rc == 0 and len(list((tmp_path / "out").iterdir())) == 2
    assert sys.modules.get("ray") is None   # plain colorize never imported Ray
