"""``tinct serve``: the web page and HTTP API (FastAPI + uvicorn) around one loaded model."""
from __future__ import annotations

import errno
import ipaddress
import socket
import sys

from .args import number, parsed, require


def add_parser(sub):
    from .colorize import BACKENDS, DEVICES, PRECISIONS
    from ..server.limits import DEFAULT_MAX_PIXELS, DEFAULT_QUEUE, DEFAULT_WORKERS
    p = sub.add_parser("serve", help="web page + HTTP API for colorizing photos (binds 127.0.0.1 by default)",
                       description="Serve a page at / to upload photos, place colour hints and download the "
                                   "result, and an API at /api/colorize and /api/health.")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1: this machine only; 0.0.0.0 exposes it to the network)")
    p.add_argument("--port", type=_port, default=8000, help="port, 1-65535 (default 8000)")
    p.add_argument("--model", default=None, help="'default' (the recommended shipped model), 'v1' (the first release), 'v3' (opt-in, for portraits and people), a model file or a run folder")
    p.add_argument("--device", default="auto", choices=DEVICES, help="where to run the network (default auto)")
    p.add_argument("--backend", default="torch", choices=BACKENDS,
                   help="inference backend (onnxruntime: CPU, needs tinct[onnx]; default torch)")
    p.add_argument("--precision", default="auto", choices=PRECISIONS,
                   help="network precision: auto (bf16 where measured faster and within ab 2 of fp32), fp32, bf16")
    p.add_argument("--max-upload-mb", type=float, default=20.0, help="largest request body in MiB (default 20)")
    p.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS,
                   help=f"largest image in pixels, checked before decoding (default {DEFAULT_MAX_PIXELS:,})")
    p.add_argument("--queue", type=int, default=DEFAULT_QUEUE,
                   help=f"requests that may wait for a worker; more get 503 (default {DEFAULT_QUEUE})")
    p.add_argument("--workers", type=int, default=DEFAULT_WORKERS,
                   help=f"colorizations run at once, in threads (default {DEFAULT_WORKERS})")
    p.add_argument("--header-timeout", type=float, default=10.0, metavar="S",
                   help="seconds a request's headers may take to arrive, then 408 and the connection is closed "
                        "(default 10)")
    p.add_argument("--body-timeout", type=float, default=60.0, metavar="S",
                   help="seconds a request's body may take to arrive, then 408 (default 60)")
    p.add_argument("--max-connections", type=int, default=64, metavar="N",
                   help="open connections at most; more get 503 (default 64)")
    p.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                   help="also answer to this Host name (repeatable; '*' for any); by default only the loopback "
                        "names and the --host address")
    p.add_argument("--allow-origin", action="append", default=[], metavar="ORIGIN",
                   help="let pages from this origin (e.g. http://localhost:3000) use the API (CORS; repeatable); "
                        "by default cross-origin requests are refused")
    p.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    return p


def run(args) -> int:
    why = require("tinct serve", "serve", "fastapi", "uvicorn", "multipart")
    if why:
        print(why, file=sys.stderr)
        return 2
    import uvicorn

    from ..server.app import create_app
    from ..server.origin import served_names
    from ..server.protocol import with_header_timeout
    from ..pipeline.colorizer import Colorizer

    if (not 0 < args.max_upload_mb < 1e6 or args.max_pixels <= 0 or args.queue < 0 or args.workers < 1
            or not 0 < args.header_timeout < 1e6 or not 0 < args.body_timeout < 1e6 or args.max_connections < 2):
        print("tinct serve: --max-upload-mb, --max-pixels and the timeouts must be > 0, --queue >= 0, --workers >= 1, "
              "--max-connections >= 2", file=sys.stderr)
        return 2
    sock = bind_socket(args.host, args.port)
    if isinstance(sock, str):
        print(f"tinct serve: {sock}", file=sys.stderr)
        return 2
    print(f"tinct serve: loading model {args.model or 'default'}…", file=sys.stderr, flush=True)
    try:
        extra = {"backend": args.backend} if args.backend != "torch" else {}
        colorizer = Colorizer.load(args.model, args.device, max_pixels=args.max_pixels, precision=args.precision,
                                   **extra)
    except (FileNotFoundError, ValueError, OSError, ImportError) as e:
        print(f"tinct serve: cannot load model: {e}", file=sys.stderr)
        sock.close()
        return 2
    app = create_app(colorizer, max_upload_bytes=int(args.max_upload_mb * 2**20), max_pixels=args.max_pixels,
                     queue_size=args.queue, workers=args.workers, model_name=args.model or "default",
                     body_timeout=args.body_timeout, allowed_hosts=served_names(args.host, args.allow_host),
                     allowed_origins=args.allow_origin)
    if not _is_loopback(args.host):
        print(f"tinct serve: warning: binding {args.host} makes the server reachable from other machines; "
              f"it has no authentication. It answers to the Host names "
              f"{sorted(served_names(args.host, args.allow_host))} (--allow-host NAME adds one)", file=sys.stderr)
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"tinct serve: ready at http://{host}:{args.port}/  (model {args.model or 'default'}, device "
          f"{colorizer.device}, precision {colorizer.precision}; Ctrl+C stops)", file=sys.stderr, flush=True)
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level=args.log_level, timeout_keep_alive=5,
                            server_header=False, http=with_header_timeout(args.header_timeout),
                            limit_concurrency=args.max_connections)
    uvicorn.Server(config).run(sockets=[sock])
    return 0


@parsed
def _port(text):
    return number(text, int, 1, 65535, out_of_range="{value} is not a port: give 1-65535 (e.g. --port 8000)")


def bind_socket(host: str, port: int):
    """Bind and listen on (host, port) before the model loads -> the socket, or a one-line error with what
    to do instead."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError):
        return f"--host {host!r} is not an address of this machine: try --host 127.0.0.1 (or 0.0.0.0 for all)"
    family, kind, proto, _, addr = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(addr)
        sock.listen(128)
    except OSError as e:
        sock.close()
        if e.errno == errno.EADDRINUSE:
            return f"port {port} is in use: try --port {port + 1 if port < 65535 else 8000}"
        if e.errno == errno.EACCES:
            return f"no permission to use port {port} (ports below 1024 need root): try --port 8000"
        if e.errno == errno.EADDRNOTAVAIL:
            return f"--host {host} is not an address of this machine: try --host 127.0.0.1"
        return f"cannot listen on {host}:{port}: {e.strerror or e}"
    sock.set_inheritable(True)
    return sock


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
