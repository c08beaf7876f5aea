"""VariationalGaussianProcess: TFP's distribution and KL for the same variables, training, saving."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp
import tf_keras

from tfp_arch.layers import VariationalGaussianProcess

tfd = tfp.distributions
psd = tfp.math.psd_kernels


@keras.saving.register_keras_serializable(package="tfp_arch_tests")
class RBFKernel(keras.layers.Layer):
    """The tutorial's kernel provider, on Keras 3."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._amplitude = self.add_weight(shape=(), initializer="zeros", name="amplitude")
        self._length_scale = self.add_weight(shape=(), initializer="zeros", name="length_scale")

    def call(self, x):
        return x

    @property
    def kernel(self):
        return psd.ExponentiatedQuadratic(
            amplitude=tf.nn.softplus(0.1 * tf.convert_to_tensor(self._amplitude)),
            length_scale=tf.nn.softplus(5.0 * tf.convert_to_tensor(self._length_scale)),
        )


class TfKerasRBFKernel(tf_keras.layers.Layer):
    """The same provider on tf_keras, for TFP's layer."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._amplitude = self.add_weight(shape=(), initializer="zeros", name="amplitude", dtype=self.dtype)
        self._length_scale = self.add_weight(shape=(), initializer="zeros", name="length_scale", dtype=self.dtype)

    def call(self, x):
        return x

    @property
    def kernel(self):
        return psd.ExponentiatedQuadratic(
            amplitude=tf.nn.softplus(0.1 * self._amplitude), length_scale=tf.nn.softplus(5.0 * self._length_scale)
        )


def _pair(dtype, event_shape, inducing=5, features=2, convert_to_tensor_fn=tfd.Distribution.sample):
    rng = np.random.default_rng(0)
    theirs = tfp.layers.VariationalGaussianProcess(
        inducing, TfKerasRBFKernel(dtype=dtype), event_shape=event_shape, convert_to_tensor_fn=convert_to_tensor_fn
    )
    ours = VariationalGaussianProcess(
        inducing, RBFKernel(dtype=dtype), event_shape=event_shape, convert_to_tensor_fn=convert_to_tensor_fn
    )
    theirs(np.zeros((1, features), dtype))  # TFP's layer builds its variables at its first call
    ours(np.zeros((1, features), dtype))
    values = {
        "amplitude": rng.normal(),
        "length_scale": rng.normal(),
        "mean": rng.normal(),
        "observation_noise_variance": rng.normal() - 1.0,
        "inducing_index_points": rng.normal(size=(*event_shape, inducing, features)),
        "variational_inducing_observations_loc": rng.normal(size=(*event_shape, inducing)),
        "variational_inducing_observations_scale": np.tril(rng.normal(size=(*event_shape, inducing, inducing)))
        + 2.0 * np.eye(inducing),
    }
    pairs = {
        "amplitude": (theirs._kernel_provider._amplitude, ours.kernel_provider._amplitude),
        "length_scale": (theirs._kernel_provider._length_scale, ours.kernel_provider._length_scale),
        "mean": (theirs.mean, ours.mean),
        "observation_noise_variance": (
            theirs._unconstrained_observation_noise_variance.pretransformed_input,
            ours.unconstrained_observation_noise_variance,
        ),
        "inducing_index_points": (theirs._inducing_index_points, ours.inducing_index_points),
        "variational_inducing_observations_loc": (
            theirs._variational_inducing_observations_loc, ours.variational_inducing_observations_loc
        ),
        "variational_inducing_observations_scale": (
            theirs._variational_inducing_observations_scale, ours.variational_inducing_observations_scale
        ),
    }
    for key, variables in pairs.items():
        for variable in variables:
            variable.assign(np.asarray(values[key], dtype=dtype).reshape(variable.shape))
    return theirs, ours, rng


@pytest.mark.slow
@pytest.mark.parametrize("event_shape", [(1,), (3,)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_distribution_and_kl_equal_tfps_for_the_same_variables(dtype, event_shape):
    theirs, ours, rng = _pair(dtype, event_shape)
    x = rng.normal(size=(7, 2)).astype(dtype)
    y = rng.normal(size=(7, *event_shape)).astype(dtype)
    expected, got = theirs(x), ours(x)
    assert isinstance(got, tfd.Distribution) and got.dtype == dtype
    assert got.event_shape == expected.event_shape == (7, *event_shape)
    tolerance = {"rtol": 1e-4, "atol": 1e-4} if dtype == "float32" else {"rtol": 1e-9, "atol": 1e-9}
    for method in ("mean", "stddev"):
        np.testing.assert_allclose(getattr(got, method)().numpy(), getattr(expected, method)().numpy(), **tolerance)
    np.testing.assert_allclose(got.log_prob(y).numpy(), expected.log_prob(y).numpy(), **tolerance)
    np.testing.assert_allclose(
        got.surrogate_posterior_kl_divergence_prior().numpy(),
        expected.surrogate_posterior_kl_divergence_prior().numpy(), **tolerance,
    )
    np.testing.assert_allclose(
        got.variational_loss(y, kl_weight=0.25).numpy(), expected.variational_loss(y, kl_weight=0.25).numpy(),
        **tolerance,
    )


def test_default_variables_are_tfps():
    layer = VariationalGaussianProcess(4, RBFKernel(), event_shape=[2])
    layer.build((None, 1))
    assert layer.variational_inducing_observations_scale.shape == (2, 4, 4)
    np.testing.assert_allclose(layer.variational_inducing_observations_scale.numpy(), 1e-5 * np.stack([np.eye(4)] * 2))
    np.testing.assert_allclose(layer.unconstrained_observation_noise_variance.numpy(), -10.0)
    assert float(layer.mean.numpy()) == 0.0
    no_noise = VariationalGaussianProcess(4, RBFKernel(), unconstrained_observation_noise_variance_initializer=None)
    no_noise.build((None, 1))
    assert no_noise.unconstrained_observation_noise_variance is None


def test_gradient_of_the_variational_loss_reaches_every_variable():
    layer = VariationalGaussianProcess(6, RBFKernel(), inducing_index_points_initializer="random_normal")
    x = np.linspace(-1, 1, 10, dtype="float32")[:, None]
    y = np.sin(3 * x)
    layer.build(x.shape)
    variables = layer.trainable_variables
    names = sorted(v.name for v in variables)
    assert names == sorted(["amplitude", "length_scale", "mean", "observation_noise_variance",
                            "inducing_index_points", "variational_inducing_observations_loc",
                            "variational_inducing_observations_scale"])
    with tf.GradientTape() as tape:
        loss = layer(x).variational_loss(y, kl_weight=0.1)
    gradients = tape.gradient(loss, [v.value for v in variables])
    assert all(g is not None and np.any(g.numpy() != 0) for g in gradients)


def test_sequential_model_returns_the_distribution_and_its_tensor_shape():
    model = keras.Sequential([
        keras.Input((1,)),
        keras.layers.Dense(1, kernel_initializer="ones", use_bias=False),
        VariationalGaussianProcess(5, RBFKernel(), event_shape=[1]),
    ])
    assert model.output_shape == (None, 1)
    distribution = model(np.zeros((4, 1), "float32"))
    assert isinstance(distribution, tfd.Distribution)
    assert tuple(distribution.sample().shape) == (4, 1)


@pytest.mark.slow
@pytest.mark.parametrize("event_shape", [(1,), (3,)])
def test_predict_gives_tfps_convert_to_tensor_fn_tensor(event_shape):
    theirs, ours, rng = _pair("float32", event_shape, convert_to_tensor_fn=tfd.Distribution.mean)
    model = keras.Sequential([keras.Input((2,)), ours])
    x = rng.normal(size=(7, 2)).astype("float32")
    predicted = model.predict(x, batch_size=3, verbose=0)
    assert isinstance(predicted, np.ndarray) and predicted.shape == (7, *event_shape)
    np.testing.assert_allclose(predicted, model(x).mean().numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(predicted, tf.convert_to_tensor(theirs(x)).numpy(), rtol=1e-4, atol=1e-4)


def test_keras_file_round_trip(tmp_path):
    layer = VariationalGaussianProcess(5, RBFKernel(), event_shape=[2],
                                       inducing_index_points_initializer="random_normal",
                                       jitter=1e-5, convert_to_tensor_fn="mean")
    model = keras.Sequential([keras.Input((3,)), layer])
    x = np.random.default_rng(1).normal(size=(4, 3)).astype("float32")
    layer.kernel_provider._amplitude.assign(0.7)
    layer.variational_inducing_observations_loc.assign(np.ones((2, 5)))
    path = tmp_path / "vgp.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    again = loaded.layers[-1]
    assert again.jitter == 1e-5 and again.event_shape == [2]
    np.testing.assert_allclose(np.asarray(loaded(x)), loaded(x).mean().numpy(), rtol=1e-6)  # convert_to_tensor_fn
    y = np.zeros((4, 2), "float32")
    np.testing.assert_allclose(loaded(x).log_prob(y).numpy(), model(x).log_prob(y).numpy(), rtol=1e-5)
    np.testing.assert_allclose(loaded(x).mean().numpy(), model(x).mean().numpy(), rtol=1e-5)


@pytest.mark.slow
def test_a_kernel_provider_without_kernel_is_refused():
    with pytest.raises(ValueError, match="`kernel_provider`"):
        VariationalGaussianProcess(3, keras.layers.Dense(1))


@pytest.mark.slow
def test_fit_with_the_tutorials_variational_loss_lowers_it():
    keras.utils.set_random_seed(0)
    x = np.linspace(-3, 3, 64, dtype="float32")[:, None]
    y = np.sin(2 * x) + 0.1 * np.random.default_rng(0).normal(size=x.shape).astype("float32")
    model = keras.Sequential([
        keras.Input((1,)),
        VariationalGaussianProcess(
            8, RBFKernel(), event_shape=[1],
            inducing_index_points_initializer=keras.initializers.Constant(np.linspace(-3, 3, 8)[:, None]),
        ),
    ])
    kl_weight = 16 / 64
    model.compile(keras.optimizers.Adam(0.05), loss=lambda y, rv_y: rv_y.variational_loss(y, kl_weight=kl_weight))
    history = model.fit(x, y, batch_size=16, epochs=30, verbose=0).history["loss"]
    assert history[-1] < 0.5 * history[0]
    assert np.asarray(model(x)).shape == (64, 1)
