"""The progress bar, the one-line failure messages and the summary of a ``tinct colorize`` run."""
from __future__ import annotations

import sys


class Batch:
    def __init__(self, quiet: bool, total: int):
        from tqdm import tqdm
        self.quiet = quiet
        self.failed = self.done = self.skipped = 0
        self.misused = 0   # failures that are the command's fault (a hint outside an image): exit 2
        self.failures: list = []  # (name, cause)
        self.bar = tqdm(total=total, file=sys.stderr, unit="img", dynamic_ncols=True, leave=False,
                        disable=True if quiet or total <= 1 else None)  # None: only on a terminal

    def fail(self, name: str, why: str) -> None:
        self.failed += 1
        self.failures.append((name, why))
        msg = f"tinct: {name}: {why}"
        if self.bar.disable:
            print(msg, file=sys.stderr, flush=True)
        else:
            self.bar.write(msg, file=sys.stderr)
        self.bar.update(1)

    def finish(self, total: int) -> int:
        """Print the one summary line (several inputs, not --quiet) -> the exit status."""
        if total > 1 and not self.quiet:
            skipped = f", skipped {self.skipped} (output exists)" if self.skipped else ""
            print(f"colorized {self.done} of {total} images{skipped}, {self.failed} failed", file=sys.stderr)
        return 2 if self.misused else 1 if self.failed else 0

    def ok(self, skipped: bool = False) -> None:
        if skipped:
            self.skipped += 1
        else:
            self.done += 1
        self.bar.update(1)
