"""Where ``tinct colorize`` hands over to the cluster mode, checked once before anything is read or written.

- no ``--ray``: a URL is a one-line usage error (URLs need ``--ray``);
- ``--ray`` without Ray installed: a one-line error naming the extra;
- ``--ray`` with URLs: each must be usable (files.schemes: an allow-list of schemes, outputs that persist, the
  backend installed, the store reachable), else one line, exit 2.
Then the planner (files.plan) decides the jobs; URL jobs run here (:func:`run_urls`), colorized by the Ray
workers, which read and write the URLs (files.urls), failures printed and reported as for local folders.

Light to import: Ray and fsspec are imported only when used."""
from __future__ import annotations

import secrets
import sys

from ..files.jobs import show
from ..files.urls import is_url


def refuse(opts) -> int | None:
    """Exit status 2 (message printed) when the cluster mode's preconditions fail, else None."""
    from . import ray_missing
    found = [str(t) for t in [*opts.inputs, opts.out] if is_url(t)]
    if opts.ray is None:
        if found:
            print(f"tinct: {show(found[0])}: URLs are read and written by the cluster mode only: add --ray "
                  "(alone: a local Ray on this machine)", file=sys.stderr)
            return 2
        return None
    if ray_missing():
        print(f"tinct: {ray_missing()}", file=sys.stderr)
        return 2
    from ..files.schemes import check_urls
    bad = check_urls(opts.inputs, opts.out)
    if bad:
        print(f"tinct: {show(bad[0])}: {bad[1]}", file=sys.stderr)
        return 2
    return None


def run_urls(jobs: list, opts, batch, load) -> int:
    """Colorize planned URL ``jobs`` (kind 'url') on Ray, reporting each to ``batch`` (the CLI's bar and error
    lines: ``fail``, ``ok``). ``load()``: the CLI's model loader (None, message printed, when it cannot).
    Returns 0, or 2 when the model or the cluster cannot be used (message printed)."""
    if not jobs:
        return 0
    from .job import check_model, clean_temps, rows_of, run_rows
    if not check_model(opts, load):
        return 2
    rows = rows_of(jobs)
    tag = secrets.token_hex(4)
    clean_temps(rows, tag)
    try:
        return run_rows(rows, opts, batch, {"temp_tag": tag})
    finally:
        clean_temps(rows, tag)
