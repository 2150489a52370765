"""The Ray Data actor that colorizes batches of (src, dst) rows: one model per worker process, loaded once.
A row's src and dst are local paths or fsspec URLs (files.urls: same decoding, same encoding, atomic writes).

Each row is read, colorized and written exactly as plain ``tinct colorize`` does (same reader, same Colorizer
call, same atomic writer), so the output bytes are the same. Rows in, rows out: ``name``, ``status``
('ok', 'done', 'fail', or 'misuse' for a hint outside the image) and ``cause`` (one line, '' unless failed)."""
from __future__ import annotations

import os
import warnings
from pathlib import Path

MARKER_ENV = "TINCT_RAY_MARKER_DIR"  # tests: each worker writes <dir>/<pid> when it starts a batch


class ColorizeWorker:
    """``opts``: model, device, backend, max_pixels, overwrite, and the colorize options (hints, decode,
    temperature, size) - the same values plain colorize gets from its command line."""

    OPTS: dict = {}  # set by a subclass made per job (cluster.job)

    def __init__(self, opts: dict | None = None):
        from PIL import Image

        from ..pipeline.colorizer import Colorizer
        self.opts = dict(self.OPTS if opts is None else opts)
        opts = self.opts
        Image.MAX_IMAGE_PIXELS = None  # open_image enforces max_pixels itself (as plain colorize does)
        self.colorizer = Colorizer.load(opts["model"], device=opts["device"], max_pixels=opts["max_pixels"],
                                        backend=opts["backend"])
        self.colorizer.set_precision(opts.get("precision", "fp32"))
        self.colorizer.upsample = opts.get("upsample") or self.colorizer.upsample
        self.marker = os.environ.get(MARKER_ENV)

    def __call__(self, batch: dict) -> dict:
        if self.marker:
            Path(self.marker, str(os.getpid())).touch()
        out = {"name": [], "status": [], "cause": []}
        for src, dst, fmt, name in zip(batch["src"], batch["dst"], batch["fmt"], batch["name"]):
            status, why = self._one(str(src), str(dst), str(fmt) if fmt else None)
            out["name"].append(str(name))
            out["status"].append(status)
            out["cause"].append(why)
        return out

    def _one(self, src: str, dst: str, fmt: str | None) -> tuple[str, str]:
        from ..files import urls
        from ..files.jobs import Job, cause, read_source, write_result
        o = self.opts
        try:
            if not o["overwrite"] and urls.exists(dst):
                # The driver checked dst was absent before the job: it was written by an earlier attempt of
                # this row (a worker killed after the rename, then retried). Exactly once: keep it.
                return "done", ""
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if urls.is_url(src):
                    img = urls.read_source(src, o["max_pixels"])
                else:
                    img = read_source(Job(Path(src), src, None), o["max_pixels"])
                res = self.colorizer.colorize(img.image, hints=o["hints"] or None, decode=o["decode"],
                                              temperature=o["temperature"], size=o["size"],
                                              **o.get("reference_options", {}))
                if urls.is_url(dst):
                    urls.write_result(dst, res, img, fmt, o["overwrite"], tag=o.get("temp_tag", ""))
                else:
                    write_result(Job(Path(src), src, Path(dst), fmt), res, img, o["overwrite"])
        except Exception as e:
            from ..pipeline.hints import HintOutsideImage
            return "misuse" if isinstance(e, HintOutsideImage) else "fail", cause(e)
        return "ok", ""


def worker_opts(opts) -> dict:
    """The worker's options (picklable) from the run's files.options.ColorizeOptions."""
    out = {k: getattr(opts, k) for k in ("model", "device", "backend", "max_pixels", "overwrite", "hints",
                                         "decode", "temperature", "size", "upsample", "reference_options")}
    out["precision"] = opts.resolved_precision or "fp32"    # what the driver measured or was told
    return out


