"""The HTTP API of ``tinct serve`` (in-process, FastAPI TestClient): PNGs of the right size, hints arriving in
the image's own pixels, every kind of bad input answered with a 4xx JSON error, limits, the busy answer, and
the server still serving after each bad request."""
from __future__ import annotations

import io
import json
import re
import struct
import threading
import time
import warnings
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's "use httpx2" deprecation notice
    from fastapi.testclient import TestClient

from helpers import hint_follower, multipart  # noqa: E402
from tinct.color import rgb_to_lab  # noqa: E402
from tinct.server.app import create_app  # noqa: E402
from tinct.server.forms import parse_hints  # noqa: E402

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


# --- good requests ------------------------------------------------------------------------------------------
def test_health(client):
    r = client.get("/api/health")
    assert r.status_code == 200
    h = r.json()
    assert h["status"] == "ok"
    assert h["model"]["hints"] is True and h["model"]["input_size"] >= 32
    assert h["device"] == "cpu"
    assert h["limits"]["max_upload_bytes"] == UPLOAD_LIMIT and h["limits"]["max_pixels"] == PIXEL_LIMIT
    assert h["queue"]["workers"] == 1 and h["queue"]["queue"] == 4


@pytest.mark.parametrize("w,h,mode,fmt", [(97, 61, "L", "JPEG"), (640, 480, "L", "PNG"), (50, 200, "RGB", "WEBP"),
                                          (33, 17, "RGBA", "PNG")])
def test_colorize_returns_a_full_size_png(client, w, h, mode, fmt):
    grey = grey_photo(w, h)
    if mode == "L":
        arr = grey
    elif mode == "RGB":
        arr = np.dstack([grey, grey // 2, 255 - grey])
    else:
        arr = np.dstack([grey, grey, grey, np.full_like(grey, 200)])
    data = encode(arr, fmt)
    img = png_of(post(client, data, f"in.{fmt.lower()}", f"image/{fmt.lower()}"))
    assert img.size == (w, h)
    assert img.mode == ("RGBA" if mode == "RGBA" else "RGB")
    if mode == "RGBA":
        assert (np.asarray(img)[..., 3] == 200).all()  # alpha kept
    # the lightness is the photo's own
    src = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    assert np.abs(lab_of(np.asarray(img))[..., 0] - lab_of(src)[..., 0]).mean() < 3


def unusual_images() -> dict:
    """Valid but unusual inputs: odd modes, extreme shapes, animation, 16-bit, CMYK, palette with alpha."""
    g = grey_photo(64, 48)
    out = {"1x1": encode(np.full((1, 1), 90, np.uint8)), "1x3000": encode(np.full((3000, 1), 90, np.uint8)),
           "3000x2": encode(np.full((2, 3000), 90, np.uint8)), "16-bit": None, "cmyk jpeg": None,
           "palette + transparency gif": None, "animated gif": None, "float tiff": None, "LA png": None,
           "1-bit bmp": None}
    b = io.BytesIO()
    Image.fromarray((g.astype(np.uint16) * 257)).save(b, "PNG")
    out["16-bit"] = b.getvalue()
    b = io.BytesIO()
    Image.fromarray(g).convert("CMYK").save(b, "JPEG")
    out["cmyk jpeg"] = b.getvalue()
    b = io.BytesIO()
    Image.fromarray(g).convert("P").save(b, "GIF", transparency=0)
    out["palette + transparency gif"] = b.getvalue()
    b = io.BytesIO()
    frames = [Image.fromarray(np.roll(g, k, 1)) for k in range(3)]
    frames[0].save(b, "GIF", save_all=True, append_images=frames[1:])
    out["animated gif"] = b.getvalue()
    b = io.BytesIO()
    Image.fromarray(g.astype(np.float32) / 255, "F").save(b, "TIFF")
    out["float tiff"] = b.getvalue()
    b = io.BytesIO()
    Image.fromarray(g).convert("LA").save(b, "PNG")
    out["LA png"] = b.getvalue()
    b = io.BytesIO()
    Image.fromarray(g).convert("1").save(b, "BMP")
    out["1-bit bmp"] = b.getvalue()
    return out


UNUSUAL = unusual_images()


@pytest.mark.parametrize("name", list(UNUSUAL))
def test_unusual_valid_images_are_colorized(client, name):
    data = UNUSUAL[name]
    size = Image.open(io.BytesIO(data)).size
    img = png_of(post(client, data, f"in.{name.split()[-1]}", "application/octet-stream"))
    assert img.size == size


def test_options_are_accepted(client):
    for fields in ({"decode": "mode"}, {"decode": "mean"}, {"temperature": "0.2"}, {"size": "128"},
                   {"decode": "annealed", "temperature": "1", "size": "64"}, {"hints": "[]"}, {"hints": ""}):
        assert png_of(post(client, GOOD, **fields)).size == (96, 64), fields


def test_hints_arrive_in_image_pixels(follower_client):
    """With a network that copies its hints, the output shows exactly where the API put them: (x, y) in the
    uploaded image's pixels (not swapped, not scaled), the colour's chroma, the radius honoured."""
    w, h = 200, 100
    data = encode(np.full((h, w), 127, np.uint8))
    red, blue = colour_ab((255, 0, 0)), colour_ab((0, 0, 255))
    hints = [{"x": 150, "y": 25, "color": "#ff0000", "radius": 10}, {"x": 30, "y": 70, "color": "#0000FF"}]
    out = lab_of(png_of(post(follower_client, data, hints=hints)))
    assert np.linalg.norm(out[25, 150, 1:] - red) < 15
    assert np.linalg.norm(out[70, 30, 1:] - blue) < np.linalg.norm(blue) / 2
    assert np.linalg.norm(out[25, 150 - 30, 1:]) < 5   # outside the 10-px radius: grey
    assert np.linalg.norm(out[50, 100, 1:]) < 5        # far from both: grey
    assert np.linalg.norm(out[150 % h, 25, 1:] - red) > 30  # x and y not swapped
    # no hints: grey everywhere
    assert np.abs(lab_of(png_of(post(follower_client, data)))[..., 1:]).max() < 5


def test_hint_radius_scales_the_hinted_area(follower_client):
    data = encode(np.full((100, 100), 127, np.uint8))
    small = lab_of(png_of(post(follower_client, data, hints=[{"x": 50, "y": 50, "color": "#00ff00", "radius": 4}])))
    big = lab_of(png_of(post(follower_client, data, hints=[{"x": 50, "y": 50, "color": "#00ff00", "radius": 20}])))
    coloured = lambda lab: (np.linalg.norm(lab[..., 1:], axis=-1) > 20).sum()  # noqa: E731
    assert coloured(big) > 5 * coloured(small) > 0


def test_shipped_model_moves_the_hinted_region_toward_the_hint(client):
    """The real model: hints on the flat square pull its colour toward the hint colour."""
    arr = grey_photo(160, 120)
    data = encode(arr)
    region = (slice(40, 80), slice(30, 70))   # inside the flat square (rows 30-90, cols 20-80)
    blue = colour_ab((0, 0, 255))
    auto = lab_of(png_of(post(client, data)))[region][..., 1:].reshape(-1, 2).mean(0)
    hints = [{"x": x, "y": y, "color": "#0000ff", "radius": 6} for x in (35, 50, 65) for y in (45, 60, 75)]
    hinted = lab_of(png_of(post(client, data, hints=hints)))[region][..., 1:].reshape(-1, 2).mean(0)
    before, after = np.linalg.norm(auto - blue), np.linalg.norm(hinted - blue)
    assert after < before - 10, (auto, hinted, before, after)


# --- bad requests -------------------------------------------------------------------------------------------
def bomb_png(w: int = 100_000, h: int = 100_000) -> bytes:
    """A tiny PNG whose header claims w x h pixels."""
    raw = bytearray(encode(np.zeros((8, 8), np.uint8)))
    ihdr = raw.index(b"IHDR")
    raw[ihdr + 4: ihdr + 12] = struct.pack(">II", w, h)
    raw[ihdr + 17: ihdr + 21] = struct.pack(">I", zlib.crc32(bytes(raw[ihdr: ihdr + 17])))
    return bytes(raw)


rng = np.random.default_rng(0)
NOISY = encode(rng.integers(0, 256, (150, 200), dtype=np.uint8))
NOISY_JPEG = encode(rng.integers(0, 256, (150, 200), dtype=np.uint8), "JPEG")
BAD_UPLOADS = {
    "random bytes": (rng.integers(0, 256, 5000, dtype=np.uint8).tobytes(), {400, 415}),
    "text file": (b"Just some notes.\nNot a photo at all.\n" * 20, {400, 415}),
    "empty file": (b"", {400, 415}),
    "truncated png": (NOISY[: len(NOISY) // 2], {400}),
    "truncated jpeg": (NOISY_JPEG[: len(NOISY_JPEG) // 2], {400}),
    "png with a bad crc": (NOISY[:29] + bytes(4) + NOISY[33:], {400, 415}),
    "svg": (b'<svg xmlns="http://www.w3.org/2000/svg"><image href="file:///etc/passwd"/></svg>', {400, 415}),
    "html": (b"<html><body><img src='http://127.0.0.1:1/x.png'></body></html>", {400, 415}),
    "too many pixels": (encode(np.zeros((1000, 1200), np.uint8)), {413}),
    "decompression bomb header": (bomb_png(), {400, 413}),
    "over the upload limit": (b"\xff\xd8\xff" + bytes(UPLOAD_LIMIT + 10), {413}),
}


@pytest.mark.parametrize("name", list(BAD_UPLOADS))
def test_bad_uploads_get_a_json_4xx(client, name):
    data, statuses = BAD_UPLOADS[name]
    assert_json_error(post(client, data), statuses)
    assert_still_serving(client)


def test_upload_limit_message_names_the_option(client):
    msg = assert_json_error(post(client, bytes(UPLOAD_LIMIT * 2)), {413})
    assert "--max-upload-mb" in msg


def test_pixel_limit_message_names_the_option(client):
    msg = assert_json_error(post(client, BAD_UPLOADS["too many pixels"][0]), {413})
    assert "--max-pixels" in msg and "1200x1000" in msg


def test_chunked_upload_over_the_limit_is_cut_off(client):
    """No Content-Length (chunked transfer): the bytes are counted as they arrive."""
    body, ctype = multipart({"image": ("big.png", bytes(UPLOAD_LIMIT * 3))})
    sent = []

    def chunks():
        for i in range(0, len(body), 16384):
            sent.append(i)
            yield body[i:i + 16384]
    r = client.post("/api/colorize", content=chunks(), headers={"content-type": ctype})
    assert "content-length" not in {k.lower() for k in r.request.headers}
    assert_json_error(r, {413})
    assert_still_serving(client)


def test_chunked_upload_under_the_limit_works(client):
    body, ctype = multipart({"image": ("ok.png", GOOD)})
    r = client.post("/api/colorize", content=(body[i:i + 1000] for i in range(0, len(body), 1000)),
                    headers={"content-type": ctype})
    assert png_of(r).size == (96, 64)


BAD_HINTS = {
    "not json": "[{x: 1}",
    "json object": {"x": 1, "y": 2, "color": "#ff0000"},
    "json string": "\"hello\"",
    "item not an object": [[10, 10, "#ff0000"]],
    "x a string": [{"x": "10", "y": 10, "color": "#ff0000"}],
    "x a bool": [{"x": True, "y": 10, "color": "#ff0000"}],
    "y missing": [{"x": 10, "color": "#ff0000"}],
    "color missing": [{"x": 10, "y": 10}],
    "color a name": [{"x": 10, "y": 10, "color": "blue"}],
    "color short": [{"x": 10, "y": 10, "color": "#12345"}],
    "color not hex": [{"x": 10, "y": 10, "color": "#gg0000"}],
    "color a number": [{"x": 10, "y": 10, "color": 255}],
    "color a list": [{"x": 10, "y": 10, "color": [0, 0, 255]}],
    "radius negative": [{"x": 10, "y": 10, "color": "#ff0000", "radius": -3}],
    "radius a string": [{"x": 10, "y": 10, "color": "#ff0000", "radius": "big"}],
    "x NaN": '[{"x": NaN, "y": 10, "color": "#ff0000"}]',
    "y Infinity": '[{"x": 1, "y": Infinity, "color": "#ff0000"}]',
    "unknown key": [{"x": 10, "y": 10, "color": "#ff0000", "url": "http://127.0.0.1:1/"}],
    "too many": [{"x": 1, "y": 1, "color": "#ff0000"}] * 600,
    "deeply nested": "[" * 5000 + "]" * 5000,
}


@pytest.mark.parametrize("name", list(BAD_HINTS))
def test_malformed_hints_get_a_json_4xx(client, name):
    assert_json_error(post(client, GOOD, hints=BAD_HINTS[name]), {400, 422})
    assert_still_serving(client)


@pytest.mark.parametrize("field,value", [("decode", "best"), ("temperature", "-1"), ("temperature", "0"),
                                         ("temperature", "nan"), ("temperature", "warm"), ("size", "16"),
                                         ("size", "100000"), ("size", "3.5")])
def test_bad_options_get_a_json_4xx(client, field, value):
    assert_json_error(post(client, GOOD, **{field: value}), {400, 422})
    assert_still_serving(client)


def test_a_hint_outside_the_image_is_refused(follower_client):
    data = encode(np.full((50, 50), 127, np.uint8))
    r = post(follower_client, data, hints=[{"x": 500, "y": -20, "color": "#ff0000"}])
    assert_json_error(r, {422})
    assert "outside" in r.json()["error"]


def test_requests_of_the_wrong_shape(client):
    # not multipart
    assert_json_error(client.post("/api/colorize", json={"image": "/etc/passwd"}), {415})
    assert_json_error(client.post("/api/colorize", content=b"\x89PNG", headers={"content-type": "image/png"}), {415})
    # no image field / the image as a text field (e.g. a path or URL: never opened)
    assert_json_error(post(client, None), {422})
    assert_json_error(client.post("/api/colorize", files={"image": (None, "/etc/passwd")}), {422})
    assert_json_error(client.post("/api/colorize", files={"image": (None, "http://127.0.0.1:1/x.png")}), {422})
    # hints as a file upload
    assert_json_error(client.post("/api/colorize", files={"image": ("a.png", GOOD), "hints": ("h.json", b"[]")}),
                      {400, 422})
    # two images
    r = client.post("/api/colorize", files=[("image", ("a.png", GOOD)), ("image", ("b.png", GOOD))])
    assert_json_error(r, {400, 422})
    # broken multipart
    for ctype in ("multipart/form-data", "multipart/form-data; boundary=xyz"):
        assert_json_error(client.post("/api/colorize", content=b"garbage\r\n--", headers={"content-type": ctype}),
                          {400, 422})
    assert_json_error(client.post("/api/colorize", content=b"", headers={"content-type": "multipart/form-data; boundary=b"}),
                      {400, 422})
    # a huge text field
    assert_json_error(post(client, GOOD, hints="[" + " " * 300_000 + "]"), {400, 413, 422})
    # wrong method, unknown path
    assert_json_error(client.get("/api/colorize"), {405})
    assert_json_error(client.get("/api/nothing-here"), {404})
    assert_json_error(client.get("/static/../../../etc/passwd"), {404})
    assert_still_serving(client)


def test_bad_content_length(client):
    r = client.post("/api/colorize", content=b"abc", headers={"content-type": "multipart/form-data; boundary=b",
                                                              "content-length": "ten"})
    assert_json_error(r, {400})


def test_parse_hints_accepts_the_documented_form():
    hs = parse_hints(json.dumps([{"x": 1, "y": 2.5, "color": "#0a0B0c"}, {"x": 0, "y": 0, "color": "ffffff", "radius": 3}]))
    assert [(h.x, h.y, h.rgb, h.radius) for h in hs] == [(1.0, 2.5, (10, 11, 12), None), (0.0, 0.0, (255, 255, 255), 3.0)]


# --- busy ---------------------------------------------------------------------------------------------------
class Blocking:
    """Wraps a colorizer; each colorize call waits until released (to hold the single worker busy)."""

    def __init__(self, inner):
        self.inner = inner
        self.release = threading.Event()
        self.entered = threading.Event()

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def colorize(self, *a, **k):
        self.entered.set()
        assert self.release.wait(30)
        return self.inner.colorize(*a, **k)


def test_full_queue_answers_503_and_recovers():
    blocking = Blocking(hint_follower(PIXEL_LIMIT))
    app = create_app(blocking, max_upload_bytes=UPLOAD_LIMIT, max_pixels=PIXEL_LIMIT, queue_size=1, workers=1)
    results = {}
    with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False) as c:
        def call(key):
            results[key] = post(c, GOOD)
        t1 = threading.Thread(target=call, args=("first",))
        t1.start()
        assert blocking.entered.wait(30)          # the one worker is busy
        t2 = threading.Thread(target=call, args=("queued",))
        t2.start()
        deadline = time.time() + 30
        while app.state.gate.admitted < 2 and time.time() < deadline:
            time.sleep(0.01)
        assert app.state.gate.admitted == 2       # one running, one waiting: the queue is full
        busy = post(c, GOOD)
        assert_json_error(busy, {503})
        assert busy.headers.get("retry-after") == "1"
        # a too-large upload is refused before admission, so it still gets its 413, not a 503
        assert_json_error(post(c, bytes(UPLOAD_LIMIT + 1)), {413})
        assert c.get("/api/health").json()["queue"]["refused_busy"] == 1
        blocking.release.set()
        t1.join(30)
        t2.join(30)
        assert png_of(results["first"]).size == (96, 64)
        assert png_of(results["queued"]).size == (96, 64)
        assert png_of(post(c, GOOD)).size == (96, 64)   # recovered
        assert app.state.gate.admitted == 0


# --- the page -----------------------------------------------------------------------------------------------
def test_page_and_static_files_are_offline(client):
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    for needle in ('type="file"', 'type="color"', 'id="download"', "/static/app.js", "/static/style.css"):
        assert needle in html, needle
    texts = [html]
    for path in re.findall(r'(?:src|href)="(/static/[^"]+)"', html):
        s = client.get(path)
        assert s.status_code == 200, path
        texts.append(s.text)
    # nothing is loaded from elsewhere: no absolute URLs in src/href/url()/import/fetch
    for t in texts:
        assert not re.search(r'(?:src|href)\s*=\s*["\']?(?:https?:)?//', t), "external resource in the page"
        assert not re.search(r'url\(\s*["\']?(?:https?:)?//', t)
        assert not re.search(r'(?:fetch|import)\s*\(\s*["\'](?:https?:)?//', t)


def test_requests_abandoned_while_queued_are_skipped(tmp_path):
    """The page aborts superseded requests; work for a client that has gone is not done (real uvicorn)."""
    import socket

    import httpx
    import uvicorn
    blocking = Blocking(hint_follower(PIXEL_LIMIT))
    app = create_app(blocking, max_upload_bytes=UPLOAD_LIMIT, max_pixels=PIXEL_LIMIT, queue_size=4, workers=1)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 30
        while not server.started and time.time() < deadline:
            time.sleep(0.05)
        results = {}

        def call(key, timeout):
            try:
                results[key] = httpx.post(base + "/api/colorize", files={"image": ("a.png", GOOD)}, timeout=timeout)
            except httpx.TimeoutException:
                results[key] = "gave up"
        first = threading.Thread(target=call, args=("first", 30))
        first.start()
        assert blocking.entered.wait(30)
        quitters = [threading.Thread(target=call, args=(k, 0.5)) for k in ("q1", "q2")]
        for t in quitters:
            t.start()
        for t in quitters:
            t.join(30)
        assert results["q1"] == results["q2"] == "gave up"
        time.sleep(0.3)
        blocking.release.set()
        first.join(30)
        assert png_of(results["first"]).size == (96, 64)
        while app.state.gate.admitted and time.time() < deadline:
            time.sleep(0.05)
        q = httpx.get(base + "/api/health").json()["queue"]
        assert q["skipped_disconnected"] == 2 and q["served"] == 1 and q["admitted"] == 0, q
    finally:
        blocking.release.set()
        server.should_exit = True
        thread.join(10)


def test_suggest_returns_distinct_colours_that_apply(client):
    """POST /api/suggest: distinct modes, most likely first, probabilities summing to at most 1; a point
    outside the image and a missing point are 422."""
    data = encode(np.asarray(Image.open(io.BytesIO(GOOD)).convert("L")))
    r = client.post("/api/suggest", files={"image": ("a.png", data)}, data={"x": "40", "y": "30"})
    assert r.status_code == 200, r.text
    found = r.json()["suggestions"]
    assert 2 <= len(found) <= 6
    probs = [s["probability"] for s in found]
    assert probs == sorted(probs, reverse=True) and 0.5 < sum(probs) <= 1.0001
    abs_ = np.array([s["ab"] for s in found])
    gaps = np.linalg.norm(abs_[:, None] - abs_[None], axis=-1) + np.eye(len(found)) * 1e9
    assert gaps.min() >= 18  # merged when close
    for s in found:
        assert len(s["color"]) == 7 and s["color"].startswith("#")
    # a hint at the point moves the suggestions toward it
    red = {"x": 40, "y": 30, "color": "#ff0000", "radius": 6}
    r2 = client.post("/api/suggest", files={"image": ("a.png", data)},
                     data={"x": "40", "y": "30", "hints": json.dumps([red])})
    top = np.array(r2.json()["suggestions"][0]["ab"])
    assert top[0] > 20, top  # reddish (a > 0)
    assert_json_error(client.post("/api/suggest", files={"image": ("a.png", data)}, data={"x": "4000", "y": "3"}),
                      {422})
    assert_json_error(client.post("/api/suggest", files={"image": ("a.png", data)}, data={"y": "3"}), {422})
