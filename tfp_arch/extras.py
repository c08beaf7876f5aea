"""Optional extras of the package: whether one is installed, checked without importing TensorFlow."""

from __future__ import annotations

import importlib.util

__all__ = ["tensorboard_missing"]


def tensorboard_missing() -> str | None:
    """One line saying what to install when the `tensorboard` package is missing, else None.

    Without it TensorFlow's `tf.summary` writes no event files at all.
    """
    if importlib.util.find_spec("tensorboard") is None:
        return "TensorBoard logging needs the tensorboard package: pip install 'tfp-arch[tensorboard]'"
    return None
