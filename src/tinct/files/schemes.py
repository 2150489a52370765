"""Which URL schemes ``tinct colorize --ray`` reads and writes, checked once before any work: an allow-list of
stores whose files every Ray worker sees and that keep them after the job. Anything else is one line naming the
scheme; an output on a store that cannot keep it (process-local ``memory://``, local cache wrappers such as
``blockcache://``) or cannot be written (``https://``) is refused, as is a store that cannot be reached."""
from __future__ import annotations

from .jobs import cause, show
from .urls import backend_error, is_url, protocol, split

SHARED = ("file", "local", "s3", "s3a", "gs", "gcs", "abfs", "abfss", "az", "adl", "oss", "ftp", "sftp",
          "ssh")   # stores every worker reads and writes
READ_ONLY = ("http", "https")
PROCESS_LOCAL = ("memory",)
CACHES = ("blockcache", "filecache", "simplecache", "cached")
_SUPPORTED = tuple(s for s in SHARED if s != "local") + READ_ONLY


def scheme_error(url: str, is_output: bool) -> str | None:
    """None when ``url`` may be used (an input, or ``-o`` when ``is_output``); else the one-line cause."""
    proto = protocol(url)
    if proto in PROCESS_LOCAL:
        return (f"{proto}:// files live only inside one process: Ray workers cannot share them and they are gone "
                "when the job ends; use a shared store (s3://, gs://, file://...)")
    if proto in CACHES:
        return (f"{proto}:// is a local cache in front of another file system, not a place to keep files; use "
                "the file system itself")
    if proto in READ_ONLY:
        return f"{proto}:// is read-only: -o needs a store tinct can write to" if is_output else None
    if proto not in SHARED:
        return f"{proto}:// is not a URL scheme tinct reads or writes (supported: {', '.join(_SUPPORTED)})"
    return None


def check_urls(inputs, out) -> tuple[str, str] | None:
    """The inputs and ``-o`` of a --ray run -> None, or (the URL, the one-line cause) of the first that cannot
    be used: a chained URL, a scheme outside the allow-list, a missing backend, a store that cannot be reached."""
    reached: set = set()
    for text, is_output in [*((t, False) for t in inputs), (out, True)]:
        text = None if text is None else str(text)
        if text is None or not is_url(text):
            continue
        why = scheme_error(text, is_output) or backend_error(text)
        if why is None and "::" in text.split("://", 1)[0]:
            why = "chained URLs (cache::store://) are not supported; give the store's URL itself"
        if why is None:
            where = (protocol(text), text.split("://", 1)[1].split("/", 1)[0])
            if where not in reached:
                try:
                    split(text)    # stores that connect when opened (ftp, sftp) fail here, once
                except Exception as e:
                    why = f"cannot reach {where[0]}://{show(where[1])}: {cause(e)}"
                reached.add(where)
        if why:
            return text, why
    return None
