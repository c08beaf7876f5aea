"""Posterior families and priors of variational layers: KL against TFP and Monte Carlo, samples, a user's posterior."""

from __future__ import annotations

import math
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from tfp_arch.layers import DenseVariational, KLWeightCallback

tfd = tfp.distributions

FAMILIES = ["mean_field", "multivariate_normal_tril", "low_rank"]


def _randomise(layer: DenseVariational, seed: int) -> None:
    """Random values in every trainable variable, so that no covariance is diagonal and no prior is zero-mean."""
    rng = np.random.default_rng(seed)
    for variable in layer.trainable_variables:
        value = rng.normal(0.0, 0.4, variable.shape)
        if variable.name in ("posterior", "posterior_rho", "prior_rho"):
            value = value - 1.0
        variable.assign(value.astype("float32"))


def _layer(family: str, prior: str = "normal", d_in: int = 3, units: int = 2, seed: int = 0, **kwargs) -> DenseVariational:
    layer = DenseVariational(units, posterior_family=family, prior=prior, prior_scale=0.7, estimator="reparameterization",
                             posterior_rank=2, seed=seed, **kwargs)
    layer.build((None, d_in))
    _randomise(layer, seed)
    return layer


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("prior", ["standard_normal", "normal", "empirical_bayes", "trainable_normal"])
def test_closed_form_kl_equals_tfp_kl_divergence(family: str, prior: str) -> None:
    layer = _layer(family, prior)
    prior_distribution, posterior = layer.prior_distribution(), layer.family.distribution()
    if family == "mean_field":
        posterior = tfd.MultivariateNormalDiag(posterior.mean(), posterior.stddev())
    if family == "low_rank":
        posterior = tfd.MultivariateNormalTriL(posterior.mean(), tf.linalg.cholesky(posterior.covariance()))
    reference = tfd.kl_divergence(posterior, tfd.MultivariateNormalDiag(prior_distribution.mean(), prior_distribution.stddev()))
    assert float(layer.kl_divergence()) == pytest.approx(float(reference), rel=1e-4)


@pytest.mark.parametrize("family", ["multivariate_normal_tril", "low_rank"])
def test_samples_have_the_family_moments_and_agree_with_the_closed_form_kl(family: str) -> None:
    layer = _layer(family, "normal", seed=2)
    samples = layer.family.sample([40_000], tf.constant([3, 4])).numpy().reshape(40_000, -1).astype(np.float64)
    distribution = layer.family.distribution()
    covariance = distribution.covariance().numpy()
    variances = np.diag(covariance)
    np.testing.assert_array_less(np.abs(samples.mean(0) - distribution.mean().numpy()), 4.5 * np.sqrt(variances / 40_000))
    standard_error = np.sqrt((np.outer(variances, variances) + covariance**2) / 40_000)
    np.testing.assert_array_less(np.abs(np.cov(samples.T) - covariance), 4.5 * standard_error)
    terms = (distribution.log_prob(samples.astype("float32")) - layer.prior_distribution().log_prob(samples.astype("float32"))).numpy()
    assert abs(terms.mean() - float(layer.kl_divergence())) < 4 * terms.std() / math.sqrt(len(terms))


@pytest.mark.parametrize("family", ["mean_field", "multivariate_normal_tril"])
def test_scale_mixture_prior_uses_a_monte_carlo_kl(family: str) -> None:
    layer = _layer(family, "scale_mixture", kl_samples=20_000, prior_mixture_scales=[1.0, 0.1])
    distribution = layer.family.distribution()
    w = distribution.sample(200_000, seed=(5, 6))
    prior = tfd.MixtureSameFamily(tfd.Categorical(probs=[0.5, 0.5]), tfd.Normal([0.0, 0.0], [1.0, 0.1]))
    reference = tf.reduce_mean(distribution.log_prob(w) - tf.reduce_sum(prior.log_prob(w), -1))
    assert float(layer.kl_divergence()) == pytest.approx(float(reference), rel=0.03)


@pytest.mark.parametrize("family", ["multivariate_normal_tril", "low_rank"])
@pytest.mark.parametrize("estimator", ["reparameterization", "local_reparameterization"])
def test_output_moments_match_the_posterior(family: str, estimator: str) -> None:
    """Mean x~ @ E[W] and, per output, variance x~^T Cov(w_o) x~ (x~: inputs with a 1 for the bias)."""
    layer = DenseVariational(2, posterior_family=family, estimator=estimator, prior="normal", seed=1)
    layer.build((None, 3))
    _randomise(layer, 1)
    x = np.array([[0.5, -1.0, 2.0]], "float32")
    batch, calls = (1, 4000) if estimator == "reparameterization" else (4000, 1)

    @tf.function
    def draw() -> tf.Tensor:
        array = tf.TensorArray(tf.float32, size=calls)
        for i in tf.range(calls):
            array = array.write(i, layer(np.repeat(x, batch, 0)))
        return array.concat()

    draws = draw().numpy().astype(np.float64)
    x1 = np.append(x[0], 1.0)
    covariance = layer.family.distribution().covariance().numpy().reshape(4, 2, 4, 2)
    expected_mean = x1 @ layer.family.loc().numpy()
    expected_var = np.array([x1 @ covariance[:, o, :, o] @ x1 for o in range(2)])
    np.testing.assert_array_less(np.abs(draws.mean(0) - expected_mean), 4.5 * np.sqrt(expected_var / len(draws)))
    np.testing.assert_allclose(draws.var(0), expected_var, rtol=0.1)


@pytest.mark.slow
def test_full_covariance_layer_learns_a_linear_map_and_round_trips(tmp_path) -> None:
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(256, 2)).astype("float32")
    y = (x @ np.array([[1.5], [-2.0]]) + 0.5).astype("float32")
    layer = DenseVariational(1, posterior_family="multivariate_normal_tril", estimator="reparameterization",
                             scale_learning_rate_ratio=0.5, seed=0)
    model = keras.Sequential([keras.Input((2,)), layer])
    model.compile(keras.optimizers.Adam(0.05), "mse")
    model.fit(x, y, epochs=30, batch_size=64, verbose=0, callbacks=[KLWeightCallback(x)])
    np.testing.assert_allclose(layer.kernel_loc.numpy().ravel(), [1.5, -2.0], atol=0.1)
    assert DenseVariational.from_config(layer.get_config()).get_config() == layer.get_config()
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras").layers[0]
    np.testing.assert_allclose(loaded.family.scale_tril().numpy(), layer.family.scale_tril().numpy())
    assert float(loaded.kl_divergence()) == pytest.approx(float(layer.kl_divergence()), rel=1e-6)


def test_scale_learning_rate_ratio_keeps_the_initial_scale() -> None:
    """The same initial draws give the same posterior whatever the ratio (the low-rank factor is random)."""
    for family in ["multivariate_normal_tril", "low_rank"]:
        stddevs = []
        for ratio in (1.0, 0.2):
            keras.utils.set_random_seed(0)
            layer = DenseVariational(2, posterior_family=family, estimator="reparameterization",
                                     posterior_scale_init=0.05, scale_learning_rate_ratio=ratio, seed=0)
            layer.build((None, 3))
            stddevs.append(layer.family.distribution().stddev().numpy())
        np.testing.assert_allclose(stddevs[0], 0.05, rtol=0.02)
        np.testing.assert_allclose(stddevs[1], stddevs[0], rtol=1e-5)


def _covariance(distribution: tfd.Distribution) -> np.ndarray:
    """The covariance matrix, for the mean field from its diagonal."""
    if isinstance(distribution, tfd.Independent):
        return np.diag(np.square(distribution.stddev().numpy()))
    return distribution.covariance().numpy()


@pytest.mark.parametrize("family", FAMILIES)
def test_changing_the_scale_learning_rate_ratio_keeps_the_posterior(family: str, tmp_path) -> None:
    layer = _layer(family, scale_learning_rate_ratio=0.5)
    before = layer.family.distribution()
    mean, covariance = before.mean().numpy(), _covariance(before)
    layer.set_scale_learning_rate_ratio(0.2)
    after = layer.family.distribution()
    np.testing.assert_allclose(after.mean().numpy(), mean, rtol=1e-6)
    np.testing.assert_allclose(_covariance(after), covariance, rtol=1e-5, atol=1e-8)
    model = keras.Sequential([keras.Input((3,)), layer])
    model.save(tmp_path / "ratio.keras")
    loaded = keras.saving.load_model(tmp_path / "ratio.keras").layers[0]
    assert float(loaded.scale_ratio.numpy()) == pytest.approx(0.2)
    np.testing.assert_allclose(_covariance(loaded.family.distribution()), covariance, rtol=1e-5, atol=1e-8)


@keras.saving.register_keras_serializable(package="tests")
def posterior_mean_field(layer, kernel_size, bias_size, dtype):
    """TFP's `posterior_mean_field` from its regression tutorial, with a variable the layer owns."""
    n = kernel_size + bias_size
    c = np.log(np.expm1(1.0))
    params = layer.add_weight(shape=(2 * n,), initializer="random_normal", dtype=dtype, name="posterior_params")
    return lambda: tfd.Independent(tfd.Normal(params[:n], 1e-5 + tf.nn.softplus(c + params[n:])), 1)


@keras.saving.register_keras_serializable(package="tests")
def prior_trainable(layer, kernel_size, bias_size, dtype):
    """TFP's `prior_trainable`: a normal of unit scale with a learned mean."""
    params = layer.add_weight(shape=(kernel_size + bias_size,), initializer="zeros", dtype=dtype, name="prior_params")
    return lambda: tfd.Independent(tfd.Normal(params, 1.0), 1)


@pytest.mark.slow
def test_user_posterior_and_prior_functions_train_and_save(tmp_path) -> None:
    keras.utils.set_random_seed(1)
    layer = DenseVariational(1, make_posterior_fn=posterior_mean_field, make_prior_fn=prior_trainable,
                             estimator="reparameterization", kl_weight=1 / 64)
    model = keras.Sequential([keras.Input((3,)), layer])
    x = np.random.default_rng(1).normal(size=(64, 3)).astype("float32")
    q = layer.family.distribution()
    assert q.event_shape == (4,) and {v.name for v in layer.trainable_variables} == {"posterior_params", "prior_params"}
    expected = tfd.kl_divergence(q, layer.prior_distribution())
    assert float(layer.kl_divergence()) == pytest.approx(float(expected), rel=1e-6)
    model.compile("adam", "mse")
    model.fit(x, x.sum(1), epochs=2, verbose=0)
    assert np.abs(layer.prior_fn().mean().numpy()).max() > 0
    model.save(tmp_path / "custom.keras")
    loaded = keras.saving.load_model(tmp_path / "custom.keras").layers[0]
    assert loaded.make_posterior_fn is posterior_mean_field
    assert float(loaded.kl_divergence()) == pytest.approx(float(layer.kl_divergence()), rel=1e-6)


def test_user_posterior_without_registered_kl_falls_back_to_monte_carlo() -> None:
    def full_covariance(layer, kernel_size, bias_size, dtype):
        n = kernel_size + bias_size
        loc = layer.add_weight(shape=(n,), initializer="random_normal", name="loc")
        tril = layer.add_weight(shape=(n * (n + 1) // 2,), initializer="random_normal", name="tril")
        return lambda: tfd.MultivariateNormalTriL(loc, tfp.bijectors.FillScaleTriL()(tril))

    layer = DenseVariational(2, make_posterior_fn=full_covariance, prior="scale_mixture", estimator="reparameterization",
                             kl_samples=50_000, seed=0)
    layer.build((None, 2))
    q, p = layer.family.distribution(), layer.prior_distribution()
    w = q.sample(100_000, seed=(1, 2))
    assert float(layer.kl_divergence()) == pytest.approx(float(tf.reduce_mean(q.log_prob(w) - p.log_prob(w))), rel=0.03)


@pytest.mark.slow
def test_trainable_normal_prior_follows_the_posterior() -> None:
    keras.utils.set_random_seed(2)
    layer = DenseVariational(1, prior="trainable_normal", kl_weight=1.0, seed=0)
    model = keras.Sequential([keras.Input((2,)), layer])
    x = np.random.default_rng(2).normal(size=(128, 2)).astype("float32")
    model.compile(keras.optimizers.Adam(0.05), "mse")
    before = float(layer.kl_divergence())
    model.fit(x, x @ np.array([2.0, -1.0], "float32"), epochs=20, batch_size=32, verbose=0)
    np.testing.assert_allclose(layer.prior_loc.numpy()[:2, 0], [2.0, -1.0], atol=0.3)
    assert float(layer.kl_divergence()) < before


@pytest.mark.parametrize(
    "kwargs, argument",
    [({"posterior_family": "gaussian"}, "posterior_family"), ({"posterior_family": "low_rank", "posterior_rank": 0}, "posterior_rank"),
     ({"posterior_family": "multivariate_normal_tril", "estimator": "flipout"}, "estimator"),
     ({"make_posterior_fn": 3}, "make_posterior_fn")],
)
def test_invalid_posterior_arguments_name_the_argument(kwargs: dict, argument: str) -> None:
    with pytest.raises(ValueError, match=f"`{argument}`"):
        DenseVariational(3, **kwargs)
