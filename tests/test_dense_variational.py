"""DenseVariational: KL against closed forms and Monte Carlo, gradient estimators, saving, jit, KL weight."""

from __future__ import annotations

import math
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import max_gradient_z_score

from tfp_arch.layers.variational.dense import DenseVariational, inverse_softplus
from tfp_arch.layers.kl.weight import KLWeightCallback, count_examples, set_kl_weight


def _layer(prior: str = "standard_normal", d_in: int = 3, units: int = 2, seed: int = 0, **kwargs) -> DenseVariational:
    layer = DenseVariational(units, prior=prior, seed=seed, **kwargs)
    layer.build((None, d_in))
    rng = np.random.default_rng(seed)
    layer.assign_posterior(
        kernel_loc=rng.normal(0.0, 0.7, (d_in, units)),
        kernel_rho=inverse_softplus(1.0) + rng.normal(0.0, 0.5, (d_in, units)),
        bias_loc=rng.normal(0.0, 0.7, (units,)),
        bias_rho=inverse_softplus(0.5) + rng.normal(0.0, 0.5, (units,)),
    )
    return layer


def _params(layer: DenseVariational) -> tuple[np.ndarray, np.ndarray]:
    loc = np.concatenate([layer.kernel_loc.numpy().ravel(), layer.bias_loc.numpy().ravel()]).astype(np.float64)
    rho = np.concatenate([layer.kernel_rho.numpy().ravel(), layer.bias_rho.numpy().ravel()]).astype(np.float64)
    return loc, np.log1p(np.exp(rho))


def _normal_log_pdf(x: np.ndarray, scale: float | np.ndarray, loc: float | np.ndarray = 0.0) -> np.ndarray:
    return -0.5 * np.square((x - loc) / scale) - np.log(scale) - 0.5 * math.log(2 * math.pi)


@pytest.mark.parametrize("prior, prior_scale", [("standard_normal", 1.0), ("normal", 0.4), ("empirical_bayes", 2.5)])
def test_closed_form_kl_matches_formula_and_monte_carlo(prior: str, prior_scale: float) -> None:
    layer = _layer(prior, prior_scale=prior_scale)
    closed = float(layer.kl_divergence())
    loc, scale = _params(layer)
    p = 1.0 if prior == "standard_normal" else prior_scale
    formula = np.sum(np.log(p / scale) + (scale**2 + loc**2) / (2 * p**2) - 0.5)
    assert closed == pytest.approx(formula, rel=1e-5)
    rng = np.random.default_rng(1)
    w = loc + scale * rng.standard_normal((200_000, loc.size))
    terms = np.sum(_normal_log_pdf(w, scale, loc) - _normal_log_pdf(w, p), axis=1)
    standard_error = terms.std() / math.sqrt(len(terms))
    assert abs(terms.mean() - closed) < 4 * standard_error


def test_empirical_bayes_kl_uses_the_kernel_and_bias_prior_scales_apart() -> None:
    layer = _layer("empirical_bayes", prior_scale=2.5)
    layer.bias_prior_rho.assign(inverse_softplus(0.3))
    loc, scale = _params(layer)
    p = np.array([2.5] * (loc.size - 2) + [0.3] * 2)
    formula = np.sum(np.log(p / scale) + (scale**2 + loc**2) / (2 * p**2) - 0.5)
    assert float(layer.kl_divergence()) == pytest.approx(formula, rel=1e-5)
    layer.set_kl_weight(1.0)
    layer(tf.ones((2, 3)))
    assert float(layer.losses[0]) == pytest.approx(formula, rel=1e-5)


@pytest.mark.parametrize("estimator", ["reparameterization", "local_reparameterization"])
def test_packed_estimators_equal_kernel_and_bias_form(estimator: str) -> None:
    """The packed computation (bias as the last row, inputs with a ones column) equals `x @ W + b`,
    or for local reparameterisation `mean + sqrt(variance) * noise`, computed apart with the same noise."""
    from tfp_arch.layers.variational.estimators import PACKED_ESTIMATORS

    layer = _layer(estimator=estimator)
    x = np.random.default_rng(5).normal(size=(4, 3)).astype("float32")
    kernel_loc, kernel_scale, bias_loc, bias_scale = (t.numpy() for t in layer.posterior_parameters())
    loc, scale = np.vstack([kernel_loc, bias_loc]), np.vstack([kernel_scale, bias_scale])
    outputs, weights = PACKED_ESTIMATORS[estimator](x, loc, scale, True, keras.random.SeedGenerator(11))
    if estimator == "reparameterization":
        noise = keras.random.normal(loc.shape, seed=keras.random.SeedGenerator(11)).numpy()
        np.testing.assert_allclose(weights.numpy(), loc + scale * noise, rtol=1e-6)
        expected = x @ (kernel_loc + kernel_scale * noise[:-1]) + bias_loc + bias_scale * noise[-1]
    else:
        noise = keras.random.normal((4, 2), seed=keras.random.SeedGenerator(11)).numpy()
        mean = x @ kernel_loc + bias_loc
        variance = np.square(x) @ np.square(kernel_scale) + np.square(bias_scale)
        expected = mean + np.sqrt(variance) * noise
    np.testing.assert_allclose(outputs.numpy(), expected, rtol=1e-5, atol=1e-5)


def test_scale_mixture_monte_carlo_kl_matches_quadrature() -> None:
    weight, scales = 0.3, (1.0, 0.05)
    layer = _layer("scale_mixture", prior_mixture_scales=list(scales), prior_mixture_weight=weight, kl_samples=20_000)
    estimate = float(layer.kl_divergence())
    loc, scale = _params(layer)
    exact = 0.0
    for m, s in zip(loc, scale):
        grid = np.linspace(m - 12 * s, m + 12 * s, 40_001)
        log_q = _normal_log_pdf(grid, s, m)
        log_p = np.logaddexp(math.log(weight) + _normal_log_pdf(grid, scales[0]),
                             math.log(1 - weight) + _normal_log_pdf(grid, scales[1]))
        exact += np.trapezoid(np.exp(log_q) * (log_q - log_p), grid)
    assert estimate == pytest.approx(exact, rel=0.02)


@pytest.mark.parametrize("estimator", ["reparameterization", "local_reparameterization", "flipout"])
def test_gradient_estimators_are_unbiased(estimator: str) -> None:
    """Mean of many gradient samples of E[sum(out^2)] equals the analytic gradient within 4.5 SE."""
    layer = _layer(estimator=estimator, d_in=3, units=2, seed=3)
    x = tf.constant(np.random.default_rng(0).normal(size=(4, 3)), tf.float32)
    variables = [layer.posterior]

    with tf.GradientTape() as tape:
        kernel_loc, kernel_scale, bias_loc, bias_scale = layer.posterior_parameters()
        mean = x @ kernel_loc + bias_loc
        variance = tf.square(x) @ tf.square(kernel_scale) + tf.square(bias_scale)
        expected = tf.reduce_sum(tf.square(mean) + variance)
    analytic = np.concatenate([g.numpy().ravel() for g in tape.gradient(expected, variables)])

    z = max_gradient_z_score(layer, x, variables, analytic, 4000)
    assert z < 4.5, f"{estimator}: max z-score {z:.2f}"


@pytest.mark.slow
def test_estimators_agree_with_each_other_in_expectation() -> None:
    """A non-quadratic function of the outputs: the three estimators' means agree within 4.5 SE."""
    x = tf.constant(np.random.default_rng(1).normal(size=(5, 3)), tf.float32)
    means, errors = [], []
    for estimator in ["reparameterization", "local_reparameterization", "flipout"]:
        layer = _layer(estimator=estimator, seed=4)

        @tf.function
        def draws(count: int) -> tf.Tensor:
            array = tf.TensorArray(tf.float32, size=count)
            for i in tf.range(count):
                array = array.write(i, tf.reduce_sum(tf.sin(layer(x)), axis=1))
            return array.stack()

        outputs = draws(tf.constant(3000)).numpy().astype(np.float64)
        means.append(outputs.mean(axis=0))
        errors.append(outputs.std(axis=0) / math.sqrt(len(outputs)))
    for i in range(3):
        for j in range(i + 1, 3):
            z = np.abs(means[i] - means[j]) / np.sqrt(errors[i] ** 2 + errors[j] ** 2)
            assert z.max() < 4.5


def test_call_with_weights_is_a_batched_matmul() -> None:
    layer = _layer(activation="tanh")
    x = np.random.default_rng(2).normal(size=(6, 3)).astype("float32")
    kernels, biases = layer.sample_weights(5, tf.constant([7, 0]))
    batched = layer.call_with_weights(x, kernels, biases).numpy()
    for s in range(5):
        np.testing.assert_allclose(batched[s], np.tanh(x @ kernels[s].numpy() + biases[s].numpy()), rtol=1e-5, atol=1e-6)
    again, _ = layer.sample_weights(5, tf.constant([7, 0]))
    np.testing.assert_array_equal(kernels.numpy(), again.numpy())
    sample_mean = layer.sample_weights(20_000, tf.constant([1, 2]))[0].numpy().mean(axis=0)
    np.testing.assert_allclose(sample_mean, layer.kernel_loc.numpy(), atol=0.05)


def test_kl_enters_the_loss_scaled_by_the_weight() -> None:
    layer = _layer(kl_weight=0.25)
    layer(tf.ones((2, 3)))
    assert len(layer.losses) == 1
    assert float(layer.losses[0]) == pytest.approx(0.25 * float(layer.kl_divergence()), rel=1e-6)


@pytest.mark.slow
def test_kl_weight_callback_sets_one_over_n() -> None:
    model = keras.Sequential([keras.Input((3,)), DenseVariational(4, activation="relu"), DenseVariational(1, kl_weight=0.5)])
    model.compile("adam", "mse")
    x = np.random.default_rng(0).normal(size=(123, 3)).astype("float32")
    model.fit(x, x[:, :1], epochs=1, batch_size=32, verbose=0, callbacks=[KLWeightCallback(x)])
    assert float(model.layers[0].kl_weight_variable) == pytest.approx(1 / 123)
    assert float(model.layers[1].kl_weight_variable) == pytest.approx(0.5)
    dataset = tf.data.Dataset.from_tensor_slices((x, x[:, :1])).batch(10)
    assert count_examples(dataset) == 123
    assert set_kl_weight(model, 0.1, only_automatic=False) == 2


@pytest.mark.slow
@pytest.mark.parametrize("prior", ["standard_normal", "scale_mixture", "empirical_bayes"])
def test_config_and_keras_file_round_trip(tmp_path, prior: str) -> None:
    inputs = keras.Input((3,))
    hidden = DenseVariational(5, activation="relu", prior=prior, estimator="flipout", prior_mixture_scales=[1.0, 0.1])(inputs)
    model = keras.Model(inputs, DenseVariational(1, prior=prior, kl_weight=0.01)(hidden))
    model.compile("adam", "mse")
    x = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
    model.fit(x, x.sum(1), epochs=1, verbose=0)
    layer = model.layers[1]
    clone = DenseVariational.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    for before, after in zip(model.weights, loaded.weights):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(before), keras.ops.convert_to_numpy(after))
    if prior != "scale_mixture":
        assert float(loaded.layers[1].kl_divergence()) == pytest.approx(float(layer.kl_divergence()), rel=1e-6)
    seed = tf.constant([1, 1])
    for original, restored in zip(model.layers[1:], loaded.layers[1:]):
        drawn, again = original.sample_weights(3, seed), restored.sample_weights(3, seed)
        for before, after in zip(drawn, again):
            np.testing.assert_array_equal(before.numpy(), after.numpy())
    kernels, _ = loaded.layers[2].sample_weights(3, seed)
    other, _ = loaded.layers[2].sample_weights(3, tf.constant([2, 2]))
    assert kernels.shape == (3, 5, 1) and not np.allclose(kernels.numpy(), other.numpy())


@pytest.mark.slow
def test_fit_with_jit_compile_learns_a_linear_map() -> None:
    """One XLA-compiled model with a layer per estimator recovers the weights of a linear map."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 2)).astype("float32")
    y = (x @ np.array([[1.5], [-2.0]]) + 0.5).astype("float32")
    estimators = ["reparameterization", "local_reparameterization", "flipout"]
    inputs = keras.Input((2,))
    layers = [DenseVariational(1, estimator=estimator, seed=i) for i, estimator in enumerate(estimators)]
    model = keras.Model(inputs, keras.layers.Concatenate()([layer(inputs) for layer in layers]))
    model.compile(keras.optimizers.Adam(0.05), "mse", jit_compile=True, steps_per_execution=8)
    model.fit(x, np.tile(y, (1, 3)), epochs=30, batch_size=64, verbose=0, callbacks=[KLWeightCallback(x)])
    for layer in layers:
        np.testing.assert_allclose(layer.kernel_loc.numpy().ravel(), [1.5, -2.0], atol=0.1)
        assert float(layer.bias_loc.numpy()[0]) == pytest.approx(0.5, abs=0.1)


@pytest.mark.parametrize(
    "kwargs, argument",
    [({"prior": "laplace"}, "prior"), ({"estimator": "score"}, "estimator"), ({"kl_weight": -1.0}, "kl_weight"),
     ({"prior_scale": 0.0}, "prior_scale"), ({"prior_mixture_weight": 1.5}, "prior_mixture_weight"),
     ({"posterior_scale_init": -1.0}, "posterior_scale_init")],
)
def test_invalid_arguments_name_the_argument(kwargs: dict, argument: str) -> None:
    with pytest.raises(ValueError, match=f"`{argument}`"):
        DenseVariational(3, **kwargs)
