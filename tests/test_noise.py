"""The Philox noise helpers: distributions, fresh draws per call, and use under XLA."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfp_arch.layers.noise import random_signs, standard_normal

N = 200_000


def test_standard_normal_moments() -> None:
    draws = standard_normal((N,), "float32", keras.random.SeedGenerator(3)).numpy()
    assert abs(draws.mean()) < 4.5 / np.sqrt(N)
    assert abs(draws.var() - 1.0) < 4.5 * np.sqrt(2.0 / N)
    assert abs(np.mean(draws > 1.0) - 0.158655) < 4.5 * np.sqrt(0.158655 * 0.841345 / N)


def test_random_signs_are_fair_plus_or_minus_one() -> None:
    signs = random_signs((N,), "float32", keras.random.SeedGenerator(4)).numpy()
    assert set(np.unique(signs)) == {-1.0, 1.0}
    assert abs(np.mean(signs == 1.0) - 0.5) < 4.5 * 0.5 / np.sqrt(N)


@pytest.mark.slow
def test_each_call_draws_afresh_and_a_seed_repeats() -> None:
    first = keras.random.SeedGenerator(5)
    a, b = standard_normal((8,), "float32", first), standard_normal((8,), "float32", first)
    again = standard_normal((8,), "float32", keras.random.SeedGenerator(5))
    assert not np.allclose(a, b)
    np.testing.assert_array_equal(a, again)


@pytest.mark.slow
def test_draws_under_jit_compile_advance_the_seed() -> None:
    generator = keras.random.SeedGenerator(6)

    @tf.function(jit_compile=True)
    def draw():
        return standard_normal((4,), "float32", generator), random_signs((4,), "float32", generator)

    (a, _), (b, _) = draw(), draw()
    assert not np.allclose(a, b)
