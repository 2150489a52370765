"""The page's editing features in Chromium (issue 13): no recolour trap, keyboard route, undo/redo, reset,
the before/after slider, suggestions, the out-of-date and server-down states, and the 390x844 touch layout.
Screenshots go to artifacts/. Same requirements and skips as tests/test_browser.py."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("httpx")
pytest.importorskip("fastapi")

from test_browser import CHROMIUM_ARGS, chromium_path  # noqa: E402
from test_server_load import tinct_serve  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
ART = REPO / "artifacts"


def _photo(path: Path) -> Path:
    a = np.tile(np.linspace(40, 220, 320, dtype=np.float32), (240, 1))
    a[60:180, 80:240] = 120
    Image.fromarray(a.round().astype(np.uint8)).save(path)
    return path


def _hints(page) -> list[dict]:
    return page.evaluate("""(() => [...document.querySelectorAll('#hints li .where')].map(e => e.textContent))()""")


def _shot(page, name: str) -> None:
    ART.mkdir(exist_ok=True)
    page.screenshot(path=str(ART / name), full_page=True)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    chromium = chromium_path()
    if chromium is None:
        pytest.skip("no Chromium binary (apt-get install chromium, or set TINCT_CHROMIUM); see .ci/browser-deps.sh")
    tmp = tmp_path_factory.mktemp("page")
    with tinct_serve(tmp / "serve.log") as (proc, base), sync_api.sync_playwright() as p:
        yield {"p": p, "base": base, "proc": proc, "chromium": chromium, "photo": _photo(tmp / "photo.png"),
               "tmp": tmp}


def _page(served, viewport=(1360, 860), touch=False):
    browser = served["p"].chromium.launch(executable_path=served["chromium"], args=CHROMIUM_ARGS, headless=True)
    ctx = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}, has_touch=touch)
    page = ctx.new_page()
    page.set_default_timeout(60_000)
    external = []
    page.route(re.compile(r"^(?!http://127\.0\.0\.1:\d+/).*"),
               lambda route: (external.append(route.request.url), route.abort()))
    page.goto(served["base"] + "/")
    return browser, page, external


def _open(page, photo, n=1):
    page.set_input_files("#file", str(photo))
    page.wait_for_selector(f'#app[data-results="{n}"]')


def _click_photo(page, fx, fy):
    box = page.locator("#original").bounding_box()
    page.mouse.click(box["x"] + fx * box["width"], box["y"] + fy * box["height"])


def test_recolour_trap_gone_undo_redo_reset_and_suggestions(served):
    browser, page, external = _page(served)
    try:
        _open(page, served["photo"])
        page.fill("#hint-color", "#ff0000")
        _click_photo(page, 0.3, 0.5)
        page.fill("#hint-color", "#00ff00")                 # choosing the next colour ...
        page.locator("#swatches button").first.click()
        assert page.locator("#hints li input[type=color]").first.input_value() == "#ff0000"  # ... keeps hint 1
        page.click("#recolour")                              # recolouring is explicit
        assert page.locator("#hints li input[type=color]").first.input_value() == "#2f6fdf"
        # suggestions appear for the placed hint and one click applies one
        page.wait_for_selector("#suggestions button")
        chosen = page.locator("#suggestions button").first.get_attribute("data-color")
        page.locator("#suggestions button").first.click()
        assert page.locator("#hints li input[type=color]").first.input_value() == chosen
        _click_photo(page, 0.7, 0.5)
        assert page.locator(".marker").count() == 2
        page.keyboard.press("Control+z")
        assert page.locator(".marker").count() == 1
        page.keyboard.press("Control+Shift+z")
        assert page.locator(".marker").count() == 2
        page.click("#undo"); page.click("#undo")            # the new hint, then the suggestion
        assert page.locator("#hints li input[type=color]").first.input_value() == "#2f6fdf"
        page.click("#redo")
        assert page.locator("#hints li input[type=color]").first.input_value() == chosen
        page.click("#reset")
        assert page.locator(".marker").count() == 0
        page.click("#undo")
        assert page.locator(".marker").count() == 1
        _shot(page, "page-suggestions.png")
        assert not external
    finally:
        browser.close()


def test_keyboard_path_end_to_end(served):
    browser, page, _ = _page(served)
    try:
        with page.expect_file_chooser() as fc:
            for _ in range(10):                              # Tab reaches "Choose a photo…" early
                page.keyboard.press("Tab")
                if page.evaluate("document.activeElement.id") == "choose":
                    break
            assert page.evaluate("document.activeElement.id") == "choose"
            page.keyboard.press("Enter")
        fc.value.set_files(str(served["photo"]))
        page.wait_for_selector('#app[data-results="1"]')
        page.focus("#stage")
        page.keyboard.press("Enter")                         # a hint at the centre
        assert page.locator(".marker").count() == 1
        x0 = page.evaluate("parseFloat(document.querySelector('.marker').style.left)")
        for _ in range(5):
            page.keyboard.press("ArrowRight")
        x1 = page.evaluate("parseFloat(document.querySelector('.marker').style.left)")
        assert x1 > x0 + 4, (x0, x1)
        page.keyboard.press("Delete")
        assert page.locator(".marker").count() == 0
        _shot(page, "page-keyboard.png")
    finally:
        browser.close()


def test_slider_out_of_date_and_server_down(served):
    browser, page, _ = _page(served)
    try:
        _open(page, served["photo"])
        page.eval_on_selector("#compare", "(e) => { e.value = '30'; e.dispatchEvent(new Event('input')); }")
        assert "70%" in page.evaluate("document.getElementById('result').style.clipPath")
        _shot(page, "page-slider.png")
        page.uncheck("#auto")
        _click_photo(page, 0.5, 0.5)
        assert page.get_attribute("#app", "data-status") == "stale"
        assert "Out of date" in page.text_content("#status")
        assert "stale" in page.get_attribute("#result", "class")
        _shot(page, "page-stale.png")
        page.route("**/api/colorize", lambda route: route.abort("connectionrefused"))   # the server is down
        page.click("#colorize")
        page.wait_for_selector('#app[data-status="offline"]')
        assert "not answering" in page.text_content("#status")
        assert page.get_attribute("#download", "aria-disabled") == "true"
        _shot(page, "page-server-down.png")
    finally:
        browser.close()


def test_touch_layout_390x844(served):
    browser, page, external = _page(served, (390, 844), touch=True)
    try:
        _open(page, served["photo"])
        orig, side, res = (page.locator(s).bounding_box() for s in ("#original", ".side", "#result"))
        assert orig["y"] < side["y"] < res["y"], "controls come right after the photo being edited"
        assert side["x"] >= 0 and side["x"] + side["width"] <= 390
        for sel in ("#swatches button", "#colorize", "#undo"):
            b = page.locator(sel).first.bounding_box()
            assert b["height"] >= 44 and b["width"] >= 44, (sel, b)
        _shot(page, "page-390x844.png")
        assert not external
    finally:
        browser.close()
