"""The web app behind ``tinct serve``: one page at ``/`` and a small JSON/PNG API.

* ``POST /api/colorize`` — multipart form: ``image`` (file), optional ``hints`` (JSON list of
  ``{"x": .., "y": .., "color": "#rrggbb", "radius": ..}`` in the image's own pixels), ``decode``,
  ``temperature``, ``size``, reference colours: ``reference`` (file, a colour photo), ``palette`` (JSON list of
  ``"#rrggbb"`` or ``{"color", "weight"}``), ``reference_strength`` -> ``image/png`` of the input's full size.
* ``POST /api/suggest`` — the same form plus ``x``, ``y`` -> the likely colours there (JSON).
* ``GET /api/health`` -> JSON: status, model, device, limits, queue.

Robustness: the request body is capped (``max_upload_bytes``: a declared Content-Length over the cap is
refused before anything is read, chunked bodies are counted as they stream); images are checked against
``max_pixels`` before decoding; at most ``workers`` colorizations run at once in worker threads, at most
``queue_size`` more wait, and anything beyond that gets ``503`` + ``Retry-After`` straight away. A request is
admitted only once its whole body has arrived (bodies have a deadline, then ``408``), so slow uploads hold no
place in the queue. ``Host`` and ``Origin`` are checked (origin.py). Every client error is a 4xx with a JSON
body ``{"error": "..."}``. The server never opens a URL or a path given by a client.
"""
from __future__ import annotations

import io
import logging
import time
from importlib import resources

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from PIL import Image
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..files.read import ImageError, NotAnImage, open_image, open_raster
from ..pipeline.hints import Hint
from ..pipeline.reference import ReferenceError, analyse_reference
from .admission import DEFAULT_BODY_TIMEOUT, BodyLimitMiddleware, Gate, check_multipart_complete, client_gone
from .errors import ClientError, error_response
from .forms import MAX_HINTS, MAX_SIZE, parse_hints, parse_options, parse_palette_field, parse_point
from .origin import LOOPBACK_NAMES, HostOriginGuard
from .limits import DEFAULT_MAX_PIXELS, DEFAULT_MAX_UPLOAD_BYTES, DEFAULT_QUEUE, DEFAULT_WORKERS

log = logging.getLogger("tinct.server")

FIELD_LIMIT = 256 * 1024                    # non-file form fields (hints JSON, options)
PNG_COMPRESS_LEVEL = 3


API_DESCRIPTION = """
Colorize black-and-white photos, optionally guided by colour hints.

* `POST /api/colorize` (multipart/form-data): `image` (file, required); `hints` (JSON list of
  `{"x": float, "y": float, "color": "#rrggbb", "radius": float?}`, x/y/radius in the uploaded image's
  pixels, origin top-left); `decode` (`annealed` | `mode` | `mean`); `temperature` [0.01, 10]; `size`
  (network input side, 32-1024); `reference` (file, a colour photo whose colours steer the result), `palette`
  (JSON list of `"#rrggbb"` or `{"color": "#rrggbb", "weight": w}`), `reference_strength` [0, 10] (0 = off).
  Returns `image/png` at the input's full size. A reference with no colour or a bad palette is a 422.
* `GET /api/health`: JSON with status, model, device, limits and queue state.

Errors are JSON `{"error": "..."}`: 400 bad request/corrupt image/truncated body/unknown Host, 403 cross-origin
request, 408 body too slow, 413 upload or image too large, 415 not an image (EPS/PDF refused) / not multipart,
422 bad field, 503 busy (retry after `Retry-After` seconds).
"""

COLORIZE_OPENAPI = {
    "requestBody": {
        "required": True,
        "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["image"],
            "properties": {
                "image": {"type": "string", "format": "binary", "description": "the photo"},
                "hints": {"type": "string", "description": 'JSON list of {"x", "y", "color": "#rrggbb", "radius"?}',
                          "example": '[{"x": 120, "y": 80, "color": "#2060ff"}]'},
                "decode": {"type": "string", "enum": ["annealed", "mode", "mean"]},
                "temperature": {"type": "number", "minimum": 0.01, "maximum": 10},
                "size": {"type": "integer", "minimum": 32, "maximum": MAX_SIZE},
            }}}},
    },
    "responses": {
        "200": {"description": "the colorized photo", "content": {"image/png": {}}},
        "400": {"description": "bad request or corrupt image"}, "413": {"description": "too large"},
        "415": {"description": "not an image"}, "422": {"description": "bad field"},
        "503": {"description": "busy; retry"},
    },
}


def static_dir():
    return resources.files("tinct") / "server" / "static"


def create_app(colorizer=None, max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
               max_pixels: int = DEFAULT_MAX_PIXELS, queue_size: int = DEFAULT_QUEUE,
               workers: int = DEFAULT_WORKERS, model_name: str | None = None,
               body_timeout: float = DEFAULT_BODY_TIMEOUT, allowed_hosts=LOOPBACK_NAMES, allowed_origins=()) -> FastAPI:
    """Build the app around one ``Colorizer`` (None: load the shipped model now). ``allowed_hosts``: the
    names it answers to (``Host``; ``("*",)`` for any); ``allowed_origins``: other web origins that may use it
    (CORS); ``body_timeout``: seconds a request's body may take to arrive (then 408)."""
    if colorizer is None:
        from ..pipeline.colorizer import Colorizer
        colorizer = Colorizer.load(max_pixels=max_pixels)
        model_name = model_name or "default"
    # the colorizer refuses images over its own limit too: report the smaller one, and check it up front
    max_pixels = min(int(max_pixels), int(getattr(colorizer, "max_pixels", max_pixels)))
    gate = Gate(workers, queue_size)

    app = FastAPI(title="tinct", version=__version__, description=API_DESCRIPTION,
                  docs_url=None, redoc_url=None)  # Swagger UI/ReDoc load from a CDN: the schema is /openapi.json
    app.state.colorizer = colorizer
    app.state.gate = gate
    app.state.limits = {"max_upload_bytes": int(max_upload_bytes), "max_pixels": max_pixels,
                        "max_hints": MAX_HINTS, "max_size": MAX_SIZE}
    app.add_middleware(BodyLimitMiddleware, limit=int(max_upload_bytes), timeout=float(body_timeout))
    if allowed_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(allowed_origins), allow_methods=["GET", "POST"],
                           allow_headers=["*"], max_age=600)
    app.add_middleware(HostOriginGuard, hosts=allowed_hosts, origins=allowed_origins)  # outermost

    @app.exception_handler(ClientError)
    async def _client_error(request, exc: ClientError):
        return error_response(exc.status, exc.message, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request, exc: StarletteHTTPException):
        return error_response(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _internal_error(request, exc: Exception):
        log.exception("internal error on %s %s", request.method, request.url.path)
        return error_response(500, f"internal error ({type(exc).__name__}); see the server log")

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request, exc: RequestValidationError):
        return error_response(422, "; ".join(str(e.get("msg", e)) for e in exc.errors())[:500] or "invalid request")

    def decode_upload(data: bytes, field: str = "image") -> Image.Image:
        """Runs in a worker thread: check the size before decoding, then decode (ClientError otherwise)."""
        if field != "image":   # the reference: the same limits, its errors named
            try:
                return decode_upload(data)
            except ClientError as e:
                raise ClientError(e.status if e.status != 415 else 422, f"{field}: {e.message}") from None
        try:
            with open_raster(io.BytesIO(data)) as probe:
                w, h = probe.size
        except Image.DecompressionBombError as e:
            raise ClientError(413, f"image refused: {str(e).splitlines()[0]}") from None
        except NotAnImage as e:  # unknown, or refused (EPS/PDF: never handed to Ghostscript)
            raise ClientError(415, str(e)) from None
        except Exception:  # noqa: BLE001 - anything PIL cannot even identify is not an image we take
            raise ClientError(415, "not an image file (unrecognized format)") from None
        if w * h > max_pixels:
            raise ClientError(413, f"image is {w}x{h} = {w * h / 1e6:.1f} MP, over the limit of "
                                   f"{max_pixels / 1e6:.1f} MP (tinct serve --max-pixels)")
        try:
            return open_image(io.BytesIO(data), max_pixels)
        except ImageError as e:
            raise ClientError(400, str(e)) from None

    def with_reference(opts: dict) -> dict:
        """Decode the reference upload in ``opts`` (same limits as photos) -> options for the colorizer."""
        ref = opts.pop("reference", None)
        return opts if ref is None else {**opts, "reference": decode_upload(ref, "reference")}

    def work(data: bytes, hints: list[Hint], opts: dict) -> bytes:
        """Runs in a worker thread: decode, colorize, encode PNG."""
        img = decode_upload(data)
        try:
            out = colorizer.colorize(img, hints=hints or None, **with_reference(opts))
        except ReferenceError as e:   # a reference with no colour
            raise ClientError(422, str(e)) from None
        except (ValueError, TypeError) as e:  # options or hints the colorizer refuses
            raise ClientError(422, str(e).splitlines()[0] if str(e) else "invalid request") from None
        except MemoryError:
            raise ClientError(413, "image too large to colorize with the memory available") from None
        buf = io.BytesIO()
        out.save(buf, "PNG", compress_level=PNG_COMPRESS_LEVEL)
        return buf.getvalue()

    @app.post("/api/colorize", summary="Colorize one photo (optionally with colour hints) -> PNG",
              openapi_extra=COLORIZE_OPENAPI, response_class=Response)
    async def colorize(request: Request):
        return await admitted(request, "colorize")

    def suggest_work(data: bytes, hints: list[Hint], opts: dict, point: tuple[float, float]) -> list[dict]:
        img = decode_upload(data)
        try:
            return colorizer.suggest(img, point[0], point[1], hints=hints, **with_reference(opts))
        except (ValueError, ReferenceError) as e:
            raise ClientError(422, str(e).splitlines()[0]) from None

    @app.post("/api/suggest", summary="The model's most likely distinct colours at a point -> JSON")
    async def suggest(request: Request):
        """multipart form: ``image``, ``x``, ``y`` (pixels of the image), optional ``hints`` (as for
        /api/colorize) -> ``{"suggestions": [{"color": "#rrggbb", "probability": p, ...}, ...]}``."""
        return await admitted(request, "suggest")

    async def admitted(request: Request, kind: str):
        """Admission, form parsing and the worker call shared by /api/colorize and /api/suggest."""
        ctype = request.headers.get("content-type", "")
        if not ctype.lower().startswith("multipart/form-data"):
            raise ClientError(415, "send multipart/form-data with the photo in a field named 'image'")
        if gate.refuse_early():  # refuse at once a body that could not be served anyway
            return busy()
        t0 = time.perf_counter()
        try:
            form = await request.form(max_files=2, max_fields=12, max_part_size=FIELD_LIMIT)
        except (ClientError, StarletteHTTPException):
            raise
        except Exception as e:  # noqa: BLE001 - a body the multipart parser chokes on is the client's
            raise ClientError(400, f"malformed multipart body: {type(e).__name__}") from None
        try:
            check_multipart_complete(request.scope, ctype)
            if len(form.getlist("image")) > 1 or len(form.getlist("reference")) > 1:   # max_files=2: image + reference
                raise ClientError(422, "send one photo in 'image' (and at most one in 'reference')")
            upload = form.get("image")
            if upload is None:
                raise ClientError(422, "missing form field 'image' (the photo)")
            if isinstance(upload, str) or not hasattr(upload, "read"):
                raise ClientError(422, "field 'image' must be a file upload")
            hints_field = form.get("hints")
            if hints_field is not None and not isinstance(hints_field, str):
                raise ClientError(422, "field 'hints' must be text (JSON), not a file")
            hints = parse_hints(hints_field)
            opts = parse_options(form, colorizer.defaults)
            if (palette := parse_palette_field(form.get("palette"))) is not None:
                opts["palette"] = palette
            point = parse_point(form) if kind == "suggest" else None
            data = await upload.read()
            ref_upload = form.get("reference")
            if ref_upload is not None and (isinstance(ref_upload, str) or not hasattr(ref_upload, "read")):
                if str(ref_upload).strip():
                    raise ClientError(422, "field 'reference' must be a file upload")
            elif ref_upload is not None and (ref_data := await ref_upload.read()):
                opts["reference"] = ref_data
        finally:
            await form.close()
        if not data:
            raise ClientError(400, "the uploaded image is empty")
        # (also lets the server notice a later disconnect: uvicorn may pause reading after a big body)
        if await client_gone(request):
            raise ClientError(400, "the client disconnected")
        # admitted only now, with the whole body read: a slow upload never holds a place in the queue
        if not gate.try_admit():
            return busy()
        try:
            if kind == "suggest":
                found = await gate.run(suggest_work, data, hints, opts, point, request=request)
                return JSONResponse({"suggestions": found}, headers={"Cache-Control": "no-store"})
            png = await gate.run(work, data, hints, opts, request=request)
        finally:
            gate.release()
        return Response(png, media_type="image/png",
                        headers={"Cache-Control": "no-store", "X-Tinct-Seconds": f"{time.perf_counter() - t0:.3f}"})

    def busy():
        return error_response(503, f"busy: {gate.capacity} requests in progress; retry shortly",
                              headers={"Retry-After": "1"})

    @app.get("/api/health", summary="Server status, model and limits")
    async def health():
        m = colorizer.model
        backend = "onnxruntime" if type(m.net).__name__ == "OnnxNetwork" else "torch"
        return {
            "status": "ok",
            "version": __version__,
            "model": {"name": model_name, "arch": m.model_config.arch, "grid": m.model_config.grid,
                      "hints": bool(m.model_config.hints), "input_size": colorizer.defaults.size,
                      "decode": colorizer.defaults.decode, "temperature": colorizer.defaults.temperature},
            "device": str(colorizer.device),
            "backend": backend,
            "limits": app.state.limits,
            "queue": gate.snapshot(),
        }

    static = static_dir()

    @app.get("/", include_in_schema=False)
    async def index():
        return FileResponse(str(static / "index.html"), media_type="text/html",
                            headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    return app
