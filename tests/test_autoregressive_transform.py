"""AutoregressiveTransform: TFP's transformed distribution for the same MADE weights, fit, saving."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp
import tf_keras

from tfp_arch.layers import MADE, AutoregressiveTransform, DistributionLambda

tfd = tfp.distributions
tfb = tfp.bijectors


@keras.saving.register_keras_serializable(package="tfp_arch_tests")
def standard_normal_2d(t):
    return tfd.MultivariateNormalDiag(loc=tf.zeros(tf.concat([tf.shape(t)[:-1], [2]], axis=0)), scale_diag=[1.0, 1.0])


def _copy(network, made):
    dense = [layer for layer in network._network.layers if isinstance(layer, tf_keras.layers.Dense)]
    for layer, kernel, bias in zip(dense, made.kernels, made.biases, strict=True):
        kernel.assign(layer.kernel.numpy())
        bias.assign(layer.bias.numpy())


def test_log_prob_and_samples_equal_tfps_for_the_same_made():
    empty = np.zeros((1, 0), "float32")
    network = tfb.AutoregressiveNetwork(params=2, hidden_units=[10], activation="relu",
                                        kernel_initializer="random_normal")
    theirs = tfp.layers.AutoregressiveTransform(network)
    expected = theirs(tfp.layers.DistributionLambda(standard_normal_2d)(empty))
    made = MADE(params=2, hidden_units=[10], activation="relu")
    ours = AutoregressiveTransform(made)
    got = ours(DistributionLambda(standard_normal_2d)(empty))
    _copy(network, made)
    assert isinstance(got.bijector, tfb.MaskedAutoregressiveFlow)
    assert got.event_shape == (2,) and got.batch_shape == (1,)
    y = np.random.default_rng(0).normal(size=(6, 1, 2)).astype("float32")
    np.testing.assert_allclose(got.log_prob(y).numpy(), expected.log_prob(y).numpy(), rtol=1e-5, atol=1e-5)
    u = np.random.default_rng(1).normal(size=(1, 2)).astype("float32")
    np.testing.assert_allclose(
        got.bijector.forward(u).numpy(), expected.bijector.forward(u).numpy(), rtol=1e-5, atol=1e-5
    )


def forward_of_the_base_mean(distribution):
    return distribution.bijector.forward(distribution.distribution.mean())


@pytest.mark.slow
def test_predict_gives_the_convert_to_tensor_fn_tensor():
    network = tfb.AutoregressiveNetwork(params=2, hidden_units=[10], activation="relu",
                                        kernel_initializer="random_normal", bias_initializer="random_normal")
    network.build((2,))
    made = MADE(params=2, hidden_units=[10], activation="relu")
    model = keras.Sequential([
        keras.Input((0,)),
        DistributionLambda(standard_normal_2d),
        AutoregressiveTransform(made, convert_to_tensor_fn=forward_of_the_base_mean),
    ])
    _copy(network, made)
    x = np.zeros((5, 0), "float32")
    predicted = model.predict(x, batch_size=2, verbose=0)
    assert isinstance(predicted, np.ndarray) and predicted.shape == (5, 2)
    np.testing.assert_allclose(predicted, forward_of_the_base_mean(model(x)).numpy(), rtol=1e-5, atol=1e-6)
    expected = tfb.MaskedAutoregressiveFlow(network).forward(np.zeros((5, 2), "float32"))
    np.testing.assert_allclose(predicted, expected.numpy(), rtol=1e-5, atol=1e-5)
    assert np.abs(predicted).max() > 0


@pytest.mark.slow
def test_tfps_docstring_model_fits_and_returns_a_distribution(tmp_path):
    keras.utils.set_random_seed(0)
    n = 512
    rng = np.random.default_rng(0)
    x2 = rng.normal(size=n).astype("float32") * 2
    x1 = rng.normal(size=n).astype("float32") + x2 * x2 / 4
    data = np.stack([x1, x2], axis=-1)
    model = keras.Sequential([
        keras.Input((0,)),
        DistributionLambda(standard_normal_2d),
        AutoregressiveTransform(MADE(params=2, hidden_units=[10], activation="relu")),
    ])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss=lambda y, rv_y: -rv_y.log_prob(y))
    history = model.fit(np.zeros((n, 0), "float32"), data, batch_size=32, epochs=5, verbose=0).history["loss"]
    assert history[-1] < history[0]
    distribution = model(np.zeros((1, 0), "float32"))
    assert isinstance(distribution, tfd.Distribution)
    assert tuple(distribution.sample(4).shape) == (4, 1, 2)
    path = tmp_path / "transform.keras"
    model.compile(optimizer="adam")  # the lambda loss would be saved with a warning and refused at load
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(
        loaded(np.zeros((1, 0), "float32")).log_prob(data[:5]).numpy(), distribution.log_prob(data[:5]).numpy(),
        rtol=1e-5,
    )


@pytest.mark.slow
def test_a_made_without_two_parameters_or_a_tf_keras_network_is_refused():
    with pytest.raises(ValueError, match="`made`"):
        AutoregressiveTransform(MADE(params=3))
    with pytest.raises(ValueError, match="`made`"):
        AutoregressiveTransform(tfb.AutoregressiveNetwork(params=2))
