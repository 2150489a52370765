"""The HTTP API of ``tinct serve`` (in-process, FastAPI TestClient), good requests: PNGs of the right size,
unusual but valid images, hints arriving in the image's own pixels, suggestions, and the offline page.
Bad requests, limits and the busy answer: test_server_errors.py."""
from __future__ import annotations

import io
import json
import re

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
from server_client import (  # noqa: E402,F401 - client fixtures are used by name
    GOOD, PIXEL_LIMIT, UPLOAD_LIMIT, assert_json_error, client,
    colour_ab, encode, follower_client, grey_photo, lab_of, png_of, post)


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


# --- the page -----------------------------------------------------------------------------------------------
def test_page_and_static_files_are_offline(client):
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    for needle in ('type="file"', 'type="color"', 'id="download"', "/static/app.js", "/static/style.css"):
        assert needle in html, needle
    texts, todo, seen = [html], re.findall(r'(?:src|href)="(/static/[^"]+)"', html), set()
    while todo:   # the page's files and the ES modules they import
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        s = client.get(path)
        assert s.status_code == 200, path
        if path.endswith(".js"):
            assert "javascript" in s.headers["content-type"], (path, s.headers["content-type"])  # modules need it
            todo += ["/static/" + m for m in re.findall(r'^import [^;]* from "\./([\w.-]+)";', s.text, re.M)]
        texts.append(s.text)
    assert len([p for p in seen if p.endswith(".js")]) >= 4, seen   # app.js and its modules were all followed
    # nothing is loaded from elsewhere: no absolute URLs in src/href/url()/import/fetch
    for t in texts:
        assert not re.search(r'(?:src|href)\s*=\s*["\']?(?:https?:)?//', t), "external resource in the page"
        assert not re.search(r'url\(\s*["\']?(?:https?:)?//', t)
        assert not re.search(r'(?:fetch|import)\s*\(\s*["\'](?:https?:)?//', t)
        assert not re.search(r'from\s*["\'](?:https?:)?//', t)



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
