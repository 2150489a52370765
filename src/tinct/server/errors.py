"""Client errors of the web API: every refusal is a 4xx with a JSON body ``{"error": "..."}``."""
from __future__ import annotations

from fastapi.responses import JSONResponse


class ClientError(Exception):
    """A request the server refuses; becomes ``{"error": message}`` with ``status``."""

    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


def error_response(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)
