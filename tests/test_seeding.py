"""The seed helpers every stateless draw goes through."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from tfp_arch.seeding import seed_pair, seed_pairs


def test_seed_pair_is_the_seed_and_zero_in_the_dtype_asked():
    assert seed_pair(7).numpy().tolist() == [7, 0] and seed_pair(7).dtype.name == "int32"
    assert seed_pair(7, "int64").dtype.name == "int64"


def test_seed_pair_of_none_follows_keras_global_seed():
    keras.utils.set_random_seed(3)
    first = seed_pair(None).numpy()
    keras.utils.set_random_seed(3)
    assert np.array_equal(seed_pair(None).numpy(), first)


@pytest.mark.slow
def test_seed_pairs_are_the_generator_draws_in_order():
    rng = np.random.default_rng(5)
    pairs = seed_pairs(5)
    for _ in range(3):
        assert next(pairs).numpy().tolist() == rng.integers(0, 2**31 - 1, size=2).tolist()
