"""The distribution heads' arguments, configs and the helpers that spare users TFP."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow_probability as tfp

from heads_cases import CASE_IDS, CASES
from tfp_arch import layers
from tfp_arch import losses as tfp_arch_losses

tfd = tfp.distributions


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_config_round_trip_rebuilds_the_same_head(case):
    head = case.make()
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(head))
    assert type(restored) is type(head) and restored.get_config() == head.get_config()


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_call_returns_the_distribution_of_the_parameters(case):
    head = case.make()
    params = np.random.default_rng(0).normal(size=(4, head.layer_params_size())).astype("float32")
    output = head(params)
    assert isinstance(output, tfd.Distribution)
    assert type(head.distribution(params)) in type(output).__mro__
    y = output.sample()
    np.testing.assert_allclose(output.log_prob(y), head.distribution(params).log_prob(y), rtol=1e-5)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_samples_have_sample_batch_and_event_shape(case):
    head = case.make()
    params = np.zeros((4, head.layer_params_size()), "float32")
    event_shape = tuple(head.distribution(params).event_shape)
    assert event_shape == head.event_shape
    assert head.sample(params, 3, seed=0).shape == (3, 4, *event_shape)


@pytest.mark.parametrize("fn", ["mean", tfd.Distribution.mean, "stddev"])
def test_to_tensor_applies_convert_to_tensor_fn(fn):
    head = layers.MixtureNormal(2, convert_to_tensor_fn=fn)
    params = np.random.default_rng(1).normal(size=(5, head.layer_params_size())).astype("float32")
    name = fn if isinstance(fn, str) else "mean"
    np.testing.assert_allclose(head.to_tensor(params), getattr(head.distribution(params), name)())


def test_to_tensor_samples_by_default_as_tfp_does():
    head = layers.IndependentNormal(3)
    params = np.zeros((2, 6), "float32")
    assert not np.allclose(head.to_tensor(params), head.to_tensor(params))


def test_new_is_tfp_style_static_construction():
    params = np.zeros((2, 4), "float32")
    distribution = layers.IndependentNormal.new(params, [2])
    assert isinstance(distribution, tfd.Independent) and tuple(distribution.event_shape) == (2,)


def test_mixture_same_family_keeps_its_component_in_config():
    head = layers.MixtureSameFamily(4, layers.IndependentLogistic(2))
    config = head.get_config()
    restored = layers.MixtureSameFamily.from_config(config)
    assert isinstance(restored.component, layers.IndependentLogistic)
    assert restored.component.event_shape == (2,)


@pytest.mark.parametrize("event_shape", [0, -1, [2, 0], 1.5, "3", True])
def test_invalid_event_shape_is_refused(event_shape):
    with pytest.raises(ValueError, match="Invalid value for argument `event_shape`"):
        layers.IndependentNormal(event_shape)


def test_a_convert_to_tensor_fn_that_is_not_callable_is_refused():
    with pytest.raises(ValueError, match="Invalid value for argument `convert_to_tensor_fn`"):
        layers.IndependentNormal(1, convert_to_tensor_fn=5)


def test_mixture_component_must_be_a_head():
    with pytest.raises(ValueError, match="Invalid value for argument `component_layer`"):
        layers.MixtureSameFamily(2, lambda t: tfd.Normal(t[..., 0], 1.0))


@pytest.mark.parametrize("family, head_class", [(tfd.Normal, layers.IndependentNormal), (tfd.Logistic, layers.IndependentLogistic)])
def test_scale_transform_and_min_scale_set_the_scale(family, head_class):
    rng = np.random.default_rng(2)
    loc, raw = rng.normal(size=(5, 2, 3)), rng.normal(size=(5, 2, 3))
    y = rng.normal(size=(5, 2, 3))
    params = np.concatenate([loc.reshape(5, -1), raw.reshape(5, -1)], axis=-1).astype("float32")
    cases = [
        ({}, np.log1p(np.exp(raw))),
        ({"min_scale": 0.25}, np.log1p(np.exp(raw)) + 0.25),
        ({"scale_transform": "identity", "min_scale": 3.0}, raw + 3.0),
    ]
    for kwargs, scale in cases:
        head = head_class([2, 3], **kwargs)
        expected = family(loc, scale).log_prob(y).numpy().sum(axis=(1, 2))
        np.testing.assert_allclose(head.log_prob(params, y.astype("float32")), expected, rtol=1e-5)
        restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(head))
        assert restored.get_config() == head.get_config() and restored.min_scale == kwargs.get("min_scale", 0.0)


@pytest.mark.parametrize("kwargs, argument", [({"scale_transform": "exp"}, "scale_transform"), ({"min_scale": -1.0}, "min_scale")])
def test_invalid_scale_options_are_refused(kwargs, argument):
    with pytest.raises(ValueError, match=f"Invalid value for argument `{argument}`"):
        layers.IndependentNormal(2, **kwargs)


def test_categorical_head_is_the_sparse_categorical_cross_entropy_of_integer_labels():
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(6, 4)).astype("float32")
    labels = rng.integers(0, 4, size=6)
    head = layers.Categorical(4)
    expected = logits[np.arange(6), labels] - np.log(np.exp(logits.astype("float64")).sum(axis=-1))
    np.testing.assert_allclose(head.log_prob(logits, labels[:, None]), expected, rtol=1e-5)
    loss = tfp_arch_losses.NegativeLogLikelihood(head)
    keras_loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    np.testing.assert_allclose(float(loss(labels, logits)), float(keras_loss(labels, logits)), rtol=1e-6)
    assert head.distribution(logits).event_shape == () and head.sample(logits, 2, seed=0).shape == (2, 6)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(head))
    assert type(restored) is layers.Categorical and restored.get_config() == head.get_config()
    assert head.get_config()["num_classes"] == 4 and layers.Categorical.params_size(4) == 4
    with pytest.raises(ValueError, match="Invalid value for argument `num_classes`"):
        layers.Categorical(0)
