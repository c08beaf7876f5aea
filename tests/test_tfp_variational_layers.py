"""TFP-named dense variational layers against `tfp.layers` on tf_keras, closed forms, `fit` and saving."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp
import tf_keras

import tfp_arch.layers as layers
from tfp_arch.validation import ValidationError

tfd = tfp.distributions
CLASSES = ["DenseReparameterization", "DenseLocalReparameterization", "DenseFlipout"]
N = 250


def divergence_over_n(q, p, _):
    return tfd.kl_divergence(q, p) / N


@keras.saving.register_keras_serializable(package="test_tfp_variational_layers")
def registered_divergence(q, p, _):
    return tfd.kl_divergence(q, p) / N


def monte_carlo_divergence(q, p, w):
    return q.log_prob(w) - p.log_prob(w)


def posterior_mean(d):
    return d.mean()


CONFIGS = {  # name -> (keyword arguments for both layers, classes it applies to)
    "defaults": ({}, CLASSES),
    "kl_over_n_lambda": ({"kernel_divergence_fn": lambda q, p, _: tfd.kl_divergence(q, p) / N}, CLASSES),
    "normal_bias_with_prior": (
        {"bias_posterior_fn": "mean_field", "bias_prior_fn": "standard", "bias_divergence_fn": divergence_over_n},
        CLASSES,
    ),
    "no_bias": ({"bias_posterior_fn": None, "activation": "relu"}, CLASSES),
    "monte_carlo_kl_at_the_mean": (  # the kernel sample reaches the divergence with this estimator only
        {"kernel_divergence_fn": monte_carlo_divergence, "kernel_posterior_tensor_fn": posterior_mean},
        ["DenseReparameterization"],
    ),
}


def _arguments(config: dict, ours: bool) -> dict:
    """Resolve the placeholders "mean_field" and "standard" to each library's default functions."""
    lib = layers if ours else tfp.layers
    resolved = {}
    for key, value in config.items():
        if value == "mean_field":
            value = lib.default_mean_field_normal_fn()
        elif value == "standard":
            value = lib.default_multivariate_normal_fn
        resolved[key] = value
    return resolved


def _pair(name: str, units: int, config: dict, input_shape: tuple, dtype: str, seed: int = 0):
    """Our layer and TFP's, built, with the same random posterior parameters (TFP's copied into ours)."""
    ours = getattr(layers, name)(units, dtype=dtype, **_arguments(config, True))
    theirs = getattr(tfp.layers, name)(units, dtype=dtype, **_arguments(config, False))
    ours.build(input_shape)
    theirs.build(input_shape)
    rng = np.random.default_rng(seed)
    by_name = {w.name.split("/")[-1].split(":")[0]: w for w in theirs.weights}
    assert sorted(by_name) == sorted(w.name for w in ours.weights)
    for weight in ours.weights:
        value = rng.normal(-2.0 if "scale" in weight.name else 0.0, 0.5, size=weight.shape).astype(dtype)
        weight.assign(value)
        by_name[weight.name].assign(value)
    return ours, theirs


PAIRS = [(name, config) for config, (_, names) in CONFIGS.items() for name in names]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("input_shape", [(5, 3), (2, 4, 6)])
@pytest.mark.parametrize(("name", "config"), PAIRS)
def test_losses_equal_tfps_for_the_same_posterior_prior_and_divergence(name, config, input_shape, dtype):
    kwargs, _ = CONFIGS[config]
    ours, theirs = _pair(name, 4, kwargs, input_shape, dtype)
    x = np.random.default_rng(1).normal(size=input_shape).astype(dtype)
    ours(x)
    theirs(x)
    assert len(ours.losses) == len(theirs.losses) >= 1
    for mine, reference in zip(ours.losses, theirs.losses, strict=True):
        assert mine.dtype == dtype
        np.testing.assert_allclose(mine.numpy(), reference.numpy(), rtol=1e-5 if dtype == "float32" else 1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", CLASSES)
def test_outputs_equal_tfps_when_the_posterior_scale_is_negligible(name, dtype):
    ours, theirs = _pair(name, 3, {"activation": "tanh"}, (6, 5), dtype)
    for layer in (ours, theirs):
        for weight in layer.weights:
            if "untransformed_scale" in weight.name:
                weight.assign(np.full(weight.shape, -50.0, dtype))
    x = np.random.default_rng(2).normal(size=(6, 5)).astype(dtype)
    np.testing.assert_allclose(ours(x).numpy(), theirs(x).numpy(), atol=1e-5 if dtype == "float32" else 1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("name", CLASSES)
def test_output_mean_and_variance_match_the_closed_form(name):
    """Every estimator gives each output the normal marginal of `x @ W + b` under the posterior:
    mean `x @ loc + b`, variance `x^2 @ scale^2`. Checked over 4,000 calls for one input (the
    kernel noise of Flipout is shared by a batch, so the calls, not the rows, set the precision)."""
    layer = getattr(layers, name)(3, dtype="float64", seed=5)
    layer.build((None, 4))
    rng = np.random.default_rng(3)
    for weight in layer.weights:
        weight.assign(rng.normal(-1.0 if "scale" in weight.name else 0.0, 0.5, size=weight.shape))
    q = layer.kernel_posterior.distribution
    x = rng.normal(size=(1, 4))
    mean = x @ q.loc.numpy() + layer.bias_posterior.mean().numpy()
    variance = np.square(x) @ np.square(tf.convert_to_tensor(q.scale).numpy())
    batch = tf.constant(np.repeat(x, 1 if name == "DenseReparameterization" else 10, axis=0))
    call = tf.function(lambda: layer(batch))
    draws = np.concatenate([call().numpy() for _ in range(4000)])
    z = (draws.mean(0) - mean[0]) / np.sqrt(variance[0] / len(draws))
    assert np.all(np.abs(z) < 4.5), z
    np.testing.assert_allclose(draws.var(0), variance[0], rtol=0.1)
    if name != "DenseReparameterization":  # rows of one batch are decorrelated (one shared kernel would give 1)
        rows = draws.reshape(4000, 10, 3)
        correlation = [np.corrcoef(rows[:, 0, j], rows[:, 1, j])[0, 1] for j in range(3)]
        assert np.all(np.abs(correlation) < 0.1), correlation


def test_units_may_be_an_integer_tensor():
    layer = layers.DenseFlipout(tf.constant(4))
    assert layer(tf.ones((2, 3))).shape == (2, 4)
    with pytest.raises(ValueError, match="`units`"):
        layers.DenseFlipout(tf.constant([4, 2]))


@pytest.mark.parametrize("name", ["DenseLocalReparameterization", "DenseFlipout"])
def test_a_posterior_that_is_not_an_independent_normal_is_refused_as_tfp_does(name):
    layer = getattr(layers, name)(2, kernel_posterior_fn=layers.default_mean_field_normal_fn(is_singular=True))
    with pytest.raises(TypeError, match="Independent"):
        layer(tf.ones((1, 3)))


def test_default_mean_field_normal_fn_makes_tfps_variables_and_distribution():
    layer = keras.layers.Layer()
    from tfp_arch.layers.variational.tfp_functions import keras_add_variable_fn

    fn = layers.default_mean_field_normal_fn(loc_regularizer=keras.regularizers.L2(0.5))
    q = fn(tf.float32, [40, 50], "kernel_posterior", True, keras_add_variable_fn(layer))
    assert isinstance(q, tfd.Independent) and isinstance(q.distribution, tfd.Normal)
    assert q.event_shape == (40, 50) and q.batch_shape == ()
    loc, rho = (w.numpy() for w in layer.weights)
    assert abs(loc.std() - 0.1) < 0.005 and abs(rho.mean() + 3.0) < 0.005
    scale = tf.convert_to_tensor(q.distribution.scale).numpy()
    np.testing.assert_allclose(scale, np.finfo(np.float32).eps + np.log1p(np.exp(rho)), rtol=1e-6)
    layer.weights[1].assign(np.zeros((40, 50), "float32"))
    np.testing.assert_allclose(tf.convert_to_tensor(q.distribution.scale).numpy(), np.log(2.0), rtol=1e-6)
    np.testing.assert_allclose(sum(layer.losses).numpy(), 0.5 * np.sum(loc**2), rtol=1e-5)
    again = keras.layers.Layer()
    fn(tf.float32, [40, 50], "kernel_posterior", True, keras_add_variable_fn(again))
    message = "every call draws new initial values (a reused unseeded Keras initializer would repeat them)"
    assert not np.allclose(again.weights[0].numpy(), loc), message


def test_default_multivariate_normal_fn_is_a_standard_normal_over_the_shape():
    p = layers.default_multivariate_normal_fn(tf.float64, [3, 2], "kernel_prior", True, None)
    reference = tfp.layers.default_multivariate_normal_fn(tf.float64, [3, 2], "kernel_prior", True, None)
    w = np.random.default_rng(0).normal(size=(3, 2))
    assert p.event_shape == (3, 2) and p.dtype == tf.float64
    np.testing.assert_allclose(p.log_prob(w).numpy(), reference.log_prob(w).numpy())


def test_default_loc_scale_fn_returns_loc_and_scale_or_no_scale():
    from tfp_arch.layers.variational.tfp_functions import keras_add_variable_fn

    layer = keras.layers.Layer()
    loc, scale = layers.default_loc_scale_fn()(tf.float32, [3], "w", True, keras_add_variable_fn(layer))
    assert [w.name for w in layer.weights] == ["w_loc", "w_untransformed_scale"]
    assert tf.convert_to_tensor(scale).shape == (3,)
    singular = layers.default_loc_scale_fn(is_singular=True)
    loc, scale = singular(tf.float32, [3], "b", False, keras_add_variable_fn(layer))
    assert scale is None and not layer.weights[-1].trainable


@pytest.mark.slow
def test_fit_trains_and_its_loss_includes_the_kl():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, 3)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5]]) + 0.1 * rng.normal(size=(N, 1))).astype("float32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((3,)),
        layers.DenseFlipout(16, activation="relu", kernel_divergence_fn=lambda q, p, _: tfd.kl_divergence(q, p) / N),
        layers.DenseFlipout(1, kernel_divergence_fn=lambda q, p, _: tfd.kl_divergence(q, p) / N),
    ])
    model.compile(keras.optimizers.Adam(0.02), "mse")
    history = model.fit(x, y, batch_size=50, epochs=30, verbose=0).history["loss"]
    assert history[-1] < 0.3 * history[0]
    model(x)
    kl = sum(float(tfd.kl_divergence(layer.kernel_posterior, layer.kernel_prior)) / N for layer in model.layers)
    assert len(model.losses) == 2
    np.testing.assert_allclose(sum(float(loss) for loss in model.losses), kl, rtol=1e-5)
    for layer in model.layers:  # a deterministic network: the evaluated loss is the MSE plus the KL
        for weight in layer.weights:
            if "untransformed_scale" in weight.name:
                weight.assign(np.full(weight.shape, -50.0, "float32"))
    kl = sum(float(tfd.kl_divergence(layer.kernel_posterior, layer.kernel_prior)) / N for layer in model.layers)
    mse = float(np.mean((model.predict(x, verbose=0) - y) ** 2))
    np.testing.assert_allclose(model.evaluate(x, y, batch_size=N, verbose=0), mse + kl, rtol=1e-4)


@pytest.mark.parametrize("name", CLASSES)
def test_save_and_load_round_trip_with_the_default_functions(name, tmp_path):
    model = keras.Sequential([keras.Input((3,)), getattr(layers, name)(2, activation="relu")])
    x = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")
    model(x)
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    layer, original = loaded.layers[0], model.layers[0]
    assert type(layer) is type(original)
    for mine, theirs in zip(layer.weights, original.weights, strict=True):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    loaded(x)
    np.testing.assert_allclose(float(loaded.losses[0]), float(model.losses[0]), rtol=1e-6)
    for key in ("kernel_posterior_fn", "bias_posterior_fn", "kernel_prior_fn", "kernel_divergence_fn"):
        assert type(getattr(layer, key)) is type(getattr(original, key))


def test_an_unregistered_divergence_lambda_is_refused_at_save_in_one_line(tmp_path):
    layer = layers.DenseFlipout(2, kernel_divergence_fn=lambda q, p, _: tfd.kl_divergence(q, p) / N, name="bnn_out")
    model = keras.Sequential([keras.Input((3,)), layer])
    with pytest.raises(ValidationError) as error:
        model.save(tmp_path / "model.keras")
    message = str(error.value)
    assert "\n" not in message and "'bnn_out'" in message and "kernel_divergence_fn" in message
    assert "keras.saving.register_keras_serializable" in message
    path = tmp_path / "model.keras"  # Keras opens the file before it takes the config: it stays empty
    assert not path.exists() or path.stat().st_size == 0


@pytest.mark.parametrize("divergence", [registered_divergence, layers.ScaledKLDivergence(1 / N)])
def test_a_registered_divergence_saves_and_loads(divergence, tmp_path):
    model = keras.Sequential([keras.Input((3,)), layers.DenseFlipout(2, kernel_divergence_fn=divergence)])
    x = np.ones((1, 3), "float32")
    model(x)
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    loaded(x)
    expected = float(tfd.kl_divergence(model.layers[0].kernel_posterior, model.layers[0].kernel_prior)) / N
    np.testing.assert_allclose([float(model.losses[0]), float(loaded.losses[0])], expected, rtol=1e-6)


def test_tf_keras_is_the_reference():
    """The parity tests above compare with TFP's own layers, which live on tf_keras."""
    assert isinstance(tfp.layers.DenseFlipout(2), tf_keras.layers.Layer)


@pytest.mark.parametrize(
    "name", CLASSES + [f"Convolution{rank}D{kind}" for rank in (1, 2, 3) for kind in ("Flipout", "Reparameterization")]
)
def test_constructor_arguments_are_tfps_in_tfps_order(name):
    import inspect

    ours = list(inspect.signature(getattr(layers, name).__init__).parameters)
    theirs = list(inspect.signature(getattr(tfp.layers, name).__init__).parameters)
    assert ours == theirs


class SubclassedBNN(keras.Model):
    def __init__(self):
        super().__init__()
        self.hidden = layers.DenseFlipout(8, activation="tanh", kernel_divergence_fn=registered_divergence)
        self.out = layers.DenseLocalReparameterization(1, kernel_divergence_fn=registered_divergence)

    def call(self, x):
        return self.out(self.hidden(x))


@pytest.mark.slow
def test_a_subclassed_model_reads_its_trained_variables():
    """Keras builds the inner layers while it traces the model (their variables do not exist yet):
    the distributions must still read the variables, before and after training."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, 3)).astype("float32")
    y = np.tanh(x[:, :1]).astype("float32")
    model = SubclassedBNN()
    model.compile(keras.optimizers.Adam(0.02), "mse")
    history = model.fit(x, y, batch_size=50, epochs=20, verbose=0).history["loss"]
    assert history[-1] < 0.5 * history[0]
    for layer in (model.hidden, model.out):
        q = layer.kernel_posterior.distribution
        np.testing.assert_array_equal(tf.convert_to_tensor(q.loc).numpy(), layer.weights[0].numpy())
    model(x)
    expected = sum(float(tfd.kl_divergence(layer.kernel_posterior, layer.kernel_prior)) / N
                   for layer in (model.hidden, model.out))
    np.testing.assert_allclose(sum(float(loss) for loss in model.losses), expected, rtol=1e-5)


def test_tensorflow_initializers_are_taken_and_saved(tmp_path):
    fn = layers.default_mean_field_normal_fn(
        loc_initializer=tf.random_normal_initializer(stddev=0.1),
        untransformed_scale_initializer=tf.constant_initializer(-4.0),
    )
    model = keras.Sequential([keras.Input((30,)), layers.DenseFlipout(20, kernel_posterior_fn=fn)])
    rho = model.layers[0].weights[1].numpy()
    np.testing.assert_array_equal(rho, -4.0)
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras").layers[0]
    np.testing.assert_array_equal(loaded.weights[1].numpy(), rho)
    assert loaded.kernel_posterior_fn.untransformed_scale_initializer.get_config()["value"] == -4.0
