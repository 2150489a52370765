"""Hostile numbers (a 309-digit hint, a radius of 1e400, temperature 1e-300, NaN, a 309-digit size) are refused
the same way everywhere: ValueError from Python, exit 2 with nothing written from the CLI, 422 from the API;
and the decoder itself never turns a tiny temperature into NaN (black)."""
from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from helpers import hint_follower, make_image_folder, multipart
from tinct.color import bin_centres, decode

HUGE = "9" * 309                     # an integer too large for a float
BAD_TEMPERATURES = ["1e-300", "1e-39", "0", "-1", "nan", "inf", "10.5"]


@pytest.fixture(scope="module")
def follower():
    return hint_follower(1_000_000)


def grey(w=64, h=48) -> np.ndarray:
    return np.tile(np.linspace(30, 220, w).astype(np.uint8), (h, 1))


# --- the decoder ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("t", [1e-300, 1e-39, 1e-10, 1e-3])
def test_annealed_decode_at_tiny_temperature_is_the_mode_not_nan(t):
    c = bin_centres()
    logits = torch.randn(2, len(c), 5, 7, generator=torch.Generator().manual_seed(0)) * 4
    ab = decode(logits, c, "annealed", t)
    assert torch.isfinite(ab).all()
    assert torch.allclose(ab, decode(logits, c, "mode"), atol=1e-3)


# --- Python ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs,word", [
    (dict(temperature=1e-300), "temperature"), (dict(temperature=float("nan")), "temperature"),
    (dict(temperature=11.0), "temperature"), (dict(size=10 ** 309), "size"), (dict(size=16), "size"),
    (dict(size=True), "size"), (dict(size=64.5), "size"),
    (dict(hints=[(10 ** 308, 5, (255, 0, 0))]), "hint x"), (dict(hints=[(int(HUGE), 5, (255, 0, 0))]), "hint x"),
    (dict(hints=[(5, float("nan"), (255, 0, 0))]), "hint y"), (dict(hints=[(5, 5, (255, 0, 0), 1e400)]), "radius"),
    (dict(hints=[(5, 5, (255, 0, 0), -1)]), "radius"), (dict(hints=[(5, 5, (256, 0, 0))]), "colour"),
])
def test_python_refuses_hostile_numbers(follower, kwargs, word):
    with pytest.raises(ValueError, match=word) as e:
        follower.colorize(grey(), **kwargs)
    assert "\n" not in str(e.value) and len(str(e.value)) < 200


def test_python_accepts_the_edges_of_the_ranges(follower):
    for kw in (dict(temperature=0.01), dict(temperature=10), dict(size=32), dict(hints=[(0, 47, (0, 0, 0), 0)]),
               dict(hints=[(63.5, 0, (255, 255, 255), 1e9)])):
        out = follower.colorize(grey(), **kw)
        assert out.shape == (48, 64, 3) and np.isfinite(out).all()
    with pytest.raises(ValueError, match="outside the 64x48 image"):   # a hint outside is an error (issue 13)
        follower.colorize(grey(), hints=[(-5, 1e9, (0, 0, 0), 0)])


# --- CLI ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("args", [["--temperature", t] for t in BAD_TEMPERATURES] + [
    ["--hint", f"{HUGE},5,#ff0000"], ["--hint", f"5,5,#ff0000,{HUGE}"], ["--hint", "5,nan,#ff0000"],
    ["--hint", "5,5,#ff0000,-3"], ["--size", HUGE], ["--size", "16"]])
def test_cli_refuses_hostile_numbers_and_writes_nothing(tinct_cli, tmp_path, args):
    make_image_folder(tmp_path / "in", 1)
    res = tinct_cli("colorize", tmp_path / "in", "-o", tmp_path / "out", *args)
    assert res.rc == 2, res.err
    assert "Traceback" not in res.err and res.err.strip()
    assert not (tmp_path / "out").exists()


# --- web API -----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def client(follower):
    pytest.importorskip("fastapi")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    from tinct.server.app import create_app
    with TestClient(create_app(follower), base_url="http://127.0.0.1", raise_server_exceptions=False) as c:
        yield c


def png(arr) -> bytes:
    b = io.BytesIO()
    Image.fromarray(arr).save(b, "PNG")
    return b.getvalue()


def post_raw(client, **fields):
    """Fields sent verbatim (a 309-digit number stays a JSON integer, not a float)."""
    body, ctype = multipart({"image": ("a.png", png(grey())), **{k: (None, v.encode()) for k, v in fields.items()}})
    return client.post("/api/colorize", content=body, headers={"content-type": ctype})


@pytest.mark.parametrize("fields", [{"temperature": t} for t in BAD_TEMPERATURES] + [
    {"hints": f'[{{"x": {HUGE}, "y": 5, "color": "#ff0000"}}]'},
    {"hints": f'[{{"x": 5, "y": -{HUGE}, "color": "#ff0000"}}]'},
    {"hints": f'[{{"x": 5, "y": 5, "color": "#ff0000", "radius": {HUGE}}}]'},
    {"hints": '[{"x": 5, "y": 5, "color": "#ff0000", "radius": 1e400}]'},
    {"hints": '[{"x": 5, "y": 5, "color": "#ff0000", "radius": -1}]'},
    {"hints": '[{"x": "5", "y": 5, "color": "#ff0000"}]'},
    {"size": HUGE}, {"size": "2048"}])
def test_api_refuses_hostile_numbers_with_422(client, fields):
    r = post_raw(client, **fields)
    assert r.status_code == 422, r.text
    msg = r.json()["error"]
    assert "\n" not in msg and len(msg) < 200
    ok = post_raw(client, temperature="0.5")  # the same connection keeps being served
    assert ok.status_code == 200 and Image.open(io.BytesIO(ok.content)).size == (64, 48)
