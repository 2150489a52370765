"""What the server lets in: request bodies capped in size and in time (``BodyLimitMiddleware``) and
colorizations capped in number (``Gate``: so many run, so many wait, the rest get 503 at once). A request is
admitted to the gate only once its whole body has arrived, so slow uploads never hold a place in it."""
from __future__ import annotations

import re

import anyio
from fastapi import Request

from .errors import ClientError, drain_body, error_response, may_drain, refuse_unread

DEFAULT_BODY_TIMEOUT = 60.0   # seconds from a request's headers to the end of its body
BODY_TAIL = "tinct.body_tail"  # scope key: the last bytes of the body read so far (truncation check)
CLOSE = {"Connection": "close"}


class BodyLimitMiddleware:
    """Pure ASGI middleware: refuse request bodies over ``limit`` bytes with 413, and bodies not complete
    ``timeout`` seconds after the request's headers with 408 (the connection is then closed).

    A Content-Length over the limit is answered at once without reading the body; otherwise the bytes are
    counted as the app reads them and the read that crosses the limit raises ``ClientError(413)``, so a
    chunked upload is cut off at the limit too. (uvicorn then discards the rest of the body unread into
    memory, so the client still receives the 413.) The last bytes read are kept in ``scope[BODY_TAIL]``."""

    def __init__(self, app, limit: int, timeout: float = DEFAULT_BODY_TIMEOUT):
        self.app = app
        self.limit = limit
        self.timeout = timeout

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
            return await refuse_unread(413, _too_large_message(length, self.limit), scope, receive, send)

        seen = 0
        limit, timeout = self.limit, self.timeout
        deadline = anyio.current_time() + timeout
        done = False
        scope[BODY_TAIL] = b""

        async def counting_receive():
            nonlocal seen, done
            if done:  # the body is complete: later receives only wait for a disconnect
                return await receive()
            try:
                with anyio.fail_after(max(deadline - anyio.current_time(), 0)):
                    message = await receive()
            except TimeoutError:
                done = True   # nothing more is read: a slow body is not drained
                raise ClientError(408, f"request body not received within {timeout:g} s "
                                       "(tinct serve --body-timeout)", headers=CLOSE) from None
            if message["type"] == "http.request":
                body = message.get("body", b"")
                seen += len(body)
                if seen > limit:
                    raise ClientError(413, _too_large_message(None, limit))
                scope[BODY_TAIL] = (scope[BODY_TAIL] + body)[-512:]
                done = not message.get("more_body", False)
            else:
                done = True
            return message

        has_body = bool(length) or any(k == b"transfer-encoding" for k, _ in scope.get("headers", ()))

        async def closing_send(message):
            # an answer given before the whole body was read (a refusal: 503 busy, 413 past the limit) first
            # reads and discards the rest (bounded; errors.drain_body), so a client still sending receives it
            # instead of a reset, then closes the connection: the client would otherwise keep it, trickling a
            # body nobody reads, outside every deadline
            if message["type"] == "http.response.start" and has_body and not done:
                if may_drain(scope):
                    await drain_body(receive)
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"connection"]
                message = {**message, "headers": headers + [(b"connection", b"close")]}
            await send(message)

        await self.app(scope, counting_receive, closing_send)


def check_multipart_complete(scope, content_type: str) -> None:
    """ClientError(400) when the body read ends before the multipart closing boundary (a truncated upload:
    the parser itself silently drops the unfinished part)."""
    m = re.search(r'boundary="?([^";,]+)"?', content_type)
    tail = scope.get(BODY_TAIL)
    if m is None or tail is None:
        return
    if not tail.rstrip(b"\r\n").endswith(b"--" + m.group(1).encode("latin-1") + b"--"):
        raise ClientError(400, "malformed multipart body: truncated (it ends before the closing boundary)")


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
        self.admitted = 0   # requests between admission (body read) and their answer (waiting or running)
        self.running = 0
        self.served = 0
        self.refused = 0
        self.skipped = 0
        self.limiter = anyio.CapacityLimiter(workers)

    def refuse_early(self) -> bool:
        """Before reading a body: True (and a refusal counted) when an admission now would be refused."""
        if self.admitted >= self.capacity:
            self.refused += 1
            return True
        return False

    def try_admit(self) -> bool:
        """Take a place (True) or count a refusal (False). Called from the event loop only: no lock needed."""
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
