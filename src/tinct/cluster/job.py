"""Driver side of ``tinct colorize --ray``: the planned jobs become a Ray dataset of (src, dst) rows, colorized by
a pool of ColorizeWorker actors (one model each); results stream back in input order to the CLI's progress bar
and error lines, and failures go to a report file.

Rows are local paths or fsspec URLs (files.plan, files.plan_urls, files.urls); the report goes to the -o folder or URL.

Guarantees: outputs are written by the workers atomically (temporary name in the output folder, then rename;
on object stores one put of the complete bytes), so a killed worker leaves no partial file (the temporary files
of killed workers are removed when the job ends); Ray restarts the
actor and retries its in-flight batch; a row whose output already exists on retry is kept, not rewritten
(exactly once); a rerun with --skip-existing skips finished outputs before any work is sent."""
from __future__ import annotations

import csv
import os
import sys
from pathlib import Path

BATCH_SIZE = 8          # rows per actor call: images are decoded one at a time, so memory is one image's worth
                        # (plus the model); the batch size only bounds the work lost to a killed worker
REPORT_NAME = "tinct-failures.tsv"


def connect(address: str | None, num_cpus: int | None = None) -> None:
    """Join the Ray cluster at ``address`` ('auto', 'ray://HOST:PORT', 'HOST:PORT'), or start a local one when
    ``address`` is None. No-op when this process is already connected."""
    import ray
    if ray.is_initialized():
        return
    import logging
    logging.getLogger("ray").setLevel(logging.ERROR)   # one line per failed input on stderr, as plain colorize
    os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")  # the driver's core worker logs to our stderr
    kw = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    if address is None:
        ray.init(num_cpus=num_cpus, **kw)
    else:
        ray.init(address=address, **kw)


def colorize_rows(rows: list[dict], opts: dict, workers: int | None = None, batch_size: int = BATCH_SIZE):
    """Yield one result row per input row, in input order: {name, status ('ok'|'done'|'fail'|'misuse'), cause}.
    ``rows``: {src, dst, fmt, name} (strings; fmt '' for from-the-extension). ``workers``: actors (one CPU
    each; default: up to the cluster's CPUs, scaled as Ray sees fit)."""
    import ray
    import ray.data

    from .worker import ColorizeWorker
    import logging
    logging.getLogger("ray.data").setLevel(logging.ERROR)
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False           # the CLI draws its own bar (images/s)
    ctx.execution_options.preserve_order = True
    ctx.print_on_execution_start = False
    if workers is None:
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        pool = ray.data.ActorPoolStrategy(min_size=1, max_size=cpus)
    else:
        pool = ray.data.ActorPoolStrategy(size=workers)
    # options as a class attribute, not constructor arguments: restartable actors must not depend on objects
    # in the object store (ray-project/ray#53727)
    worker = type("ColorizeWorker", (ColorizeWorker,), {"OPTS": dict(opts)})
    n_blocks = max(1, min(len(rows) // batch_size, 200))
    ds = ray.data.from_items(rows, override_num_blocks=n_blocks)
    ds = ds.map_batches(worker, batch_size=batch_size, batch_format="numpy", compute=pool, num_cpus=1,
                        max_restarts=-1, max_task_retries=-1)
    for r in ds.iter_rows():
        yield {k: str(r[k]) for k in ("name", "status", "cause")}


def report_path(out):
    """Where the failures report goes: the -o folder (a URL there too), else the current folder."""
    from ..files.urls import is_url, join
    if is_url(out):
        return join(out, REPORT_NAME)
    if out is not None and Path(out).is_dir():
        return Path(out) / REPORT_NAME
    return Path(REPORT_NAME)


def report(out, failures: list) -> None:
    """Write (or, with no failures, remove) the failures report of a --ray run whose -o is ``out``; a report
    that cannot be written is one line on stderr."""
    from ..files.jobs import cause
    try:
        write_report(report_path(out), failures)
    except Exception as e:
        print(f"tinct: cannot write the failures report: {cause(e)}", file=sys.stderr)


def write_report(path, failures: list) -> None:
    """``failures``: (file, cause) pairs -> a TSV with a header at ``path`` (a local path or a URL), written
    atomically; removed when there are none (a clean rerun)."""
    import io
    from ..files import urls
    from ..files.write import write_atomic
    text = io.StringIO()
    w = csv.writer(text, delimiter="\t", lineterminator="\n")
    w.writerow(["file", "cause"])
    w.writerows(failures)
    data = text.getvalue().encode()
    if urls.is_url(path):
        fs, where = urls.split(path)
        if failures:
            urls.put_bytes(fs, where, data, overwrite=True)
        elif fs.exists(where):
            fs.rm_file(where)
    elif failures:
        write_atomic(path, lambda f: f.write(data), overwrite=True)
    elif Path(path).is_file():
        Path(path).unlink()


def check_model(opts, load) -> bool:
    """Load the model once in the driver, to check it and to resolve its precision (``opts.resolved_precision``,
    which the workers then use, so they run as plain colorize would); each worker loads its own copy.
    ``load()``: the CLI's loader (None, with the message printed, when it cannot load). -> loaded?"""
    colorizer = load()
    if colorizer is None:
        return False
    opts.resolved_precision = colorizer.precision
    return True


def rows_of(jobs: list) -> list[dict]:
    """Planned jobs (local files or URLs) -> the rows sent to the workers: {src, dst, fmt, name} strings."""
    from ..files.urls import is_url

    def where(p):
        return p if is_url(p) else os.path.abspath(p)
    return [{"src": where(j.src), "dst": where(j.out), "fmt": j.fmt or "", "name": j.name} for j in jobs]


def run_on_ray(todo: list, opts, batch) -> int:
    """Colorize the planned ``todo`` jobs (local files) on Ray, reporting each to ``batch`` (the CLI's bar and
    error lines). Returns 0, or 2 when the cluster cannot be reached (message printed)."""
    rows = rows_of(todo)
    try:
        return run_rows(rows, opts, batch)
    finally:
        clean_temps(rows)   # a worker killed mid-write leaves its temporary file; with the job over, it is gone


def run_rows(rows: list, opts, batch, extra_opts: dict | None = None) -> int:
    """Colorize ``rows`` ({src, dst, fmt, name}: local paths or URLs) on Ray; each result goes to ``batch``
    (a hint outside an image counts as the command's fault: exit 2). Returns 0, or 2 when the cluster cannot
    be reached. The failures report is the caller's (:func:`report`)."""
    from ..files.jobs import cause
    from .worker import worker_opts
    address = None if opts.ray == "local" else opts.ray
    try:
        connect(address)
    except Exception as e:
        print(f"tinct: cannot connect to Ray at {address or 'a new local cluster'}: {cause(e)}", file=sys.stderr)
        return 2
    for r in colorize_rows(rows, {**worker_opts(opts), **(extra_opts or {})}):
        if r["status"] in ("fail", "misuse"):
            batch.misused += r["status"] == "misuse"
            batch.fail(r["name"], r["cause"])
        else:
            batch.ok()
    return 0


def clean_temps(rows: list, tag: str = "") -> None:
    """Remove temporary files left in the output folders by killed workers: local folders (file:// and
    plain paths) those of processes no longer running, as plain colorize does; stores without an atomic put
    those of this job (``tag``). Object stores with an atomic put never have any."""
    import posixpath

    from ..files import urls
    from ..files.write import clean_stale_temps
    for name in sorted({posixpath.dirname(r["dst"]) for r in rows}):
        fs, folder = urls.split(name) if urls.is_url(name) else (urls.local_fs(), name)
        if urls.is_local(fs):
            clean_stale_temps(folder)
        elif not urls.atomic_put(fs):
            urls.remove_temps(fs, folder, tag)
