"""The load test of test_server_load.py (mixed good and bad requests, here 32 at a time) with five slow uploaders
beside it, each sending a correct Content-Length and then one body byte a second, reconnecting after every
408: nothing 5xx except counted 503s, every good photo answered with a correct PNG, every slow upload cut with
408 at the body deadline (or refused at once with 503 while the queue is full), the queue never held by them,
and the server's memory growth reported."""
from __future__ import annotations

import os
import threading
import time
from collections import Counter

import pytest

httpx = pytest.importorskip("httpx")

from test_server_hardening import slow_upload  # noqa: E402
from test_server_load import (MAX_PIXELS, RSS_GROWTH_LIMIT_MB, UPLOAD_LIMIT_MB, check, log_tail,  # noqa: E402
                              rss_mb, run_burst, tinct_serve)

N_REQUESTS = 1200
CONCURRENCY = 32
SLOW_CLIENTS = 5
BODY_TIMEOUT = 5


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs /proc to read the server's memory")
def test_burst_with_slow_uploaders(tmp_path):
    log = tmp_path / "serve.log"
    with tinct_serve(log, "--max-upload-mb", UPLOAD_LIMIT_MB, "--max-pixels", MAX_PIXELS, "--queue", 4,
                     "--workers", 1, "--body-timeout", BODY_TIMEOUT, "--header-timeout", 3) as (proc, base):
        port = int(base.rsplit(":", 1)[1])
        counts: Counter = Counter()
        warm = run_burst(base, range(20_000, 20_016), counts, CONCURRENCY)
        assert not check(warm), check(warm)[:10]
        rss_start = rss_mb(proc.pid)

        stop = threading.Event()
        slow: list = []

        def slow_client():
            while not stop.is_set():
                slow_upload(port, slow)

        slowpokes = [threading.Thread(target=slow_client) for _ in range(SLOW_CLIENTS)]
        for t in slowpokes:
            t.start()
        time.sleep(1.0)
        t1 = time.time()
        outcomes = run_burst(base, range(N_REQUESTS), counts, CONCURRENCY)
        t2 = time.time()
        health = httpx.get(base + "/api/health", timeout=10).json()
        stop.set()
        for t in slowpokes:
            t.join(BODY_TIMEOUT + 30)
        rss_end = rss_mb(proc.pid)

        kinds = Counter(o["kind"] for o in outcomes)
        statuses = Counter(o["status"] for o in outcomes)
        slow_statuses = Counter(s[0][:12] for s in slow)
        print(f"\nload + {SLOW_CLIENTS} slow uploaders: {N_REQUESTS} requests x{CONCURRENCY} in {t2 - t1:.1f} s; "
              f"kinds {dict(kinds)}; final statuses {dict(statuses)}; 503 busy answers (retried) {counts['503']}; "
              f"slow uploads {dict(slow_statuses)} after {min(s[1] for s in slow):.1f}-"
              f"{max(s[1] for s in slow):.1f} s; "
              f"RSS {rss_start:.0f} -> {rss_end:.0f} MB")

        problems = check(outcomes)
        assert not problems, f"{len(problems)} bad answers:\n" + "\n".join(problems[:20]) + "\n" + log_tail(log)
        assert kinds["good"] >= 60 and statuses[200] == kinds["good"]
        # each slow upload is cut at the body deadline (408) or, when the queue is full as it arrives, refused
        # at once (503, before its body is read); either way its connection is closed
        assert slow and all(s[0][:12] in ("HTTP/1.1 408", "HTTP/1.1 503") and s[2] for s in slow), slow
        assert slow_statuses["HTTP/1.1 408"] >= SLOW_CLIENTS and all(s[1] < BODY_TIMEOUT + 60 for s in slow), slow
        assert health["queue"]["admitted"] <= health["queue"]["workers"] + health["queue"]["queue"]
        assert proc.poll() is None, "the server died"
        assert httpx.get(base + "/api/health", timeout=10).json()["queue"]["admitted"] == 0
        assert rss_end - rss_start < RSS_GROWTH_LIMIT_MB, f"RSS grew {rss_end - rss_start:.0f} MB"
        assert b"Traceback" not in log.read_bytes(), log_tail(log)
