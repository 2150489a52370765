"""``tinct serve`` as a real process under a burst of mixed traffic: good photos, corrupt files, oversized
uploads (declared and chunked), malformed hints and options, 16 at a time. Nothing may come back 5xx except
the bounded queue's 503 "busy" (counted, and retried until answered); every good photo comes back as a correct
PNG; the process survives and its memory does not creep."""
from __future__ import annotations

import io
import json
import os
import random
import socket
import subprocess
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np
import pytest
from PIL import Image

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from helpers import multipart, python, subprocess_env  # noqa: E402

N_REQUESTS = 300
CONCURRENCY = 16
WARMUP = 48
UPLOAD_LIMIT_MB = 0.25
UPLOAD_LIMIT = int(UPLOAD_LIMIT_MB * 2**20)
MAX_PIXELS = 1_000_000
RSS_GROWTH_LIMIT_MB = 200


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def tinct_serve(log_path, *extra, threads: int = 1, start_timeout: float = 300):
    """Start ``tinct serve`` on a free 127.0.0.1 port; yield (process, base_url); stop it afterwards."""
    port = free_port()
    cmd = [python(), "-m", "tinct.cli.main", "serve", "--host", "127.0.0.1", "--port", str(port),
           "--log-level", "warning", *map(str, extra)]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=subprocess_env(threads))
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + start_timeout
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"tinct serve exited with {proc.returncode}:\n{log_tail(log_path)}")
            try:
                if httpx.get(base + "/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline:
                raise AssertionError(f"tinct serve did not start in {start_timeout} s:\n{log_tail(log_path)}")
            time.sleep(0.2)
        yield proc, base
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(15)


def log_tail(path, n: int = 4000) -> str:
    try:
        return open(path, "rb").read()[-n:].decode(errors="replace")
    except OSError:
        return ""


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


# --- the traffic ----------------------------------------------------------------------------------------------
def encode(arr, fmt="PNG") -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, fmt)
    return buf.getvalue()


BIG = b"\xff\xd8\xff\xe0" + bytes(int(UPLOAD_LIMIT * 1.2))
TOO_MANY_PIXELS = encode(np.zeros((1000, 1100), np.uint8))
BAD_HINTS = ["[{", '{"x": 1}', '[{"x": "a", "y": 1, "color": "#ff0000"}]', '[{"x": 1, "y": 1, "color": "red"}]',
             '[{"x": 1, "y": 1}]', '[{"x": 1, "y": 1, "color": "#ff0000", "radius": -1}]', '[[1, 2, "#ff0000"]]',
             '[{"x": NaN, "y": 1, "color": "#00ff00"}]']


def make_request(i: int) -> dict:
    """Request i of the mix (deterministic): what to send and what must come back."""
    r = random.Random(i)
    kind = r.choices(["good", "corrupt", "text", "oversized", "chunked", "hints", "pixels", "option"],
                     weights=[50, 10, 6, 6, 5, 13, 4, 6])[0]
    w, h = r.randint(64, 128), r.randint(64, 128)
    rng = np.random.default_rng(i)
    grey = (np.linspace(30, 220, w)[None, :] * 0.6 + rng.integers(0, 100, (h, w))).clip(0, 255).astype(np.uint8)
    photo = encode(grey, r.choice(["PNG", "JPEG"]))
    req = {"i": i, "kind": kind, "files": {"image": ("photo", photo)}, "data": {}, "expect": {200}, "size": (w, h)}
    if kind == "good":
        if r.random() < 0.5:
            req["data"]["hints"] = json.dumps([{"x": r.uniform(0, w), "y": r.uniform(0, h),
                                                "color": "#%06x" % r.randrange(1 << 24)} for _ in range(r.randint(1, 5))])
        if r.random() < 0.2:
            req["data"]["decode"] = r.choice(["mode", "mean", "annealed"])
    elif kind == "corrupt":
        blob = rng.integers(0, 256, r.randint(10, 5000), dtype=np.uint8).tobytes()
        if r.random() < 0.5:
            blob = photo[: max(20, len(photo) // 3)]  # truncated
        req.update(files={"image": ("photo", blob)}, expect={400, 415})
    elif kind == "text":
        req.update(files={"image": ("notes.txt", b"hello, not a photo\n" * r.randint(1, 50))}, expect={400, 415})
    elif kind == "oversized":
        req.update(files={"image": ("big.jpg", BIG)}, expect={413})
    elif kind == "chunked":
        req.update(chunked=multipart({"image": ("big.jpg", BIG)}), expect={413})
    elif kind == "hints":
        req["data"]["hints"] = r.choice(BAD_HINTS)
        req["expect"] = {422}
    elif kind == "pixels":
        req.update(files={"image": ("huge.png", TOO_MANY_PIXELS)}, expect={413})
    else:
        req["data"][r.choice(["decode", "temperature", "size"])] = r.choice(["-1", "bogus", "0", "99999"])
        req["expect"] = {422}
    return req


STALL_S = 120   # give up retrying a 503 only when no request at all has been answered for this long


def send(client: httpx.Client, base: str, req: dict, counts: Counter, progress: dict) -> dict:
    """Send one request, retrying on 503 with a short jittered backoff for as long as the server is making
    progress (a slow machine only makes this slower; a stuck queue fails it); -> outcome."""
    busy = 0
    while True:
        try:
            if "chunked" in req:
                body, ctype = req["chunked"]
                content = (body[k:k + 32768] for k in range(0, len(body), 32768))
                resp = client.post(base + "/api/colorize", content=content, headers={"content-type": ctype})
            else:
                resp = client.post(base + "/api/colorize", files=req["files"], data=req["data"])
        except httpx.HTTPError as e:
            return {**req, "status": None, "error": f"{type(e).__name__}: {e}"}
        if resp.status_code == 503 and time.time() - progress["t"] < STALL_S:
            busy += 1
            if resp.text == "Service Unavailable":     # uvicorn's own answer past --max-connections (refused
                counts["503 connection limit"] += 1    # refusals drain their bodies, so connections can linger)
            else:
                counts["503"] += 1
                assert resp.json().get("error"), resp.text
            time.sleep(min(1.0, 0.03 * 1.5 ** min(busy, 12)) * random.uniform(0.5, 1.5))
            continue
        if resp.status_code != 503:
            progress["t"] = time.time()
        out = {**req, "status": resp.status_code, "busy": busy, "ctype": resp.headers.get("content-type", "")}
        if resp.status_code == 200:
            try:
                img = Image.open(io.BytesIO(resp.content))
                img.load()
                out["png"] = (img.format, img.size, img.mode)
            except Exception as e:  # noqa: BLE001
                out["png"] = f"undecodable: {e}"
        else:
            try:
                out["error"] = resp.json().get("error")
            except ValueError:
                out["error"] = None
        return out


def check(outcomes: list[dict]) -> list[str]:
    problems = []
    for o in outcomes:
        tag = f"request {o['i']} ({o['kind']})"
        if o["status"] is None:
            problems.append(f"{tag}: no answer: {o['error']}")
        elif o["status"] >= 500:
            problems.append(f"{tag}: {o['status']} {o.get('error')}")
        elif o["status"] not in o["expect"]:
            problems.append(f"{tag}: got {o['status']} ({o.get('error')}), expected {sorted(o['expect'])}")
        elif o["status"] == 200:
            if o.get("png") != ("PNG", o["size"], "RGB"):
                problems.append(f"{tag}: bad PNG {o.get('png')} for a {o['size']} photo")
        elif not (o["ctype"].startswith("application/json") and isinstance(o.get("error"), str) and o["error"]):
            problems.append(f"{tag}: {o['status']} without a JSON error ({o['ctype']})")
    return problems


def run_burst(base: str, indices, counts: Counter, concurrency: int = CONCURRENCY) -> list[dict]:
    progress = {"t": time.time()}
    clients = [httpx.Client(timeout=60) for _ in range(concurrency)]
    try:
        with ThreadPoolExecutor(concurrency) as pool:
            futures = [pool.submit(send, clients[n % concurrency], base, make_request(i), counts, progress)
                       for n, i in enumerate(indices)]
            return [f.result() for f in futures]
    finally:
        for c in clients:
            c.close()


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs /proc to read the server's memory")
def test_burst_of_mixed_requests(tmp_path):
    log = tmp_path / "serve.log"
    with tinct_serve(log, "--max-upload-mb", UPLOAD_LIMIT_MB, "--max-pixels", MAX_PIXELS, "--queue", 4,
                     "--workers", 1) as (proc, base):
        t0 = time.time()
        counts: Counter = Counter()
        warm = run_burst(base, range(10_000, 10_000 + WARMUP), counts)
        assert not check(warm), check(warm)[:10]
        rss_start = rss_mb(proc.pid)
        t1 = time.time()

        outcomes = run_burst(base, range(N_REQUESTS), counts)
        t2 = time.time()
        rss_end = rss_mb(proc.pid)

        kinds = Counter(o["kind"] for o in outcomes)
        statuses = Counter(o["status"] for o in outcomes)
        print(f"\nload: {N_REQUESTS} requests x{CONCURRENCY} in {t2 - t1:.1f} s (warm-up {t1 - t0:.1f} s); kinds {dict(kinds)}; "
              f"final statuses {dict(statuses)}; 503 busy answers (retried) {counts['503']}; "
              f"RSS {rss_start:.0f} -> {rss_end:.0f} MB")

        problems = check(outcomes)
        assert not problems, f"{len(problems)} bad answers:\n" + "\n".join(problems[:20]) + "\n" + log_tail(log)
        assert kinds["good"] >= 100 and statuses[200] == kinds["good"]
        assert proc.poll() is None, "the server died"
        health = httpx.get(base + "/api/health", timeout=10).json()
        assert health["status"] == "ok" and health["queue"]["admitted"] == 0
        assert rss_end - rss_start < RSS_GROWTH_LIMIT_MB, f"RSS grew {rss_end - rss_start:.0f} MB"
        assert b"Traceback" not in log.read_bytes(), log_tail(log)
