"""The CLI's process settings: debug mode, and TensorFlow imported without its start-up noise.

TensorFlow's C++ libraries log to stderr before anything can configure them (`All log messages before
absl::InitializeLog()`, CUDA probing on machines without a GPU). The CLI sets `TF_CPP_MIN_LOG_LEVEL`
before TensorFlow is imported, sends file descriptor 2 to /dev/null while the import runs, and lowers
absl's Python logging to errors. With `TFP_ARCH_DEBUG` set to a true value none of this is done.
Library code never does it: a user importing `tfp_arch` keeps TensorFlow's defaults.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

__all__ = ["DEBUG_VAR", "debug_enabled", "import_quietly"]

DEBUG_VAR = "TFP_ARCH_DEBUG"
_FALSE = {"", "0", "false", "no", "off"}


def debug_enabled() -> bool:
    """Whether `TFP_ARCH_DEBUG` is set to a true value (anything but empty, 0, false, no, off)."""
    return os.environ.get(DEBUG_VAR, "").strip().lower() not in _FALSE


def quiet_environment() -> None:
    """Set TensorFlow's log level before it is imported (unless debugging or set by the user)."""
    if not debug_enabled():
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@contextlib.contextmanager
def _stderr_to_devnull() -> Iterator[None]:
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_quietly(module: str = "tfp_arch.architecture") -> None:
    """Import `module` and TensorFlow (through `tfp_arch.architecture`) without TensorFlow's start-up
    messages.

    Python exceptions raised by the import still propagate; only what the C++ libraries write
    directly to stderr during the import is dropped. Does nothing special when debugging.
    """
    if "tensorflow" in sys.modules or debug_enabled():
        __import__("tfp_arch.architecture")
        __import__(module)
        return
    quiet_environment()
    with _stderr_to_devnull():
        __import__("tfp_arch.architecture")
        __import__(module)
    try:
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.ERROR)
    except ImportError:
        pass
