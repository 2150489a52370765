"""Reference colours over HTTP (issue 27): a ``reference`` file and a ``palette`` JSON field on /api/colorize and
/api/suggest steer the colours; bad ones are a 422 with a one-line JSON error."""
from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
from server_client import assert_json_error, client, encode, grey_photo, png_of  # noqa: E402,F401

from test_reference import mean_ab, solid  # noqa: E402

PHOTO = encode(grey_photo(96, 64))
BLUE = encode(solid((30, 90, 200), 120, 80), "JPEG")


def send(client, path="/api/colorize", reference: bytes | None = None, **fields):
    files = {"image": ("photo.png", PHOTO, "image/png")}
    if reference is not None:
        files["reference"] = ("ref.jpg", reference, "image/jpeg")
    data = {k: (v if isinstance(v, str) else json.dumps(v)) for k, v in fields.items()}
    return client.post(path, files=files, data=data)


def test_reference_and_palette_steer_the_result(client):
    auto = mean_ab(np.asarray(png_of(send(client)).convert("RGB")))
    blue = mean_ab(np.asarray(png_of(send(client, reference=BLUE)).convert("RGB")))
    assert blue[1] < auto[1] - 5
    off = mean_ab(np.asarray(png_of(send(client, reference=BLUE, reference_strength="0")).convert("RGB")))
    assert np.allclose(off, auto, atol=0.01)
    green = mean_ab(np.asarray(png_of(send(client, palette=["#2e8b3a", {"color": "#2e8b3a", "weight": 2}]))
                               .convert("RGB")))
    assert green[0] < auto[0] - 5


def test_suggest_takes_a_reference(client):
    plain = send(client, "/api/suggest", x="48", y="20").json()["suggestions"]
    blue = send(client, "/api/suggest", reference=BLUE, reference_strength="2", x="48", y="20").json()["suggestions"]
    assert blue[0]["ab"][1] < plain[0]["ab"][1]


@pytest.mark.parametrize("kw,message", [
    (dict(reference=encode(grey_photo(40, 30))), "reference has no colour"),
    (dict(reference=b"not an image"), "reference: not an image"),
    (dict(palette=["#12345"]), "invalid palette colour"),
    (dict(palette="not json"), "palette must be a JSON list"),
    (dict(palette={"color": "#ff0000"}), "palette must be a JSON list"),
    (dict(palette=[("#ff0000", -2)]), "palette weight"),
    (dict(reference_strength="11"), "reference_strength"),
])
@pytest.mark.parametrize("path", ["/api/colorize", "/api/suggest"])
def test_bad_references_are_422(client, kw, message, path):
    extra = dict(x="4", y="4") if path == "/api/suggest" else {}
    r = send(client, path, **kw, **extra)
    assert message in assert_json_error(r, (422,))

