"""The default `BayesianMLP` on a small regression problem whose answer is known in closed form.

y = sin(2 x1) + x2^2 / 2 + sigma * eps with sigma = 0.3, inputs uniform on [-2, 2]^2, 300 training
rows, `BayesianMLP()` with no arguments trained by `fit(x, y, epochs=40)`.

Tolerances come from the problem, not from a run:
- Predictive mean: an estimator with p effective parameters has a mean squared error of about
  sigma^2 p / n against the true function, so an RMSE below sigma / 2 allows p up to n / 4 = 75,
  far more than a smooth 2-D function needs. The best linear fit misses by about 0.6 (its RMSE is
  computed below, so the bound is shown to be one that an underfit model fails).
- Noise scale: from n residuals the standard deviation is estimated to about sigma / sqrt(2n), 4%;
  a function error e below sigma / 2 inflates it to at most sqrt(sigma^2 + e^2) < 1.12 sigma. So the
  learned aleatoric scale must be within 25% of sigma; an overfit model (scale too small) or an
  underfit one (too large) is outside.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import pytest

from tfp_arch.plugins.bnn import BayesianMLP

SIGMA = 0.3
N = 300


def _function(x: np.ndarray) -> np.ndarray:
    return np.sin(2.0 * x[:, 0]) + 0.5 * np.square(x[:, 1])


def _data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2.0, 2.0, size=(n, 2)).astype("float32")
    return x, (_function(x) + SIGMA * rng.standard_normal(n)).astype("float32")


def _grid() -> np.ndarray:
    """Points inside the data's range (away from the edges, where any fit extrapolates)."""
    axis = np.linspace(-1.8, 1.8, 19)
    return np.stack(np.meshgrid(axis, axis), axis=-1).reshape(-1, 2).astype("float32")


@pytest.fixture(scope="module")
def fitted() -> BayesianMLP:
    x, y = _data(N, seed=0)
    keras.utils.set_random_seed(0)
    model = BayesianMLP()
    model.fit(x, y, epochs=40, verbose=0)
    return model


def test_an_underfit_linear_model_fails_the_mean_bound() -> None:
    x, y = _data(N, seed=0)
    design = np.column_stack([x, np.ones(N)])
    coefficients, *_ = np.linalg.lstsq(design, y, rcond=None)
    grid = _grid()
    linear = np.column_stack([grid, np.ones(len(grid))]) @ coefficients
    assert np.sqrt(np.mean(np.square(linear - _function(grid)))) > SIGMA / 2


@pytest.mark.slow
def test_default_model_predictive_mean_is_close_to_the_true_function(fitted: BayesianMLP) -> None:
    grid = _grid()
    moments = fitted.predictive_moments(grid, num_samples=200, seed=0)
    rmse = float(np.sqrt(np.mean(np.square(moments["mean"] - _function(grid)))))
    assert rmse < SIGMA / 2, rmse


@pytest.mark.slow
def test_default_model_learns_the_noise_scale(fitted: BayesianMLP) -> None:
    moments = fitted.predictive_moments(_grid(), num_samples=200, seed=0)
    aleatoric = float(np.mean(moments["aleatoric_std"]))
    assert 0.75 * SIGMA < aleatoric < 1.25 * SIGMA, aleatoric
