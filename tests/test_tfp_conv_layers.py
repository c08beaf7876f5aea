"""TFP-named variational convolutions against `tfp.layers` on tf_keras, closed forms, layouts and saving."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

import tfp_arch.layers as layers

tfd = tfp.distributions
N = 100
RANKS = {1: (7, 2), 2: (6, 5, 2), 3: (4, 5, 4, 2)}  # one example's shape, channels last
KINDS = ["Flipout", "Reparameterization"]


def _name(rank: int, kind: str) -> str:
    return f"Convolution{rank}D{kind}"


def _copy_random_posterior(ours, theirs, dtype: str, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    by_name = {w.name.split("/")[-1].split(":")[0]: w for w in theirs.weights}
    assert sorted(by_name) == sorted(w.name for w in ours.weights)
    for weight in ours.weights:
        value = rng.normal(-2.0 if "scale" in weight.name else 0.0, 0.5, size=weight.shape).astype(dtype)
        weight.assign(value)
        by_name[weight.name].assign(value)


def _pair(rank: int, kind: str, dtype: str, **kwargs):
    shape = (3, *RANKS[rank])
    ours = getattr(layers, _name(rank, kind))(4, 2, dtype=dtype, **kwargs)
    theirs = getattr(tfp.layers, _name(rank, kind))(4, 2, dtype=dtype, **kwargs)
    ours.build(shape)
    theirs.build(shape)
    _copy_random_posterior(ours, theirs, dtype)
    return ours, theirs, np.random.default_rng(1).normal(size=shape).astype(dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("rank", [1, 2, 3])
def test_losses_equal_tfps_with_the_scaled_kl_lambda_and_a_bias_prior(rank, kind, dtype):
    def scaled(lib):
        return {
            "kernel_divergence_fn": lambda q, p, _: tfd.kl_divergence(q, p) / N,
            "bias_posterior_fn": lib.default_mean_field_normal_fn(),
            "bias_prior_fn": lib.default_multivariate_normal_fn,
        }

    shape = (3, *RANKS[rank])
    ours = getattr(layers, _name(rank, kind))(4, 2, dtype=dtype, **scaled(layers))
    theirs = getattr(tfp.layers, _name(rank, kind))(4, 2, dtype=dtype, **scaled(tfp.layers))
    ours.build(shape)
    theirs.build(shape)
    _copy_random_posterior(ours, theirs, dtype)
    x = np.ones(shape, dtype)
    ours(x)
    theirs(x)
    assert len(ours.losses) == len(theirs.losses) == 2
    for mine, reference in zip(ours.losses, theirs.losses, strict=True):
        np.testing.assert_allclose(mine.numpy(), reference.numpy(), rtol=1e-5 if dtype == "float32" else 1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("geometry", [{}, {"strides": 2, "padding": "same"}, {"dilation_rate": 2, "padding": "same"}])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("rank", [1, 2, 3])
def test_outputs_and_default_kl_equal_tfps_when_the_posterior_scale_is_negligible(rank, kind, geometry, dtype):
    ours, theirs, x = _pair(rank, kind, dtype, activation="relu", **geometry)
    for layer in (ours, theirs):
        for weight in layer.weights:
            if "untransformed_scale" in weight.name:
                weight.assign(np.full(weight.shape, -50.0, dtype))
    mine, reference = ours(x).numpy(), theirs(x).numpy()
    assert mine.shape == reference.shape == tuple(ours.compute_output_shape(x.shape))
    np.testing.assert_allclose(mine, reference, atol=1e-5 if dtype == "float32" else 1e-6)
    np.testing.assert_allclose(ours.losses[0].numpy(), theirs.losses[0].numpy(), rtol=1e-5)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("rank", [1, 2, 3])
def test_channels_first_equals_channels_last_on_transposed_inputs(rank, kind):
    shape = (3, *RANKS[rank])
    last = getattr(layers, _name(rank, kind))(4, 2, padding="same", seed=3, activation="tanh")
    first = getattr(layers, _name(rank, kind))(4, 2, padding="same", seed=3, activation="tanh",
                                                data_format="channels_first")
    x = np.random.default_rng(0).normal(size=shape).astype("float32")
    x_first = np.moveaxis(x, -1, 1)
    last.build(x.shape)
    first.build(x_first.shape)
    for a, b in zip(first.weights, last.weights, strict=True):
        value = b.numpy() + (2.0 if "untransformed_scale" in b.name else 0.0)  # scales large enough to matter
        a.assign(value)
        b.assign(value)
    tf.random.set_seed(7)
    expected = last(x).numpy()
    tf.random.set_seed(7)
    outputs = first(x_first).numpy()
    assert outputs.shape == tuple(first.compute_output_shape(x_first.shape))
    np.testing.assert_allclose(np.moveaxis(outputs, 1, -1), expected, atol=1e-6)
    tf.random.set_seed(8)
    assert not np.allclose(np.moveaxis(first(x_first).numpy(), 1, -1), expected, atol=1e-3), "the draws are random"


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_output_mean_and_variance_match_the_convolution_of_the_posterior(kind):
    """Mean `conv(x, loc) + b` and variance `conv(x^2, scale^2)`, from Keras' own Conv2D, over 4,000 calls."""
    layer = getattr(layers, _name(2, kind))(2, 2, dtype="float64", seed=1)
    x = np.random.default_rng(0).normal(size=(1, 3, 3, 2))
    layer.build(x.shape)
    rng = np.random.default_rng(2)
    for weight in layer.weights:
        weight.assign(rng.normal(-1.0 if "scale" in weight.name else 0.0, 0.5, size=weight.shape))
    q = layer.kernel_posterior.distribution
    conv = keras.layers.Conv2D(2, 2, dtype="float64")
    conv.build(x.shape)
    conv.set_weights([q.loc.numpy(), layer.bias_posterior.mean().numpy()])
    mean = conv(x).numpy()[0]
    conv.set_weights([np.square(tf.convert_to_tensor(q.scale).numpy()), np.zeros(2)])
    variance = conv(np.square(x)).numpy()[0]
    batch = tf.constant(np.repeat(x, 1 if kind == "Reparameterization" else 8, axis=0))
    call = tf.function(lambda: layer(batch))
    draws = np.concatenate([call().numpy() for _ in range(4000)])
    z = (draws.mean(0) - mean) / np.sqrt(variance / len(draws))
    assert np.all(np.abs(z) < 4.5), z
    np.testing.assert_allclose(draws.var(0), variance, rtol=0.1)
    if kind == "Flipout":  # examples of one batch are decorrelated
        rows = draws.reshape(4000, 8, -1)
        correlation = [np.corrcoef(rows[:, 0, j], rows[:, 1, j])[0, 1] for j in range(rows.shape[-1])]
        assert np.all(np.abs(correlation) < 0.1), correlation


def test_shape_arguments_may_be_integer_tensors():
    layer = layers.Convolution2DFlipout(tf.constant(3), tf.constant([2, 3]), strides=tf.constant(1))
    assert layer.kernel_size == (2, 3)
    assert layer(tf.ones((1, 5, 5, 2))).shape == (1, 4, 3, 3)
    with pytest.raises(ValueError, match="`kernel_size`"):
        layers.Convolution2DFlipout(3, tf.constant([2, 3, 4]))
    with pytest.raises(ValueError, match="`data_format`"):
        layers.Convolution2DFlipout(3, 2, data_format="NCHW")


def test_tfps_short_names_are_the_same_classes():
    for rank in (1, 2, 3):
        for kind in KINDS:
            assert getattr(layers, f"Conv{rank}D{kind}") is getattr(layers, _name(rank, kind))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("rank", [1, 2, 3])
def test_save_and_load_round_trip_with_the_default_functions(rank, kind, tmp_path):
    shape = (RANKS[rank][-1], *RANKS[rank][:-1])
    layer = getattr(layers, _name(rank, kind))(3, 2, data_format="channels_first", padding="same", activation="relu")
    model = keras.Sequential([keras.Input(shape), layer])
    x = np.random.default_rng(0).normal(size=(2, *shape)).astype("float32")
    model(x)
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    copy = loaded.layers[0]
    assert type(copy) is type(layer) and copy.data_format == "channels_first" and copy.padding == "same"
    for mine, theirs in zip(copy.weights, layer.weights, strict=True):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    assert loaded(x).shape == model(x).shape
    np.testing.assert_allclose(float(loaded.losses[0]), float(model.losses[0]), rtol=1e-6)
