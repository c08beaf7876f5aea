"""The bnn demo: the epistemic band widens in the gap of the embedded 1-D regression data."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import pytest

from tfp_arch.data import Dataset, make_synthetic
from tfp_arch.plugins.bnn import BayesianMLP
from tfp_arch.plugins.bnn.activations import gaussian_bump
from tfp_arch.plugins.bnn.plot import _widest_gap

X_GAP = np.linspace(-0.4, 0.4, 81, dtype="float32")[:, None]
X_DATA = np.concatenate([np.linspace(-2.0, -0.5, 150), np.linspace(0.5, 2.0, 150)]).astype("float32")[:, None]


@pytest.fixture(scope="module")
def gap() -> Dataset:
    return make_synthetic("gap_regression")


def _train(dataset: Dataset, **overrides: object) -> BayesianMLP:
    keras.utils.set_random_seed(0)
    suggested = dataset.suggested_hyperparameters["bnn"]
    model = BayesianMLP(**{**BayesianMLP.hyperparameters_for(dataset), **suggested, **overrides})
    model.compile()
    model.fit(dataset.x_train, dataset.y_train, epochs=BayesianMLP.default_epochs, verbose=0)
    return model


def _epistemic_ratio(model: BayesianMLP) -> float:
    """Mean epistemic std inside the gap over its mean on the data intervals."""
    inside = model.predictive_moments(X_GAP, num_samples=200, seed=1)["epistemic_std"].mean()
    outside = model.predictive_moments(X_DATA, num_samples=200, seed=1)["epistemic_std"].mean()
    return float(inside / outside)


@pytest.fixture(scope="module")
def demo(gap: Dataset) -> BayesianMLP:
    return _train(gap)


def test_demo_configuration_travels_with_the_gap_data_not_its_name(gap: Dataset) -> None:
    assert gap.suggested_hyperparameters == {"bnn": {"likelihood": "heteroscedastic", "activation": "gaussian_bump"}}
    renamed = Dataset("synthetic:gap_regression", gap.x_train, gap.x_test, gap.y_train, gap.y_test, kind="regression")
    assert BayesianMLP.hyperparameters_for(renamed) == BayesianMLP.hyperparameters_for(gap) == {"likelihood": "heteroscedastic"}
    assert BayesianMLP().activation == "relu" and BayesianMLP().hidden_units == [50]


def test_gap_data_has_no_inputs_in_the_gap(gap: Dataset) -> None:
    x = np.concatenate([gap.x_train, gap.x_test]).reshape(-1)
    assert len(x) == 3000 and not np.any(np.abs(x) < 0.5) and np.all(np.abs(x) <= 2.0)
    low, high = _widest_gap(gap.x_train.reshape(-1))
    assert -0.52 < low <= -0.5 and 0.5 <= high < 0.52


def test_gaussian_bump_is_exp_of_minus_squared_scaled_input() -> None:
    z = np.linspace(-0.5, 0.5, 11).astype("float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(gaussian_bump(z)), np.exp(-np.square(z / 0.1)), rtol=1e-6)


def _noise(x: np.ndarray) -> np.ndarray:
    """The generating process's noise standard deviation, 0.1 + 0.2 |x|."""
    return 0.1 + 0.2 * np.abs(x.reshape(-1))


@pytest.mark.slow
def test_epistemic_band_widens_in_the_gap(demo: BayesianMLP) -> None:
    """Bounds from the generating process, not from a run: in the gap the function is unknown, so
    the model must be less sure of it than the noise at the gap's edges (0.2); on the data, 1,350
    points per side pin a smooth function down to well under the noise there (half its mean, 0.175).
    Together they make the band in the gap wider than on the data."""
    inside = demo.predictive_moments(X_GAP, num_samples=200, seed=1)
    outside = demo.predictive_moments(X_DATA, num_samples=200, seed=1)
    assert inside["epistemic_std"].mean() > float(_noise(np.array([0.5]))[0])
    assert outside["epistemic_std"].mean() < 0.5 * _noise(X_DATA).mean()


@pytest.mark.slow
def test_epistemic_band_grows_beyond_the_data_on_both_sides(demo: BayesianMLP) -> None:
    """Beyond the training inputs (|x| > 2), on the plot's margin up to 3, the function is as unknown
    as in the gap: the mean epistemic standard deviation on each side is larger than on the data,
    and larger than at the data's edge on that side."""

    def epistemic(low: float, high: float) -> float:
        x = np.linspace(low, high, 31, dtype="float32")[:, None]
        return float(demo.predictive_moments(x, num_samples=200, seed=1)["epistemic_std"].mean())

    on_data = float(demo.predictive_moments(X_DATA, num_samples=200, seed=1)["epistemic_std"].mean())
    left, right = epistemic(-3.0, -2.4), epistemic(2.4, 3.0)
    assert left > 1.5 * on_data and right > 1.5 * on_data
    assert left > epistemic(-2.0, -1.7) and right > epistemic(1.7, 2.0)


def test_bump_centres_start_across_and_beyond_the_inputs() -> None:
    """The first layer's bias means start uniform in [-2, 2] for bumps (zeros for ReLU), so the centres
    -b / w reach beyond the standardised inputs on both sides; the setting survives a config round trip."""
    keras.utils.set_random_seed(0)
    model = BayesianMLP(hidden_units=[50], activation="gaussian_bump")
    model.build((None, 1))
    kernel, _, bias, _ = (keras.ops.convert_to_numpy(t) for t in model.variational_layers[0].posterior_parameters())
    assert np.all(np.abs(bias) <= 2.0) and bias.std() > 0.8
    centres = -bias / kernel[0]
    assert (centres < -2.5).sum() >= 5 and (centres > 2.5).sum() >= 5 and (np.abs(centres) < 1.5).sum() >= 5
    layer = model.variational_layers[0]
    assert type(layer).from_config(layer.get_config()).bias_initializer.get_config()["maxval"] == 2.0
    relu = BayesianMLP(hidden_units=[8])
    relu.build((None, 1))
    assert not np.any(keras.ops.convert_to_numpy(relu.variational_layers[0].posterior_parameters()[2]))


@pytest.mark.slow
def test_learned_noise_on_the_data_matches_the_generating_noise(demo: BayesianMLP) -> None:
    """The mean aleatoric scale on the data within 25% of the true mean noise: the noise is
    estimated from 2,700 residuals to a few percent, so 25% leaves room for the fit's own error."""
    aleatoric = demo.predictive_moments(X_DATA, num_samples=200, seed=1)["aleatoric_std"].mean()
    truth = _noise(X_DATA).mean()
    assert 0.75 * truth < aleatoric < 1.25 * truth


@pytest.mark.slow
def test_relu_network_does_not_widen_in_the_gap(gap: Dataset) -> None:
    """A one-hidden-layer mean-field ReLU network cannot be more uncertain in between two clusters
    of data than on them (Foong et al. 2019), so the widening above comes from the localised units."""
    assert _epistemic_ratio(_train(gap, activation="relu")) < 1.0


@pytest.mark.slow
def test_demo_model_round_trips_through_keras_file(demo: BayesianMLP, tmp_path) -> None:
    path = tmp_path / "demo.keras"
    demo.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.activation == "gaussian_bump"
    np.testing.assert_allclose(
        loaded.sample_outputs(X_GAP, num_samples=8, seed=3).numpy(),
        demo.sample_outputs(X_GAP, num_samples=8, seed=3).numpy(),
        rtol=1e-5, atol=1e-6,
    )
