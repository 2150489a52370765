"""Refusals given before a request's body is read reach every client as their JSON answer (issue 25, case 11):
httpx's *async* client, which sends the whole body before it reads, used to see a connection reset (ReadError)
for a 503 when busy, a bad Host and an over-long Content-Length. Against a real uvicorn server on 127.0.0.1."""
from __future__ import annotations

import asyncio
import threading

import pytest

pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

from helpers import Blocking, hint_follower, serving  # noqa: E402
from tinct.server.app import create_app  # noqa: E402

LIMIT = 256 * 1024
BODY = b"\0" * (3 * 2**20)     # 3 MiB: more than the socket buffers hold, so the client is still sending
ROUNDS = 6


def async_posts(url: str, content: bytes, headers: dict, rounds: int = ROUNDS) -> list:
    """``rounds`` POSTs one after another with httpx.AsyncClient -> each (status, JSON error) or the exception."""
    async def go():
        out = []
        async with httpx.AsyncClient(timeout=30) as client:
            for _ in range(rounds):
                try:
                    r = await client.post(url, content=content, headers=headers)
                    out.append((r.status_code, r.json().get("error", "")))
                except httpx.HTTPError as e:
                    out.append(e)
        return out
    return asyncio.run(go())


MULTIPART = {"Content-Type": "multipart/form-data; boundary=xyz"}


def test_too_large_content_length_reaches_an_async_client():
    app = create_app(hint_follower(), max_upload_bytes=LIMIT)
    with serving(app) as base:
        got = async_posts(base + "/api/colorize", BODY, MULTIPART)
    assert all(isinstance(g, tuple) and g[0] == 413 and "too large" in g[1] for g in got), got


def test_a_bad_host_reaches_an_async_client():
    app = create_app(hint_follower(), max_upload_bytes=LIMIT)
    with serving(app) as base:
        got = async_posts(base + "/api/colorize", BODY, {**MULTIPART, "Host": "evil.example"})
    assert all(isinstance(g, tuple) and g[0] == 400 and "not served here" in g[1] for g in got), got


def test_busy_503_reaches_an_async_client():
    import io

    import numpy as np
    from PIL import Image
    blocking = Blocking(hint_follower())
    app = create_app(blocking, max_upload_bytes=2 * len(BODY), queue_size=0, workers=1)
    with serving(app) as base:
        buf = io.BytesIO()
        Image.fromarray(np.full((32, 48), 100, np.uint8)).save(buf, "PNG")
        first = threading.Thread(target=lambda: httpx.post(base + "/api/colorize", timeout=60,
                                                           files={"image": ("a.png", buf.getvalue())}))
        first.start()
        try:
            assert blocking.entered.wait(60)
            got = async_posts(base + "/api/colorize", BODY, MULTIPART)
        finally:
            blocking.release.set()
            first.join(60)
    assert all(isinstance(g, tuple) and g[0] == 503 and "busy" in g[1] for g in got), got
