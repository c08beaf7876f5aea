"""The `maf` architecture: maximum likelihood fits, raw-data densities, saving, conditional data, plots."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from tfp_arch.plugins.maf import MaskedAutoregressiveFlowModel

from tfp_arch.data.synthetic import two_moons
from tfp_arch.declaration import describe_class

MEAN = np.array([3.0, -1.0], "float32")
COV = np.array([[4.0, 1.2], [1.2, 1.0]], "float32")


def _gaussian(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (MEAN + rng.normal(size=(n, 2)) @ np.linalg.cholesky(COV).T).astype("float32")


def _gaussian_log_density(x: np.ndarray) -> np.ndarray:
    diff = x - MEAN
    quad = np.einsum("ni,ij,nj->n", diff, np.linalg.inv(COV), diff)
    return -0.5 * quad - 0.5 * np.log(np.linalg.det(2 * math.pi * COV))


def _small(**kwargs) -> MaskedAutoregressiveFlowModel:
    return MaskedAutoregressiveFlowModel(num_transforms=2, hidden_units=[16, 16], **kwargs)


@pytest.fixture(scope="module")
def gaussian_fit():
    keras.utils.set_random_seed(0)
    model = _small()
    model.fit(_gaussian(4000, 0), epochs=15, verbose=0)
    return model


@pytest.mark.slow
def test_fit_to_a_gaussian_recovers_mean_and_covariance(gaussian_fit):
    samples = gaussian_fit.sample(40000, seed=1)
    # Tolerance: 0.1 for the mean and 0.15 (absolute) per covariance entry, a few Monte Carlo
    # standard errors of a 4000-point fit plus 40000 samples, far below the scale of the data.
    np.testing.assert_allclose(samples.mean(axis=0), MEAN, atol=0.1)
    np.testing.assert_allclose(np.cov(samples.T), COV, atol=0.15)


@pytest.mark.slow
def test_fitted_log_likelihood_is_close_to_the_true_one(gaussian_fit):
    test = _gaussian(2000, 1)
    truth = float(np.mean(_gaussian_log_density(test)))
    fitted = gaussian_fit.evaluate_metrics(test)["log_likelihood"]
    assert abs(fitted - truth) < 0.05


def test_raw_log_prob_includes_the_standardisation_jacobian(gaussian_fit):
    x = tf.constant(_gaussian(64, 2))
    with tf.GradientTape() as tape:
        tape.watch(x)
        z = gaussian_fit.flow.inverse(gaussian_fit.standardize(x))
    _, log_det = np.linalg.slogdet(tape.batch_jacobian(z, x).numpy().astype("float64"))
    z = z.numpy().astype("float64")
    expected = -0.5 * np.sum(z**2, axis=1) - math.log(2 * math.pi) + log_det
    np.testing.assert_allclose(gaussian_fit.log_prob(x.numpy()), expected, rtol=1e-4, atol=1e-4)
    standardized = gaussian_fit.flow.log_prob(gaussian_fit.standardize(x)).numpy()
    data = _gaussian(4000, 0)
    np.testing.assert_allclose(
        gaussian_fit.log_prob(x.numpy()), standardized - np.sum(np.log(data.std(axis=0))), rtol=1e-4, atol=1e-4
    )


def test_metrics_are_consistent(gaussian_fit):
    test = _gaussian(500, 3)
    metrics = gaussian_fit.evaluate_metrics(test)
    log_std = float(np.sum(np.log(gaussian_fit.data_std.numpy())))
    assert metrics["log_likelihood"] == pytest.approx(float(np.mean(gaussian_fit.log_prob(test))), rel=1e-6)
    assert metrics["log_likelihood_standardized"] == pytest.approx(metrics["log_likelihood"] + log_std, rel=1e-5)
    assert metrics["bits_per_dim"] == pytest.approx(-metrics["log_likelihood"] / (2 * math.log(2)), rel=1e-6)


def test_adapt_stores_the_training_statistics(gaussian_fit):
    data = _gaussian(4000, 0)
    np.testing.assert_allclose(gaussian_fit.data_mean.numpy(), data.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(gaussian_fit.data_std.numpy(), data.std(axis=0), rtol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("kwargs", [{"batch_norm": True, "order": "random"}, {"context_size": 1}])
def test_keras_file_round_trip_keeps_log_prob_and_samples(tmp_path, kwargs):
    keras.utils.set_random_seed(1)
    model = _small(**kwargs)
    x = _gaussian(300, 4)
    context = np.linspace(-1, 1, 300, dtype="float32")[:, None] if "context_size" in kwargs else None
    model.fit(x if context is None else (context, x), epochs=2, verbose=0)
    path = tmp_path / "maf.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, MaskedAutoregressiveFlowModel)
    np.testing.assert_allclose(loaded.log_prob(x, context=context), model.log_prob(x, context=context), rtol=1e-5)
    c = None if context is None else np.array([0.5], "float32")
    np.testing.assert_allclose(loaded.sample(20, seed=3, context=c), model.sample(20, seed=3, context=c), rtol=1e-5)


@pytest.mark.slow
def test_conditional_fit_learns_the_dependence_on_the_context():
    keras.utils.set_random_seed(2)
    rng = np.random.default_rng(5)
    context = rng.choice([-1.0, 1.0], size=(3000, 1)).astype("float32")
    x = (np.concatenate([2.0 * context, -context], axis=1) + 0.3 * rng.normal(size=(3000, 2))).astype("float32")
    model = _small(context_size=1)
    model.fit((context, x), epochs=8, verbose=0)
    for c in (-1.0, 1.0):
        samples = model.sample(4000, seed=0, context=np.array([c], "float32"))
        np.testing.assert_allclose(samples.mean(axis=0), [2.0 * c, -c], atol=0.2)
    point = np.array([[2.0, -1.0]], "float32")
    assert model.log_prob(point, context=[[1.0]])[0] > model.log_prob(point, context=[[-1.0]])[0] + 5.0
    metrics = model.evaluate_metrics((context[:500], x[:500]))
    assert np.isfinite(metrics["log_likelihood"])


@pytest.mark.slow
def test_training_with_jit_compile_matches_the_model_math():
    keras.utils.set_random_seed(3)
    model = _small(batch_norm=True)
    model.compile(jit_compile=True)
    x = _gaussian(800, 6)
    history = model.fit(x, epochs=3, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    assert history.history["loss"][-1] < history.history["loss"][0]
    norm = model.flow.norms[0]
    assert not np.allclose(norm.moving_variance.numpy(), 1.0)
    evaluated = model.evaluate(x, verbose=0, return_dict=True)["loss"]
    assert evaluated == pytest.approx(-float(np.mean(model.log_prob(x))), rel=1e-3)


def test_unsupervised_fit_rejects_targets():
    with pytest.raises(ValueError, match="unsupervised"):
        _small().fit(_gaussian(50, 0), np.zeros(50, "float32"), epochs=1, verbose=0)


@pytest.mark.slow
def test_plots_are_written(tmp_path):
    keras.utils.set_random_seed(4)
    data = two_moons(n=400)
    model = _small()
    model.fit(data.x_train, epochs=1, verbose=0)
    path = model.plot(str(tmp_path / "moons.png"), data)
    assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    wide = _small()
    wide.fit(np.random.default_rng(0).normal(size=(300, 5)).astype("float32"), epochs=1, verbose=0)
    path = wide.plot(str(tmp_path / "pairs.png"))
    assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_xla_is_on_by_default_only_with_a_gpu():
    model = MaskedAutoregressiveFlowModel(num_transforms=1, hidden_units=[4])
    model.compile()
    assert model.jit_compile == bool(tf.config.list_physical_devices("GPU"))


@pytest.mark.slow
def test_constructor_forwards_the_flow_arguments():
    model = MaskedAutoregressiveFlowModel(num_transforms=1, hidden_units=[4], batch_norm_momentum=0.5, order="fixed")
    assert model.flow.batch_norm_momentum == 0.5 and model.flow.order == "fixed"
    assert {"num_transforms", "log_scale_bound", "batch_norm_momentum"} <= set(describe_class(type(model)).names)
    with pytest.raises(ValueError, match="hidden_unit"):
        MaskedAutoregressiveFlowModel(hidden_unit=[4])
