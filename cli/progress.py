"""Progress on a terminal for long `sample` and `evaluate` commands: one line on stderr, rewritten in place.

Nothing is written when stderr is not a terminal (a log file, a pipe, a CI job), so logs keep
Keras' own lines only.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Iterator
from typing import IO

__all__ = ["Progress", "elapsed_ticker"]


def _is_terminal(stream: IO[str]) -> bool:
    return bool(getattr(stream, "isatty", lambda: False)())


class Progress:
    """`label: done/total` on one stderr line, updated at most every 0.2 s, when stderr is a terminal.

    Args:
        label: what is counted, e.g. `"sampling"`.
        total: the count at the end.
        stream: where to write (default: `sys.stderr`).
        enabled: False to write nothing even on a terminal (for example when the results go to the
            same terminal on stdout).
    """

    def __init__(self, label: str, total: int, stream: IO[str] | None = None, enabled: bool = True) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled and _is_terminal(self.stream)
        self.label = label
        self.total = total
        self._last = 0.0

    def update(self, done: int) -> None:
        """Show `done` of `total` (always shown at the end)."""
        now = time.monotonic()
        if not self.enabled or (done < self.total and now - self._last < 0.2):
            return
        self._last = now
        self.stream.write(f"\r{self.label}: {done}/{self.total} ({100 * done // max(self.total, 1)}%)")
        self.stream.flush()

    def close(self) -> None:
        """End the line."""
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


@contextlib.contextmanager
def elapsed_ticker(label: str, stream: IO[str] | None = None) -> Iterator[None]:
    """While the block runs, `label... N s` on one stderr line, updated every second, when stderr is a terminal."""
    stream = stream or sys.stderr
    if not _is_terminal(stream):
        yield
        return
    stop = threading.Event()
    start = time.monotonic()

    def tick() -> None:
        while not stop.wait(1.0):
            stream.write(f"\r{label}... {time.monotonic() - start:.0f} s")
            stream.flush()

    thread = threading.Thread(target=tick, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        if time.monotonic() - start >= 1.0:
            stream.write("\n")
            stream.flush()
