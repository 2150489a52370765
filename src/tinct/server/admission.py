"""What the server lets in: request bodies capped in size (``BodyLimitMiddleware``) and colorizations capped
in number (``Gate``: so many run, so many wait, the rest get 503 at once)."""
from __future__ import annotations

import anyio
from fastapi import Request

from .errors import ClientError, error_response


class BodyLimitMiddleware:
    """Pure ASGI middleware: refuse request bodies over ``limit`` bytes with 413.

    A Content-Length over the limit is answered at once without reading the body; otherwise the bytes are
    counted as the app reads them and the read that crosses the limit raises ``ClientError(413)``, so a
    chunked upload is cut off at the limit too. (uvicorn then discards the rest of the body unread into
    memory, so the client still receives the 413.)"""

    def __init__(self, app, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = None
        for k, v in scope.get("headers", ()):
            if k == b"content-length":
                try:
                    length = int(v)
                except ValueError:
                    resp = error_response(400, "bad Content-Length header")
                    return await resp(scope, receive, send)
                break
        if length is not None and length > self.limit:
            resp = error_response(413, _too_large_message(length, self.limit))
            return await resp(scope, receive, send)

        seen = 0
        limit = self.limit

        async def counting_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise ClientError(413, _too_large_message(None, limit))
            return message

        await self.app(scope, counting_receive, send)


def _too_large_message(length, limit) -> str:
    got = f" ({length / 2**20:.1f} MiB)" if length is not None else ""
    return f"upload too large{got}: the limit is {limit / 2**20:.1f} MiB (tinct serve --max-upload-mb)"


class Gate:
    """Admission control: ``workers`` jobs run at once, ``queue`` more may wait, the rest are refused."""

    def __init__(self, workers: int, queue: int):
        if workers < 1 or queue < 0:
            raise ValueError("workers must be >= 1 and queue >= 0")
        self.workers = workers
        self.queue = queue
        self.capacity = workers + queue
        self.admitted = 0   # requests between admission and their answer (uploading, waiting or running)
        self.running = 0
        self.served = 0
        self.refused = 0
        self.skipped = 0
        self.limiter = anyio.CapacityLimiter(workers)

    def try_admit(self) -> bool:
        # called from the event loop only: no lock needed
        if self.admitted >= self.capacity:
            self.refused += 1
            return False
        self.admitted += 1
        return True

    def release(self) -> None:
        self.admitted -= 1

    async def run(self, fn, *args, request: Request | None = None):
        async with self.limiter:
            if request is not None and await client_gone(request):
                # the client gave up while queued (the page aborts superseded requests): skip the work
                self.skipped += 1
                raise ClientError(400, "the client disconnected before its turn")
            self.running += 1
            try:
                # a thread from anyio's pool; the CapacityLimiter above bounds how many colorize at once
                return await anyio.to_thread.run_sync(fn, *args)
            finally:
                self.running -= 1
                self.served += 1

    def snapshot(self) -> dict:
        return {"workers": self.workers, "queue": self.queue, "admitted": self.admitted, "running": self.running,
                "served": self.served, "refused_busy": self.refused, "skipped_disconnected": self.skipped}


async def client_gone(request: Request) -> bool:
    try:
        return await request.is_disconnected()
    except Exception:  # noqa: BLE001 - when in doubt, do the work
        return False
