"""Progress lines for long `sample` and `evaluate`: on a terminal only."""

from __future__ import annotations

import io
import time

import pytest
from tfp_arch.cli.progress import Progress, elapsed_ticker


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_counts_on_a_terminal_and_ends_the_line():
    stream = _Terminal()
    progress = Progress("sampling", 10, stream=stream)
    progress.update(10)
    progress.close()
    assert stream.getvalue() == "\rsampling: 10/10 (100%)\n"


@pytest.mark.slow
def test_progress_writes_nothing_off_a_terminal_or_when_disabled():
    pipe = io.StringIO()
    Progress("sampling", 10, stream=pipe).update(10)
    terminal = _Terminal()
    Progress("sampling", 10, stream=terminal, enabled=False).update(10)
    assert pipe.getvalue() == "" and terminal.getvalue() == ""


@pytest.mark.slow
def test_elapsed_ticker_shows_seconds_on_a_terminal_only():
    terminal, pipe = _Terminal(), io.StringIO()
    with elapsed_ticker("evaluating", stream=terminal):
        time.sleep(1.3)
    with elapsed_ticker("evaluating", stream=pipe):
        time.sleep(1.1)
    assert terminal.getvalue() == "\revaluating... 1 s\n"
    assert pipe.getvalue() == ""
