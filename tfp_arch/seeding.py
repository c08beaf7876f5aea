"""Seeds for random draws made outside Keras' seed generators: one integer, a stateless pair, a stream of pairs.

TensorFlow's stateless ops take a shape-(2,) integer seed. Every draw of the package made from a
user's integer seed goes through these helpers:

- `seed_pair(seed)`: the pair `[seed, 0]` (a seed of None is drawn from NumPy's global state, which
  `keras.utils.set_random_seed` sets);
- `seed_pairs(seed)`: an endless stream of pairs drawn from `np.random.default_rng(seed)`, for a
  computation that needs a new independent pair per chunk or per step.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import tensorflow as tf

__all__ = ["resolve_seed", "seed_pair", "seed_pairs"]

_MAX_SEED = 2**31 - 1


def resolve_seed(seed: int | None) -> int:
    """`seed` as an int, or, when None, one drawn from NumPy's global state (set by `keras.utils.set_random_seed`)."""
    return int(np.random.randint(0, _MAX_SEED)) if seed is None else int(seed)


def seed_pair(seed: int | None, dtype: Any = "int32") -> tf.Tensor:
    """The stateless seed `[resolve_seed(seed), 0]`.

    Args:
        seed: an integer, or None for one drawn from NumPy's global state.
        dtype: `"int32"` (the default) or `"int64"`. TensorFlow derives other streams from the
            two dtypes (`stateless_split` of the same values differs), so a caller keeps the dtype
            its saved results were drawn with: `bnn` draws its weight samples from int64 pairs.

    Returns:
        A shape-(2,) integer tensor.
    """
    import tensorflow as tf

    return tf.constant([resolve_seed(seed), 0], dtype=dtype)


def seed_pairs(seed: int | None) -> Iterator[tf.Tensor]:
    """Independent int32 stateless seeds, one per `next`, drawn from `np.random.default_rng(seed)`.

    Example:
        >>> pairs = seed_pairs(0)
        >>> first, second = next(pairs), next(pairs)
    """
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    while True:
        yield tf.constant(rng.integers(0, _MAX_SEED, size=2), dtype=tf.int32)
