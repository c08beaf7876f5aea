"""Element-wise transformers: inverse of each other, log-derivatives by autodiff, monotonicity, serialisation."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfp_arch.layers.transformers import AffineTransformer, get_transformer, soft_clip

TRANSFORMERS = [AffineTransformer(), AffineTransformer(log_scale_bound=None), AffineTransformer(log_scale_bound=2.0)]


def _np(value):
    return np.asarray(keras.ops.convert_to_numpy(value))


def _params(transformer, shape, scale=1.0, seed=0):
    rng = np.random.default_rng(seed)
    return (scale * rng.normal(size=(*shape, transformer.num_params))).astype("float32")


@pytest.mark.parametrize("transformer", TRANSFORMERS)
def test_forward_inverts_inverse(transformer):
    x = np.random.default_rng(1).normal(scale=3.0, size=(64, 3)).astype("float32")
    params = _params(transformer, x.shape, scale=2.0)
    z, _ = transformer.inverse_and_log_det(x, params)
    np.testing.assert_allclose(_np(transformer.forward(z, params)), x, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("transformer", TRANSFORMERS)
def test_log_det_is_the_autodiff_derivative(transformer):
    x = tf.constant(np.random.default_rng(2).normal(scale=3.0, size=(64, 3)).astype("float32"))
    params = _params(transformer, x.shape, scale=2.0)
    with tf.GradientTape() as tape:
        tape.watch(x)
        z, log_det = transformer.inverse_and_log_det(x, params)
    derivative = _np(tape.gradient(z, x))
    assert np.all(derivative > 0.0)
    np.testing.assert_allclose(_np(log_det), np.log(derivative), rtol=1e-4, atol=1e-4)


def test_affine_map_is_scale_then_shift_with_a_soft_clipped_log_scale():
    affine = AffineTransformer(log_scale_bound=2.0)
    x = np.random.default_rng(3).normal(size=(50, 2)).astype("float64")
    params = 30.0 * np.random.default_rng(4).normal(size=(50, 2, 2))
    shift, raw = params[..., 0], params[..., 1]
    log_scale = raw / (1.0 + np.abs(raw) / 2.0)
    z, log_det = affine.inverse_and_log_det(x.astype("float32"), params.astype("float32"))
    np.testing.assert_allclose(_np(z), x * np.exp(-log_scale) + shift, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(_np(log_det), -log_scale, rtol=1e-5, atol=1e-5)
    assert np.all(np.abs(log_scale) < 2.0) and np.abs(log_scale).max() > 1.9


def test_soft_clip_is_odd_bounded_and_the_identity_near_zero():
    value = np.linspace(-1e4, 1e4, 2001).astype("float32")
    clipped = _np(soft_clip(value, 3.0))
    np.testing.assert_allclose(clipped, -_np(soft_clip(-value, 3.0)))
    assert np.all(np.abs(clipped) < 3.0)
    np.testing.assert_allclose(soft_clip(np.float32(1e-4), 3.0), 1e-4, rtol=1e-4)


@pytest.mark.parametrize("transformer", TRANSFORMERS)
def test_keras_serialisation_round_trips(transformer):
    config = keras.saving.serialize_keras_object(transformer)
    again = get_transformer(config)
    assert type(again) is type(transformer) and again.get_config() == transformer.get_config()


def test_invalid_transformer_names_the_argument():
    with pytest.raises(ValueError, match="`transformer`"):
        get_transformer("affine")
    with pytest.raises(ValueError, match="`log_scale_bound`"):
        AffineTransformer(log_scale_bound=-1.0)
