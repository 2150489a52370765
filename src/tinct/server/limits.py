"""Default limits of ``tinct serve`` (no web dependencies, so the CLI can show them without FastAPI)."""
DEFAULT_MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # 20 MiB per request body
DEFAULT_MAX_PIXELS = 40_000_000             # 40 MP per image (the library's own default is 100 MP)
DEFAULT_QUEUE = 4                           # requests that may wait for a worker
DEFAULT_WORKERS = 1                         # colorizations at once (torch already uses every core for one)
