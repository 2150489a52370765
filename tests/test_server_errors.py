"""The HTTP API of ``tinct serve`` (in-process, FastAPI TestClient), bad requests: every kind of bad input
answered with a 4xx JSON error, the limits, the busy answer (503) and recovery, abandoned requests skipped,
and the server still serving after each."""
from __future__ import annotations

import json
import struct
import threading
import time
import warnings
import zlib

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's "use httpx2" deprecation notice
    from fastapi.testclient import TestClient

from helpers import Blocking, hint_follower, multipart, serving  # noqa: E402
from tinct.server.app import create_app  # noqa: E402
from tinct.server.forms import parse_hints  # noqa: E402
from server_client import (  # noqa: E402,F401 - client fixtures are used by name
    GOOD, PIXEL_LIMIT, UPLOAD_LIMIT, assert_json_error,
    assert_still_serving, client, encode, follower_client, png_of, post)


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


def test_requests_abandoned_while_queued_are_skipped(tmp_path):
    """The page aborts superseded requests; work for a client that has gone is not done (real uvicorn)."""
    import httpx
    blocking = Blocking(hint_follower(PIXEL_LIMIT))
    app = create_app(blocking, max_upload_bytes=UPLOAD_LIMIT, max_pixels=PIXEL_LIMIT, queue_size=4, workers=1)
    with serving(app) as base:
        deadline = time.time() + 30
        try:
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
