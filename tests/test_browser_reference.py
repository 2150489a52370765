"""The page's reference colours in Chromium (issue 27): drop a photo and a reference, see the reference's
swatches, recolour one, and download a result that follows them. Same requirements and skips as
tests/test_browser.py."""
from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("httpx")
pytest.importorskip("fastapi")

from test_browser_page import _open, _page, _shot, served  # noqa: E402,F401 - the fixture is used by name
from test_reference import mean_ab  # noqa: E402


def _drop_file(page, selector: str, path, mime: str = "image/png") -> None:
    """Drop a file on ``selector`` as a user dragging it from the desktop would."""
    data = list(path.read_bytes())
    page.evaluate("""([sel, bytes, name, mime]) => {
        const dt = new DataTransfer();
        dt.items.add(new File([new Uint8Array(bytes)], name, { type: mime }));
        const el = document.querySelector(sel);
        for (const type of ["dragenter", "dragover", "drop"])
          el.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
    }""", [selector, data, path.name, mime])


def test_drop_a_reference_edit_a_swatch_and_download(served):
    tmp = served["tmp"]
    ref = tmp / "reference.png"
    rng = np.random.default_rng(0)
    top = np.clip(np.array([40, 90, 210]) + rng.normal(0, 5, (60, 160, 3)), 0, 255)
    bottom = np.clip(np.array([60, 150, 60]) + rng.normal(0, 5, (60, 160, 3)), 0, 255)
    Image.fromarray(np.concatenate([top, bottom]).astype(np.uint8)).save(ref)
    browser, page, external = _page(served)
    posts = []
    page.on("request", lambda r: posts.append(r.post_data_buffer or b"") if r.url.endswith("/api/colorize") else None)
    try:
        _drop_file(page, "#drop", served["photo"])          # the photo, dropped on the page
        page.wait_for_selector('#app[data-results="1"]')
        auto = np.asarray(Image.open(io.BytesIO(bytes(page.evaluate(
            "fetch(document.getElementById('result').src).then(r => r.arrayBuffer()).then(b => [...new Uint8Array(b)])"
        )))).convert("RGB"))
        _drop_file(page, "#reference-group", ref)          # the reference, dropped beside it
        page.wait_for_selector('#app[data-results="2"]')
        page.wait_for_selector('#reference-group:not([data-swatches="0"])')
        swatches = page.locator("#palette button")
        colours = [swatches.nth(i).get_attribute("title").split()[0] for i in range(swatches.count())]
        assert any(c[5:7] > c[1:3] for c in colours)        # a blue one (b > r) among the reference's colours
        assert b'name="reference"' in posts[-1]
        # recolour the first swatch red, remove the rest: the palette is now red only
        swatches.first.click()
        page.uncheck("#auto")
        page.fill("#hint-color", "#d02020")
        page.click("#recolour-swatch")
        while page.locator("#palette button").count() > 1:
            page.locator("#palette button").nth(1).click()
            page.click("#remove-swatch")
        page.check("#auto")
        page.click("#colorize")
        page.wait_for_selector('#app[data-results="3"]')
        body = posts[-1].decode("latin-1")
        palette = json.loads(body.split('name="palette"')[1].split("\r\n\r\n", 1)[1].split("\r\n--", 1)[0])
        assert [p["color"] for p in palette] == ["#d02020"]
        assert 'name="reference_strength"' in body
        with page.expect_download() as dl:
            page.click("#download")
        dl.value.save_as(tmp / "red.png")
        red = np.asarray(Image.open(tmp / "red.png").convert("RGB"))
        assert red.shape == auto.shape
        assert mean_ab(red)[0] > mean_ab(auto)[0] + 5       # redder than automatic
        _shot(page, "reference.png")
        assert external == []
    finally:
        browser.close()
