"""KLDivergenceRegularizer, KLDivergenceAddLoss and TFP-style DenseVariational give tfp.layers' KL; they save."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

tf_keras = pytest.importorskip("tf_keras", reason="tf_keras is not installed: nothing to compare with")
tfp = pytest.importorskip("tensorflow_probability")
tfpl, tfd = tfp.layers, tfp.distributions

from tfp_arch import layers  # noqa: E402


def _prior(dtype, d=3):
    return tfd.Independent(
        tfd.Normal(loc=tf.zeros(d, dtype), scale=tf.constant(1.5, dtype)), reinterpreted_batch_ndims=1
    )


def _mvn_prior(dtype, d=3):
    return tfd.MultivariateNormalDiag(loc=tf.zeros(d, dtype), scale_diag=tf.fill([d], tf.constant(1.5, dtype)))


def _params(dtype, shape=(4, 9)):
    return np.random.default_rng(0).normal(size=shape).astype(dtype)


@keras.saving.register_keras_serializable(package="test_kl_layers")
def fixed_points(distribution):
    return tf.ones(distribution.batch_shape.concatenate(distribution.event_shape), distribution.dtype) * 0.3


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("exact", [True, False])
def test_regularizer_value_is_tfps(exact, dtype):
    ours_q = layers.MultivariateNormalTriL(3, dtype=dtype)(_params(dtype))
    theirs_q = tfpl.MultivariateNormalTriL(3, dtype=dtype)(_params(dtype))
    arguments = {"use_exact_kl": exact, "weight": 0.7, "test_points_fn": fixed_points}
    ours = layers.KLDivergenceRegularizer(_mvn_prior(dtype), **arguments)(ours_q)
    theirs = tfpl.KLDivergenceRegularizer(_mvn_prior(dtype), **arguments)(theirs_q)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)


@pytest.mark.parametrize("reduce_axis", [None, (), -1])
def test_add_loss_value_is_tfps(reduce_axis):
    q_params = _params("float32", (5, 6))
    arguments = {"test_points_reduce_axis": reduce_axis, "test_points_fn": fixed_points, "weight": 0.5}
    ours = layers.KLDivergenceAddLoss(_prior("float32"), **arguments)
    theirs = tfpl.KLDivergenceAddLoss(_prior("float32"), **arguments)
    out = ours(layers.IndependentNormal(3)(q_params))
    theirs(tfpl.IndependentNormal(3)(q_params))
    assert isinstance(out, tfd.Distribution)
    np.testing.assert_allclose(ours.losses[0], theirs.losses[0], rtol=1e-6)


def test_activity_regularizer_adds_the_kl_divided_by_the_batch_size_as_tf_keras():
    q_params = _params("float32")
    ours = layers.MultivariateNormalTriL(
        3, activity_regularizer=layers.KLDivergenceRegularizer(_mvn_prior("float32"), use_exact_kl=True)
    )
    theirs = tfpl.MultivariateNormalTriL(
        3, activity_regularizer=tfpl.KLDivergenceRegularizer(_mvn_prior("float32"), use_exact_kl=True)
    )
    ours(q_params)
    theirs(q_params)
    np.testing.assert_allclose(ours.losses[0], theirs.losses[0], rtol=1e-6)


def test_kl_layers_save_and_load(tmp_path):
    regularizer = layers.KLDivergenceRegularizer(_prior("float32"), weight=0.25, test_points_fn=fixed_points)
    model = keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(9),
            layers.MultivariateNormalTriL(3, activity_regularizer=regularizer),
            layers.KLDivergenceAddLoss(_prior("float32"), weight=0.5, test_points_fn=fixed_points),
        ]
    )
    x = np.random.default_rng(1).normal(size=(4, 2)).astype("float32")
    model(x)
    model.save(tmp_path / "kl.keras")
    restored = keras.saving.load_model(tmp_path / "kl.keras")
    restored(x)
    np.testing.assert_allclose(
        sorted(float(v) for v in restored.losses), sorted(float(v) for v in model.losses), rtol=1e-6
    )


def test_an_unregistered_prior_function_is_refused_at_save_in_one_line(tmp_path):
    model = keras.Sequential(
        [keras.Input((6,)), layers.IndependentNormal(3), layers.KLDivergenceAddLoss(lambda: _prior("float32"))]
    )
    with pytest.raises(ValueError, match=r"KLDivergenceAddLoss.*distribution_b.*register_keras_serializable") as error:
        model.save(tmp_path / "m.keras")
    assert "\n" not in str(error.value) and not (tmp_path / "m.keras").exists()


@keras.saving.register_keras_serializable(package="test_kl_layers")
def posterior_fn(kernel_size, bias_size=0, dtype=None):
    n = kernel_size + bias_size
    return keras.Sequential([layers.VariableLayer(2 * n, dtype=dtype), layers.DistributionLambda(mean_field, "mean")])


@keras.saving.register_keras_serializable(package="test_kl_layers")
def mean_field(t):
    n = t.shape[-1] // 2
    return tfd.Independent(
        tfd.Normal(loc=t[..., :n], scale=1e-5 + tf.nn.softplus(t[..., n:])), reinterpreted_batch_ndims=1
    )


@keras.saving.register_keras_serializable(package="test_kl_layers")
def prior_fn(kernel_size, bias_size=0, dtype=None):
    n = kernel_size + bias_size
    return keras.Sequential([layers.VariableLayer(n, dtype=dtype), layers.DistributionLambda(unit_normal)])


@keras.saving.register_keras_serializable(package="test_kl_layers")
def unit_normal(t):
    return tfd.Independent(tfd.Normal(loc=t, scale=1.0), reinterpreted_batch_ndims=1)


def _tfp_posterior(kernel_size, bias_size=0, dtype=None):
    n = kernel_size + bias_size
    return tf_keras.Sequential(
        [tfpl.VariableLayer(2 * n, dtype=dtype), tfpl.DistributionLambda(mean_field, tfd.Distribution.mean)]
    )


def _tfp_prior(kernel_size, bias_size=0, dtype=None):
    n = kernel_size + bias_size
    return tf_keras.Sequential([tfpl.VariableLayer(n, dtype=dtype), tfpl.DistributionLambda(unit_normal)])


@pytest.mark.slow
@pytest.mark.parametrize("exact", [True, False])
def test_dense_variational_with_model_functions_gives_tfps_outputs_and_kl(exact):
    x = np.random.default_rng(4).normal(size=(5, 3)).astype("float32")
    ours = layers.DenseVariational(2, posterior_fn, prior_fn, kl_weight=0.1, kl_use_exact=exact, activation="tanh")
    theirs = tfpl.DenseVariational(2, _tfp_posterior, _tfp_prior, kl_weight=0.1, kl_use_exact=exact, activation="tanh")
    ours(x)
    theirs(x)
    rng = np.random.default_rng(5)
    values = [rng.normal(size=w.shape).astype("float32") for w in theirs.get_weights()]
    theirs.set_weights(values)
    ours.set_weights(values)
    np.testing.assert_allclose(ours(x), theirs(x), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.losses[-1], theirs.losses[-1], rtol=1e-5)


@pytest.mark.slow
def test_dense_variational_with_model_functions_trains_and_saves(tmp_path):
    x = np.random.default_rng(6).normal(size=(64, 1)).astype("float32")
    y = 2 * x
    model = keras.Sequential([keras.Input((1,)), layers.DenseVariational(1, posterior_fn, prior_fn, kl_weight=1 / 64)])
    model.compile(keras.optimizers.Adam(0.05), "mse")
    history = model.fit(x, y, epochs=20, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    model.save(tmp_path / "dv.keras")
    restored = keras.saving.load_model(tmp_path / "dv.keras")
    np.testing.assert_allclose(restored.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


@pytest.mark.slow
def test_our_dense_variational_api_is_kept():
    layer = layers.DenseVariational(4, activation="relu", estimator="flipout")
    assert type(layer) is layers.DenseVariational
