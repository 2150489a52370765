"""uvicorn's HTTP/1.1 protocol (h11) with a deadline for a request's headers.

uvicorn waits forever for a connection that opens and sends nothing, or sends its headers a byte at a time
(it only times out idle keep-alive connections). Here, from the moment a connection opens or a new request
begins to arrive, the headers must be complete within ``header_timeout`` seconds; otherwise the connection
gets ``408`` (if it sent anything) and is closed. Body deadlines are the ASGI middleware's (admission.py).
"""
from __future__ import annotations

import json

from uvicorn.protocols.http.h11_impl import H11Protocol

DEFAULT_HEADER_TIMEOUT = 10.0


def with_header_timeout(seconds: float) -> type:
    """A protocol class for ``uvicorn.run(http=...)`` with this header deadline."""
    return type("HeaderDeadlineH11Protocol", (HeaderDeadlineH11Protocol,), {"header_timeout": float(seconds)})


class HeaderDeadlineH11Protocol(H11Protocol):
    header_timeout = DEFAULT_HEADER_TIMEOUT

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._header_timer = None
        self._partial = False
        self._arm()

    def data_received(self, data: bytes) -> None:
        waiting = self._between_requests()
        super().data_received(data)
        if not self._between_requests():
            self._disarm()              # a request is in progress: its headers are complete
        elif waiting:
            self._partial = True        # the start of the next request
            if self._header_timer is None:
                self._arm()

    def on_response_complete(self) -> None:
        super().on_response_complete()  # arms uvicorn's keep-alive timeout; ours starts with the next bytes
        self._partial = False

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)

    # --- the deadline ---------------------------------------------------------------------------------------
    def _between_requests(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _arm(self) -> None:
        self._header_timer = self.loop.call_later(self.header_timeout, self._expired)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _expired(self) -> None:
        self._header_timer = None
        if self.transport.is_closing() or not self._between_requests():
            return
        if self._partial:
            body = json.dumps({"error": f"request headers not received within {self.header_timeout:g} s"}).encode()
            self.transport.write(b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
                                 b"connection: close\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
        self.transport.close()
