"""The bnn architecture: KL weight, vectorised prediction against a loop, metrics, saving, plots."""

from __future__ import annotations

import math
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import pytest
from tfp_arch.plugins.bnn import BayesianMLP
from tfp_arch.plugins.bnn.likelihoods import likelihood_head
from tfp_arch.plugins.bnn.metrics import expected_calibration_error

from tfp_arch.data import Dataset, make_synthetic
from tfp_arch.losses import NegativeLogLikelihood


@pytest.fixture(scope="module")
def gap() -> Dataset:
    return make_synthetic("gap_regression", n=300)


@pytest.fixture(scope="module")
def trained(gap: Dataset) -> BayesianMLP:
    keras.utils.set_random_seed(0)
    model = BayesianMLP(hidden_units=[16], likelihood="gaussian", seed=0)
    model.fit(gap.x_train, gap.y_train, epochs=5, verbose=0)
    return model


def _blobs(n: int = 400) -> Dataset:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, n)
    centres = np.array([[0.0, 3.0], [3.0, -2.0], [-3.0, -2.0]])
    x = (centres[labels] + rng.normal(size=(n, 2))).astype("float32")
    return Dataset("blobs", x[:300], x[300:], labels[:300], labels[300:], kind="classification")


@pytest.mark.slow
def test_kl_weight_is_one_over_the_number_of_training_examples(trained: BayesianMLP, gap: Dataset) -> None:
    for layer in trained.variational_layers:
        assert float(layer.kl_weight_variable) == pytest.approx(1.0 / len(gap.x_train))
    fixed = BayesianMLP(hidden_units=[4], kl_weight=0.5)
    fixed.adapt(gap.x_train, gap.y_train)
    assert float(fixed.variational_layers[0].kl_weight_variable) == pytest.approx(0.5)


@pytest.mark.slow
def test_standardisation_is_computed_on_the_training_data(trained: BayesianMLP, gap: Dataset) -> None:
    assert float(trained.x_mean.numpy()[0]) == pytest.approx(gap.x_train.mean(), rel=1e-4, abs=1e-6)
    assert float(trained.x_scale.numpy()[0]) == pytest.approx(gap.x_train.std(), rel=1e-4)
    assert float(trained.y_mean.numpy()) == pytest.approx(gap.y_train.mean(), rel=1e-4, abs=1e-6)
    assert float(trained.y_scale.numpy()) == pytest.approx(gap.y_train.std(), rel=1e-4)


def _loop_predictions(model: BayesianMLP, x: np.ndarray, num_samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample means and scales computed one weight sample at a time with NumPy."""
    weights = [(k.numpy().astype(np.float64), b.numpy().astype(np.float64)) for k, b in model.sample_weights(num_samples, seed)]
    noise = math.log1p(math.exp(float(model.noise_rho.numpy()))) + model.min_scale
    y_mean, y_scale = float(model.y_mean.numpy()), float(model.y_scale.numpy())
    locs = []
    for s in range(num_samples):
        hidden = (x - model.x_mean.numpy()) / model.x_scale.numpy()
        for i, (kernels, biases) in enumerate(weights):
            hidden = hidden @ kernels[s] + biases[s]
            if i < len(weights) - 1:
                hidden = np.maximum(hidden, 0.0)
        locs.append(hidden[:, 0] * y_scale + y_mean)
    locs = np.array(locs)
    return locs, np.full_like(locs, noise * y_scale)


def test_vectorised_predictive_log_likelihood_equals_loop_over_samples(trained: BayesianMLP, gap: Dataset) -> None:
    num_samples, seed = 30, 11
    x, y = gap.x_test.astype(np.float64), gap.y_test.astype(np.float64)
    locs, scales = _loop_predictions(trained, x, num_samples, seed)
    log_lik = -0.5 * np.square((y - locs) / scales) - np.log(scales) - 0.5 * math.log(2 * math.pi)
    expected = np.mean([np.log(np.mean(np.exp(column))) for column in log_lik.T])
    metrics = trained.evaluate_metrics(gap.x_test, gap.y_test, num_samples=num_samples, seed=seed)
    assert metrics["log_likelihood"] == pytest.approx(expected, rel=1e-4)
    assert metrics["rmse"] == pytest.approx(np.sqrt(np.mean(np.square(y - locs.mean(axis=0)))), rel=1e-4)
    cdf = np.array([[0.5 * math.erfc(-(y[n] - locs[s, n]) / (scales[s, n] * math.sqrt(2))) for n in range(len(y))]
                    for s in range(num_samples)]).mean(axis=0)
    assert metrics["coverage_90"] == pytest.approx(np.mean((cdf >= 0.05) & (cdf <= 0.95)))
    mixture = trained.predict_distribution(gap.x_test, num_samples=num_samples, seed=seed)
    assert float(np.mean(mixture.log_prob(gap.y_test))) == pytest.approx(expected, rel=1e-4)


def test_predictive_moments_follow_the_law_of_total_variance(trained: BayesianMLP, gap: Dataset) -> None:
    moments = trained.predictive_moments(gap.x_test, num_samples=50, seed=3)
    mixture = trained.predict_distribution(gap.x_test, num_samples=50, seed=3)
    np.testing.assert_allclose(moments["mean"], mixture.mean().numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(moments["std"], mixture.stddev().numpy(), rtol=1e-3)
    locs, scales = _loop_predictions(trained, gap.x_test.astype(np.float64), 50, 3)
    np.testing.assert_allclose(moments["epistemic_std"], locs.std(axis=0), rtol=1e-4)
    np.testing.assert_allclose(moments["aleatoric_std"], np.sqrt(np.mean(np.square(scales), axis=0)), rtol=1e-4)
    assert np.all(moments["epistemic_std"] > 0)


def test_keras_file_round_trip_keeps_standardisation_and_predictions(tmp_path, trained: BayesianMLP, gap: Dataset) -> None:
    path = tmp_path / "bnn.keras"
    trained.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, BayesianMLP) and loaded.is_adapted
    assert loaded.get_config() == trained.get_config()
    np.testing.assert_allclose(
        loaded.sample_outputs(gap.x_test, 8, seed=1).numpy(), trained.sample_outputs(gap.x_test, 8, seed=1).numpy(), rtol=1e-6
    )
    assert isinstance(loaded.loss, NegativeLogLikelihood)
    outputs = trained.sample_outputs(gap.x_test, 1, seed=2)[0]
    assert float(loaded.loss(gap.y_test, outputs)) == pytest.approx(float(trained.loss(gap.y_test, outputs)), rel=1e-6)


def test_regression_loss_is_the_gaussian_negative_log_likelihood() -> None:
    rng = np.random.default_rng(4)
    y = rng.normal(size=7)
    params = np.stack([rng.normal(size=7), rng.uniform(0.1, 2.0, size=7)], axis=-1)
    expected = 0.5 * ((y - params[:, 0]) / params[:, 1]) ** 2 + np.log(params[:, 1]) + 0.5 * math.log(2 * math.pi)
    y32, params32 = y.astype("float32"), params.astype("float32")
    elbo = BayesianMLP(hidden_units=[4], variance_weighting=0.0).default_compile_kwargs()["loss"]
    assert float(elbo(y32[:, None], params32)) == pytest.approx(expected.mean(), rel=1e-5)
    # The default beta-NLL weights each example by scale ** (2 * 0.5), normalised to mean 1.
    loss = BayesianMLP(hidden_units=[4]).default_compile_kwargs()["loss"]
    weight = params[:, 1] / params[:, 1].mean()
    assert float(loss(y32[:, None], params32)) == pytest.approx((weight * expected).mean(), rel=1e-5)
    np.testing.assert_allclose(-likelihood_head("gaussian").log_prob(params32, y32).numpy(), expected, rtol=1e-5)


@pytest.mark.slow
def test_heteroscedastic_fit_with_jit_compile(gap: Dataset) -> None:
    keras.utils.set_random_seed(1)
    model = BayesianMLP(hidden_units=[16], likelihood="heteroscedastic", estimator="flipout", seed=1)
    model.compile(jit_compile=True)
    history = model.fit(gap.x_train, gap.y_train, epochs=8, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    assert history.history["loss"][-1] < history.history["loss"][0]
    metrics = model.evaluate_metrics(gap.x_test, gap.y_test, num_samples=20, seed=4)
    outputs = model.sample_outputs(gap.x_test, 20, seed=4).numpy().astype(np.float64)
    y = gap.y_test.reshape(-1).astype(np.float64)
    cdf = np.mean([[0.5 * math.erfc(-(y[n] - loc[n]) / (scale[n] * math.sqrt(2))) for n in range(len(y))]
                   for loc, scale in zip(outputs[..., 0], outputs[..., 1])], axis=0)
    assert metrics["coverage_50"] == pytest.approx(np.mean((cdf >= 0.25) & (cdf <= 0.75)))


@pytest.mark.slow
def test_classification_with_categorical_likelihood(tmp_path) -> None:
    data = _blobs()
    arguments = BayesianMLP.hyperparameters_for(data)
    assert arguments == {"likelihood": "categorical", "num_classes": 3}
    keras.utils.set_random_seed(2)
    model = BayesianMLP(hidden_units=[16], **arguments)
    model.compile(keras.optimizers.Adam(0.01))
    model.fit(data.x_train, data.y_train, epochs=10, verbose=0)
    metrics = model.evaluate_metrics(data.x_test, data.y_test, num_samples=40, seed=0)
    probs = model.predictive_moments(data.x_test, num_samples=40, seed=0)["probs"]
    assert metrics["accuracy"] == pytest.approx(np.mean(probs.argmax(1) == data.y_test))
    assert metrics["nll"] == pytest.approx(-np.mean(np.log(probs[np.arange(len(probs)), data.y_test])), rel=1e-4)
    assert metrics["accuracy"] > 0.9
    mixture = model.predict_distribution(data.x_test, num_samples=40, seed=0)
    np.testing.assert_allclose(np.exp(mixture.log_prob(data.y_test).numpy()), probs[np.arange(len(probs)), data.y_test], rtol=1e-4)
    assert model.plot(str(tmp_path / "calibration.png"), data)


def test_expected_calibration_error_by_hand() -> None:
    probs = np.array([[0.95, 0.05], [0.85, 0.15], [0.35, 0.65], [0.6, 0.4]])
    labels = np.array([0, 1, 1, 0])
    # bins: 0.95 -> [0.9, 1] (acc 1), 0.85 -> [0.8, 0.9) (acc 0), 0.65 and 0.6 -> [0.6, 0.7) (acc 1, conf 0.625)
    expected = 0.25 * 0.05 + 0.25 * 0.85 + 0.5 * (1 - 0.625)
    assert expected_calibration_error(probs, labels) == pytest.approx(expected)


def test_plot_writes_a_png_of_the_bands(tmp_path, trained: BayesianMLP, gap: Dataset) -> None:
    path = trained.plot(str(tmp_path / "bands.png"), gap)
    with open(path, "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"


def test_hyperparameters_for_the_embedded_data(gap: Dataset) -> None:
    assert BayesianMLP.hyperparameters_for(gap) == {"likelihood": "heteroscedastic"}
    assert gap.suggested_hyperparameters["bnn"]["activation"] == "gaussian_bump"
    assert BayesianMLP.architecture_name == "bnn" and BayesianMLP.default_data == "synthetic:gap_regression"
    assert BayesianMLP().hidden_units == [50] and BayesianMLP().likelihood == "heteroscedastic"


@pytest.mark.parametrize(
    "kwargs, argument",
    [({"likelihood": "poisson"}, "likelihood"), ({"likelihood": "categorical"}, "num_classes"),
     ({"hidden_units": [0]}, "hidden_units"), ({"noise_scale_init": 0.0}, "noise_scale_init")],
)
def test_invalid_arguments_name_the_argument(kwargs: dict, argument: str) -> None:
    with pytest.raises(ValueError, match=f"`{argument}`"):
        BayesianMLP(**kwargs)


@pytest.mark.slow
def test_metrics_over_row_chunks_equal_the_metrics_of_all_rows_at_once():
    """`evaluate_metrics` goes through a large test part in chunks of rows; every metric must equal
    `regression_metrics` of all rows' sampled outputs together (the same weight draws)."""
    from tfp_arch.plugins.bnn import model as bnn_model
    from tfp_arch.plugins.bnn.metrics import regression_metrics

    rng = np.random.default_rng(0)
    x = rng.normal(size=(3000, 2)).astype("float32")
    y = (x[:, 0] + 0.3 * rng.normal(size=3000)).astype("float32")
    model = BayesianMLP(hidden_units=[8], seed=0)
    model.adapt(x, y)
    outputs = model.sample_outputs(x, num_samples=20, seed=3).numpy()
    expected = regression_metrics(y, outputs[..., 0], outputs[..., 1])
    budget = bnn_model._ACTIVATION_BUDGET
    try:
        bnn_model._ACTIVATION_BUDGET = 700 * 20 * 8  # chunks of 700 rows: 20 samples x 8 units
        got = model.evaluate_metrics(x, y, num_samples=20, seed=3)
    finally:
        bnn_model._ACTIVATION_BUDGET = budget
    assert got.keys() == expected.keys()
    for key in expected:
        assert got[key] == pytest.approx(expected[key], rel=1e-6, abs=1e-9), key
