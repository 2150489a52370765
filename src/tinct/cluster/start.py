"""Where ``tinct colorize`` hands over to the cluster mode, before anything is read or written.

- no ``--ray``: local paths go on as plain colorize; a URL is a one-line usage error (URLs need ``--ray``);
- ``--ray`` without Ray installed: a one-line error naming the extra;
- ``--ray`` with local paths only: plain colorize's planning, then cluster.job.run_on_ray (unchanged);
- ``--ray`` with a URL among the inputs or ``-o``: every URL's fsspec backend is checked first (a missing one is
  a one-line error naming the package, exit 2), then the whole job runs here: planned from listings
  (cluster.url_plan), colorized by the Ray workers, which read and write the URLs (files.urls), failures
  printed and reported as for local folders. Photos only: video inputs are not listed at URLs.

Light to import: Ray and fsspec are imported only when used."""
from __future__ import annotations

import secrets
import sys

from ..files.jobs import show
from ..files.urls import is_url


def start(args, make_batch, load) -> int | None:
    """An exit status when the cluster mode settles the command, else None (the local photo path goes on).
    ``make_batch(args, total)``: the CLI's progress bar and error lines; ``load(args)``: the CLI's model
    loader (a Colorizer, or None with the message printed)."""
    from . import ray_missing
    found = [str(t) for t in [*args.inputs, args.out] if is_url(t)]
    if getattr(args, "ray", None) is None:
        if found:
            print(f"tinct: {show(found[0])}: URLs are read and written by the cluster mode only: add --ray "
                  "(alone: a local Ray on this machine)", file=sys.stderr)
            return 2
        return None
    if ray_missing():
        print(f"tinct: {ray_missing()}", file=sys.stderr)
        return 2
    if not found:
        return None
    from ..files.urls import backend_error
    for url in found:
        why = backend_error(url)
        if why:
            print(f"tinct: {show(url)}: {why}", file=sys.stderr)
            return 2
    return run_urls(args, make_batch, load)


def run_urls(args, make_batch, load) -> int:
    """Plan, colorize on Ray and report a job with URLs; the exit status of plain colorize (0, 1 or 2).
    ``make_batch`` gives the CLI's batch: ``fail``, ``ok``, ``bar`` and ``finish(total)`` (summary, status)."""
    from .url_plan import UsageError, plan_urls
    try:
        p = plan_urls(args)
    except UsageError as e:
        print(f"tinct: {e}", file=sys.stderr)
        return 2
    total = len(p.rows) + len(p.errors) + p.skipped
    batch = make_batch(args, total)
    for name, why in p.errors:
        batch.fail(name, why)
    for _ in range(p.skipped):
        batch.ok(skipped=True)
    try:
        if p.rows:
            from .job import check_model
            if not check_model(args, load):
                return 2
            tag = secrets.token_hex(4)
            from .job import clean_temps, run_rows
            clean_temps(p.rows, tag)
            rc = run_rows(p.rows, args, batch, {"temp_tag": tag})
            clean_temps(p.rows, tag)
            if rc:
                return rc
    finally:
        batch.bar.close()
    return batch.finish(total)
