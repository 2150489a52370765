"""Client errors of the web API: every refusal is a 4xx with a JSON body ``{"error": "..."}``.

A refusal given before the request's body is read (413 for a long Content-Length, a bad Host, 503 when busy)
first reads and discards the body, up to :data:`DRAIN_BYTES` and :data:`DRAIN_SECONDS` (:func:`drain_body`):
a client that sends its whole body before reading (httpx's async client) would otherwise see the server's
close as a connection reset instead of the answer, since closing a socket with unread data sends a reset.
"""
from __future__ import annotations

import anyio
from fastapi.responses import JSONResponse

DRAIN_BYTES = 64 * 2**20    # at most this much of a refused body is read (and discarded) before answering
DRAIN_SECONDS = 5.0         # ... within this long; past either bound the answer is sent and the connection closed


class ClientError(Exception):
    """A request the server refuses; becomes ``{"error": message}`` with ``status``."""

    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


def error_response(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def may_drain(scope) -> bool:
    """Whether a refused request's body may be read before answering: not when the client waits for
    ``100 Continue`` (reading would ask it to send), nor when its Content-Length is over :data:`DRAIN_BYTES`."""
    for k, v in scope.get("headers", ()):
        if k == b"expect":
            return False
        if k == b"content-length":
            try:
                return int(v) <= DRAIN_BYTES
            except ValueError:
                return False
    return True


async def drain_body(receive, max_bytes: int = DRAIN_BYTES, max_seconds: float = DRAIN_SECONDS) -> bool:
    """Read and discard the rest of a request's body via the ASGI ``receive`` -> True when it ended (so the
    connection can close cleanly), False on a disconnect or past either bound."""
    seen = 0
    with anyio.move_on_after(max_seconds):
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return False
            seen += len(message.get("body", b""))
            if not message.get("more_body", False):
                return True
            if seen > max_bytes:
                return False
    return False


async def refuse_unread(status: int, message: str, scope, receive, send, headers: dict | None = None) -> None:
    """Answer ``status`` to a request whose body was not read: drain it (bounded), answer, close the connection."""
    if may_drain(scope):
        await drain_body(receive)
    await error_response(status, message, headers={**(headers or {}), "Connection": "close"})(scope, receive, send)
