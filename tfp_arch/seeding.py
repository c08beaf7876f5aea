"""Seeds for random draws made outside Keras' seed generators."""

from __future__ import annotations

import numpy as np

__all__ = ["resolve_seed"]


def resolve_seed(seed: int | None) -> int:
    """`seed` as an int, or, when None, one drawn from NumPy's global state (set by `keras.utils.set_random_seed`)."""
    return int(np.random.randint(0, 2**31 - 1)) if seed is None else int(seed)
