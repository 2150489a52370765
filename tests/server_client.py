"""Shared by the in-process HTTP API tests (test_server_api.py, test_server_errors.py): encoders of test
photos, a request helper, response checks, and the two module-scoped clients (shipped model; hint follower)."""
from __future__ import annotations

import io
import json
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's "use httpx2" deprecation notice
    from fastapi.testclient import TestClient

from helpers import hint_follower  # noqa: E402
from tinct.color import rgb_to_lab  # noqa: E402
from tinct.server.app import create_app  # noqa: E402

UPLOAD_LIMIT = 256 * 1024
PIXEL_LIMIT = 1_000_000


# --- helpers ------------------------------------------------------------------------------------------------
def encode(arr: np.ndarray, fmt: str = "PNG", mode: str | None = None) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr, mode).save(buf, fmt)
    return buf.getvalue()


def grey_photo(w: int = 160, h: int = 120) -> np.ndarray:
    """A grey 'photo': a horizontal gradient with a flat mid-grey square in the middle-left."""
    a = np.tile(np.linspace(40, 220, w, dtype=np.float32), (h, 1))
    a[h // 4: 3 * h // 4, w // 8: w // 2] = 127
    return a.round().astype(np.uint8)


def lab_of(rgb) -> np.ndarray:
    t = torch.from_numpy(np.asarray(rgb)[..., :3].astype(np.float32) / 255).permute(2, 0, 1)[None]
    return rgb_to_lab(t)[0].permute(1, 2, 0).numpy()


def colour_ab(rgb) -> np.ndarray:
    return lab_of(np.array([[rgb]], np.uint8))[0, 0, 1:]


def post(client, image: bytes | None, name: str = "photo.png", ctype: str = "image/png", **fields):
    files = {"image": (name, image, ctype)} if image is not None else {"other": ("x.bin", b"x", "application/octet-stream")}
    data = {k: (v if isinstance(v, str) else json.dumps(v)) for k, v in fields.items()}
    return client.post("/api/colorize", files=files, data=data)


def png_of(resp) -> Image.Image:
    assert resp.status_code == 200, resp.text[:300]
    assert resp.headers["content-type"] == "image/png"
    assert resp.content[:8] == b"\x89PNG\r\n\x1a\n"
    img = Image.open(io.BytesIO(resp.content))
    img.load()
    return img


def assert_json_error(resp, statuses) -> str:
    assert resp.status_code in statuses, (resp.status_code, resp.text[:300])
    assert resp.headers["content-type"].startswith("application/json"), resp.headers["content-type"]
    body = resp.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"], body
    assert "\n" not in body["error"] and "Traceback" not in body["error"]
    return body["error"]


@pytest.fixture(scope="module")
def client(colorizer):
    app = create_app(colorizer, max_upload_bytes=UPLOAD_LIMIT, max_pixels=PIXEL_LIMIT, queue_size=4, workers=1)
    with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="module")
def follower_client():
    app = create_app(hint_follower(PIXEL_LIMIT), max_upload_bytes=UPLOAD_LIMIT, max_pixels=PIXEL_LIMIT)
    with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False) as c:
        yield c


GOOD = encode(grey_photo(96, 64))


def assert_still_serving(client):
    img = png_of(post(client, GOOD))
    assert img.size == (96, 64)
