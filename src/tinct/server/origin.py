"""Who may talk to the server: the ``Host`` it is addressed as, and the web pages (origins) that may use it.

A page on another site can make the user's browser send requests to a server on their own machine (a
cross-origin form POST needs no permission; DNS rebinding points a foreign name at 127.0.0.1). So:

* ``Host`` must be one of the names the server is served as (loopback names by default): 400 otherwise.
* A request carrying an ``Origin`` other than the server's own (same host and port) is refused with 403,
  unless that origin was allowed; CORS preflights (``OPTIONS`` + ``Access-Control-Request-Method``) from
  origins not allowed get an explicit 403, those from allowed origins are answered by Starlette's
  ``CORSMiddleware`` (installed only when some origin is allowed).
"""
from __future__ import annotations

from urllib.parse import urlsplit

from .errors import refuse_unread

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
WILDCARD_BINDS = ("0.0.0.0", "::", "")


def host_name(value: str) -> str:
    """``Host`` header value -> lower-case name without port, brackets or trailing dot."""
    v = value.strip().lower()
    if v.startswith("["):                      # [::1]:8000
        v = v[1:v.find("]")] if "]" in v else v[1:]
    elif v.count(":") == 1:                    # name:8000 (a bare IPv6 address has several colons)
        v = v.split(":")[0]
    return v.rstrip(".")


def served_names(bind: str, extra=()) -> set[str]:
    """Names a server bound to ``bind`` answers to: the loopback names, ``bind`` itself unless it is a
    wildcard address, and ``extra`` (``tinct serve --allow-host``; ``*`` accepts any name)."""
    names = set(LOOPBACK_NAMES)
    if bind not in WILDCARD_BINDS:
        names.add(host_name(f"[{bind}]" if ":" in bind else bind))
    return names | {host_name(e) if e != "*" else "*" for e in extra}


class HostOriginGuard:
    """Pure ASGI middleware enforcing the rules above. ``hosts``: accepted names (``"*"``: any);
    ``origins``: allowed cross-origin origins such as ``http://localhost:3000`` (``"*"``: any)."""

    def __init__(self, app, hosts, origins=()):
        self.app = app
        self.hosts = {h if h == "*" else host_name(h) for h in hosts}
        self.origins = {o.rstrip("/").lower() for o in origins}

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode(): v.decode("latin-1") for k, v in scope.get("headers", ()) if k in (b"host", b"origin")}
        host = headers.get("host")
        if host is None:
            return await _refuse(400, "missing Host header", scope, receive, send)
        if "*" not in self.hosts and host_name(host) not in self.hosts:
            return await _refuse(400, f"host {host_name(host)[:60]!r} is not served here "
                                      "(tinct serve --allow-host NAME adds a name)", scope, receive, send)
        origin = headers.get("origin")
        if origin is not None and not self._same_origin(origin, host) and not self._allowed(origin):
            what = "preflight" if scope["method"] == "OPTIONS" else "request"
            return await _refuse(403, f"cross-origin {what} from {origin[:80]!r} refused "
                                      "(tinct serve --allow-origin ORIGIN allows one)", scope, receive, send)
        return await self.app(scope, receive, send)

    def _allowed(self, origin: str) -> bool:
        return "*" in self.origins or origin.rstrip("/").lower() in self.origins

    @staticmethod
    def _same_origin(origin: str, host: str) -> bool:
        try:
            parts = urlsplit(origin)
        except ValueError:
            return False
        return parts.scheme in ("http", "https") and parts.netloc.lower() == host.strip().lower()


async def _refuse(status: int, message: str, scope, receive, send):
    """Answer without using the body (read and discarded, bounded: :func:`~.errors.refuse_unread`), and close."""
    await refuse_unread(status, message, scope, receive, send)
