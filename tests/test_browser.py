"""The page at ``/`` in a real browser (Playwright driving Chromium) against ``tinct serve`` as a real process:
upload a grey photo, pick a colour, place hints by clicking (drag one, delete two), re-colorize, download
the result through the page's link, and check what reached the server and what came back.

Needs the ``playwright`` Python package and a Chromium binary (``/usr/bin/chromium`` from Debian, or
``$TINCT_CHROMIUM``); skipped with a reason when either is missing (.ci/browser-deps.sh installs both)."""
from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("httpx")
pytest.importorskip("fastapi")

from test_server_load import tinct_serve  # noqa: E402  (shared: start `tinct serve` on a free port)

REPO = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

W, H = 900, 600                        # displayed at about half size: hint coordinates must be rescaled
REGION = (120, 150, 420, 450)          # x0, y0, x1, y1 of the flat grey square
INNER = (slice(200, 370), slice(200, 340))   # rows, cols measured: the box the hints span
CLICKS = [(200, 230), (340, 230), (200, 370), (340, 370), (270, 300)]  # hints placed by clicking
DRAG_FROM, DRAG_TO = (700, 100), (270, 200)
HINT = "#0000ff"


def chromium_path() -> str | None:
    for c in (os.environ.get("TINCT_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
              shutil.which("chromium-browser"), shutil.which("google-chrome")):
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    return None


def grey_photo() -> np.ndarray:
    a = np.tile(np.linspace(30, 230, W, dtype=np.float32), (H, 1))
    a += np.linspace(-20, 20, H, dtype=np.float32)[:, None]
    x0, y0, x1, y1 = REGION
    a[y0:y1, x0:x1] = 128
    return a.clip(0, 255).round().astype(np.uint8)


def lab(img: Image.Image) -> np.ndarray:
    import torch

    from tinct.color import rgb_to_lab
    t = torch.from_numpy(np.asarray(img.convert("RGB"), np.float32) / 255).permute(2, 0, 1)[None]
    return rgb_to_lab(t)[0].permute(1, 2, 0).numpy()


def lab_ab(img: Image.Image) -> np.ndarray:
    return lab(img)[..., 1:]


def hints_sent(body: bytes) -> list[dict] | None:
    m = re.search(rb'name="hints"\r\n\r\n(.*?)\r\n--', body, re.S)
    return json.loads(m.group(1)) if m else None


@pytest.fixture(scope="module")
def browser_run(tmp_path_factory):
    """Drive the page once; -> what the tests check (downloads, requests, page state)."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed "
                                   "(pip install playwright; see .ci/browser-deps.sh)")
    chromium = chromium_path()
    if chromium is None:
        pytest.skip("no Chromium binary (apt-get install chromium, or set TINCT_CHROMIUM); see .ci/browser-deps.sh")
    tmp = tmp_path_factory.mktemp("browser")
    photo = tmp / "grey-photo.jpg"
    Image.fromarray(grey_photo()).save(photo, quality=95)
    out = {"tmp": tmp, "requests": [], "errors": []}

    with tinct_serve(tmp / "serve.log") as (proc, base), sync_api.sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(tmp / "profile"), executable_path=chromium, args=CHROMIUM_ARGS, headless=True,
            accept_downloads=True, viewport={"width": 1360, "height": 860})
        try:
            page = ctx.new_page()
            page.set_default_timeout(60_000)
            page.on("pageerror", lambda e: out["errors"].append(f"pageerror: {e}"))
            page.on("console", lambda m: m.type == "error" and out["errors"].append(f"console: {m.text}"))
            page.on("request", lambda r: r.url.endswith("/api/colorize") and out["requests"].append(r.post_data_buffer))
            page.on("requestfailed", lambda r: "/api/colorize" not in r.url and out["errors"].append(f"failed: {r.url}"))
            page.route(re.compile(r"^(?!http://127\.0\.0\.1:\d+/).*"), lambda route: (
                out["errors"].append(f"external request: {route.request.url}"), route.abort()))

            page.goto(base + "/")
            out["title"] = page.title()
            # drag-and-drop a small photo onto the page first ...
            small = io.BytesIO()
            Image.fromarray(grey_photo()[::10, ::10]).save(small, "PNG")
            page.evaluate("""(b64) => {
                const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
                const dt = new DataTransfer();
                dt.items.add(new File([bytes], "dropped.png", {type: "image/png"}));
                document.getElementById("drop").dispatchEvent(
                    new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}));
            }""", base64.b64encode(small.getvalue()).decode())
            page.wait_for_selector('#app[data-results="1"]')
            out["dropped_size"] = page.evaluate("(() => { const i = document.getElementById('original'); return [i.naturalWidth, i.naturalHeight]; })()")
            out["dropped_result"] = page.evaluate("(() => { const i = document.getElementById('result'); return [i.naturalWidth, i.naturalHeight]; })()")
            # ... then the real one with the file picker
            page.set_input_files("#file", str(photo))
            page.wait_for_selector('#app[data-results="2"]')

            with page.expect_download() as dl:
                page.click("#download")
            out["auto_name"] = dl.value.suggested_filename
            dl.value.save_as(tmp / "auto.png")

            page.uncheck("#auto")        # place every hint first, then re-colorize once with the button
            page.fill("#hint-color", HINT)
            box = page.locator("#original").bounding_box()
            out["display_scale"] = box["width"] / W

            def at(x, y):  # original pixels -> page coordinates
                return box["x"] + (x + 0.5) * box["width"] / W, box["y"] + (y + 0.5) * box["height"] / H

            for x, y in CLICKS:
                page.mouse.click(*at(x, y))
            # one more far away, dragged into the region
            page.mouse.click(*at(*DRAG_FROM))
            marker = page.locator(".marker").last
            mb = marker.bounding_box()
            page.mouse.move(mb["x"] + mb["width"] / 2, mb["y"] + mb["height"] / 2)
            page.mouse.down()
            page.mouse.move(*at(*DRAG_TO), steps=10)
            page.mouse.up()
            # two more, deleted again: one by right-click, one with its x in the list
            page.mouse.click(*at(820, 520))
            page.locator(".marker").last.click(button="right")
            page.mouse.click(*at(800, 60))
            page.locator("#hints li").last.locator("button.del").click()
            out["hint_count"] = page.locator("#hint-count").text_content()
            out["markers"] = page.locator(".marker").count()

            page.click("#colorize")
            page.wait_for_selector('#app[data-results="3"]')
            with page.expect_download() as dl:
                page.click("#download")
            dl.value.save_as(tmp / "hinted.png")
            out["status"] = page.locator("#status").text_content()

            shot = page.screenshot(full_page=True)
            (tmp / "browser.png").write_bytes(shot)
            (REPO / "artifacts").mkdir(exist_ok=True)
            (REPO / "artifacts" / "browser.png").write_bytes(shot)
        finally:
            ctx.close()
        out["server_alive"] = proc.poll() is None
    out["auto"] = Image.open(tmp / "auto.png")
    out["hinted"] = Image.open(tmp / "hinted.png")
    return out


def test_page_flow(browser_run):
    r = browser_run
    assert "tinct" in r["title"]
    assert not r["errors"], r["errors"]
    assert r["server_alive"]
    assert 0.2 < r["display_scale"] < 0.9, "the photo should be shown scaled, to test the coordinate mapping"
    # the downloads are full-resolution PNGs named after the upload
    for key in ("auto", "hinted"):
        img = r[key]
        assert img.format == "PNG" and img.size == (W, H), (key, img.format, img.size)
    assert r["auto_name"] == "grey-photo-colorized.png"
    # lightness (CIELAB L) is the photo's own
    L_in = lab(Image.fromarray(grey_photo()))[..., 0]
    for key in ("auto", "hinted"):
        assert np.abs(lab(r[key])[..., 0] - L_in).mean() < 2, key
    # UI state: 5 clicked + 1 dragged; the two deleted ones are gone
    assert r["hint_count"] == "6" and r["markers"] == 6
    # the dropped photo was colorized at its own size
    assert r["dropped_size"] == r["dropped_result"] == [W // 10, H // 10]
    # the requests: dropped photo, picked photo (no hints), then the re-colorize with exactly the hints
    # placed, in ORIGINAL pixels
    assert len(r["requests"]) == 3, f"{len(r['requests'])} colorize requests (auto re-colorize was off)"
    assert b'filename="dropped.png"' in r["requests"][0] and b'filename="grey-photo.jpg"' in r["requests"][1]
    assert hints_sent(r["requests"][0]) is None and hints_sent(r["requests"][1]) is None
    sent = hints_sent(r["requests"][2])
    assert sent is not None and len(sent) == 6
    expected = CLICKS + [DRAG_TO]
    tol = 1.5 / r["display_scale"] + 1    # a click lands on a whole CSS pixel
    for h, (x, y) in zip(sent, expected):
        assert abs(h["x"] - x) <= tol and abs(h["y"] - y) <= tol, (h, (x, y), tol)
        assert h["color"].lower() == HINT
        assert h["radius"] == pytest.approx(0.02 * max(W, H), abs=0.1)   # the default hint size: 2% of the side


def test_hinted_region_moves_toward_the_hint_colour(browser_run):
    blue = lab_ab(Image.new("RGB", (1, 1), HINT))[0, 0]
    auto = lab_ab(browser_run["auto"])[INNER].reshape(-1, 2).mean(0)
    hinted = lab_ab(browser_run["hinted"])[INNER].reshape(-1, 2).mean(0)
    before, after = np.linalg.norm(auto - blue), np.linalg.norm(hinted - blue)
    assert after < before - 10, (auto, hinted, before, after)
