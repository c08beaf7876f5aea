"""Element-wise transformers: inverse of each other, log-derivatives by autodiff, monotonicity, serialisation."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from tfp_arch.layers.flows.spline import RationalQuadraticSplineTransformer
from tfp_arch.layers.flows.autoregressive import MaskedAutoregressiveTransform
from tfp_arch.layers.flows.transformers import AffineTransformer, ElementwiseTransformer, get_transformer, soft_clip

TRANSFORMERS = [
    AffineTransformer(),
    AffineTransformer(log_scale_bound=None),
    AffineTransformer(log_scale_bound=2.0),
    RationalQuadraticSplineTransformer(),
    RationalQuadraticSplineTransformer(bins=3, bound=2.0, min_bin_size=0.05, min_slope=0.1),
]


def _np(value):
    return np.asarray(keras.ops.convert_to_numpy(value))


def _params(transformer, shape, scale=1.0, seed=0):
    rng = np.random.default_rng(seed)
    return (scale * rng.normal(size=(*shape, transformer.num_params))).astype("float32")


@pytest.mark.parametrize("transformer", TRANSFORMERS)
def test_forward_inverts_inverse(transformer):
    x = np.random.default_rng(1).normal(scale=3.0, size=(64, 3)).astype("float32")
    params = _params(transformer, x.shape)
    z, _ = transformer.inverse_and_log_det(x, params)
    np.testing.assert_allclose(_np(transformer.forward(z, params)), x, rtol=1e-4, atol=1e-4)


class _Shift(ElementwiseTransformer):
    """A transformer that implements only `forward`, not `forward_parameters_first`."""

    num_params = 1

    def inverse_and_log_det(self, x, params):
        return x + tf.sinh(params[..., 0]), tf.zeros_like(x)

    def forward(self, z, params):
        return z - tf.sinh(params[..., 0])


@pytest.mark.parametrize("transformer", [*TRANSFORMERS, _Shift()])
def test_forward_with_the_parameters_first_is_forward(transformer):
    z = np.random.default_rng(3).normal(scale=3.0, size=(64, 3)).astype("float32")
    params = _params(transformer, z.shape, scale=2.0)
    first = transformer.forward_parameters_first(z, np.moveaxis(params, -1, 0))
    np.testing.assert_allclose(_np(first), _np(transformer.forward(z, params)), rtol=1e-6, atol=1e-6)


def test_an_autoregressive_transform_samples_with_a_transformer_that_has_only_forward():
    transform = MaskedAutoregressiveTransform(transformer=_Shift(), hidden_units=[8], seed=1)
    transform.build((None, 4))
    for weight in transform.trainable_weights:
        weight.assign(np.random.default_rng(4).normal(scale=0.5, size=weight.shape).astype("float32"))
    z = np.random.default_rng(5).normal(size=(16, 4)).astype("float32")
    x = transform.forward(z)
    assert np.abs(_np(x) - z).max() > 0.1
    np.testing.assert_allclose(_np(transform.inverse_and_log_det(x)[0]), z, rtol=1e-5, atol=1e-5)


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


SPLINE = RationalQuadraticSplineTransformer(bins=6, bound=3.0)


def _spline_params(n: int, scale: float = 2.0, seed: int = 5) -> np.ndarray:
    return _params(SPLINE, (n,), scale=scale, seed=seed)


def test_spline_is_the_identity_outside_the_bound_and_for_zero_parameters():
    x = np.concatenate([np.linspace(-9.0, -3.001, 50), np.linspace(3.001, 9.0, 50)]).astype("float32")
    z, log_det = SPLINE.inverse_and_log_det(x, _spline_params(100))
    np.testing.assert_array_equal(_np(z), x)
    np.testing.assert_array_equal(_np(log_det), 0.0)
    inside = np.linspace(-2.9, 2.9, 100).astype("float32")
    z, log_det = SPLINE.inverse_and_log_det(inside, np.zeros((100, SPLINE.num_params), "float32"))
    np.testing.assert_allclose(_np(z), inside, atol=1e-5)
    np.testing.assert_allclose(_np(log_det), 0.0, atol=1e-5)


@pytest.mark.slow
def test_spline_round_trip_inside_and_outside_the_bound_to_float32_precision():
    """Each direction loses what float32 rounding loses, times the condition number of the step
    that follows it: data to latent to data is off by rounding / f'(x), latent to data to latent by
    rounding * f'(x) (the map can be very flat or very steep). So the round trips are checked
    with those condition numbers in float32, and tightly in float64. Parameters of scale 2 give
    bins whose widths differ by factors up to about e^8 within one spline."""
    x = np.linspace(-6.0, 6.0, 4001)
    params = _spline_params(len(x), scale=2.0)
    z, log_det = SPLINE.inverse_and_log_det(x.astype("float32"), params)
    z, derivative = _np(z), np.exp(_np(log_det).astype("float64"))
    rounding = 32 * np.finfo("float32").eps * 6.0
    back = _np(SPLINE.forward(z, params)).astype("float64")
    assert np.all(np.abs(back - x) <= rounding * (1.0 + 1.0 / derivative))
    zs = np.linspace(-6.0, 6.0, 4001).astype("float32")
    xs = SPLINE.forward(zs, params)
    again, log_det = SPLINE.inverse_and_log_det(xs, params)
    assert np.all(np.abs(_np(again) - zs) <= rounding * (1.0 + np.exp(_np(log_det).astype("float64"))))
    outside = np.abs(x) > 3.0
    np.testing.assert_array_equal(back[outside], x.astype("float32")[outside])
    z64, _ = SPLINE.inverse_and_log_det(x, params.astype("float64"))
    np.testing.assert_allclose(_np(SPLINE.forward(z64, params.astype("float64"))), x, rtol=0, atol=1e-9)


def test_spline_is_strictly_increasing_and_continuous():
    x = np.linspace(-4.0, 4.0, 20001).astype("float32")
    params = np.broadcast_to(_spline_params(1, scale=3.0), (len(x), SPLINE.num_params))
    z, log_det = SPLINE.inverse_and_log_det(x, params)
    steps = np.diff(_np(z).astype("float64"))
    assert np.all(steps > 0.0)
    assert steps.max() < np.exp(_np(log_det)).max() * (x[1] - x[0]) * 1.01


def test_spline_passes_through_its_knots_with_the_paper_parameterisation():
    """Knots from the paper's recipe, computed here in NumPy: softmax widths and heights floored
    at `min_bin_size`, cumulated from `-B`; interior derivatives `min_slope + softplus(d + c)` with
    `c` making `d = 0` slope 1; boundary derivatives 1."""
    raw = _spline_params(1, scale=2.0)[0].astype("float64")
    bins, bound, floor, least = SPLINE.bins, SPLINE.bound, SPLINE.min_bin_size, SPLINE.min_slope

    def knots(u):
        fractions = floor + (1 - floor * bins) * np.exp(u - u.max()) / np.exp(u - u.max()).sum()
        return -bound + 2 * bound * np.concatenate([[0.0], np.cumsum(fractions)])

    xs, ys = knots(raw[:bins]), knots(raw[bins : 2 * bins])
    slopes = least + np.log1p(np.exp(raw[2 * bins :] + np.log(np.expm1(1 - least))))
    x = tf.constant(np.concatenate([xs[1:-1], [-bound + 1e-9, bound - 1e-9]]))
    params = np.broadcast_to(raw, (bins + 1, SPLINE.num_params))
    with tf.GradientTape() as tape:
        tape.watch(x)
        z, _ = SPLINE.inverse_and_log_det(x, params)
    np.testing.assert_allclose(_np(z)[:-2], ys[1:-1], rtol=0, atol=1e-12)
    np.testing.assert_allclose(_np(tape.gradient(z, x)), np.concatenate([slopes, [1.0, 1.0]]), rtol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_spline_matches_tensorflow_probability(dtype):
    """TFP's `RationalQuadraticSpline` on the same knots is the independent implementation."""
    x = np.linspace(-4.0, 4.0, 801).astype(dtype)
    params = _spline_params(len(x), scale=1.5).astype(dtype)
    xs, ys, slopes = (_np(array) for array in SPLINE.knots(params))
    reference = tfp.bijectors.RationalQuadraticSpline(
        np.diff(xs, axis=-1), np.diff(ys, axis=-1), slopes[..., 1:-1], range_min=-SPLINE.bound
    )
    tolerance = 2e-5 if dtype == "float32" else 1e-10
    z, log_det = SPLINE.inverse_and_log_det(x, params)
    np.testing.assert_allclose(_np(z), _np(reference.forward(x)), rtol=tolerance, atol=tolerance)
    np.testing.assert_allclose(
        _np(log_det), _np(reference.forward_log_det_jacobian(x, event_ndims=0)), rtol=tolerance, atol=10 * tolerance
    )
    np.testing.assert_allclose(_np(SPLINE.forward(x, params)), _np(reference.inverse(x)), rtol=tolerance,
                               atol=10 * tolerance)


@pytest.mark.parametrize("kwargs, argument", [({"bins": 0}, "bins"), ({"bound": -1.0}, "bound"),
                                              ({"min_bin_size": 0.5}, "min_bin_size"), ({"min_slope": 1.0}, "min_slope")])
def test_invalid_spline_arguments_name_the_argument(kwargs, argument):
    with pytest.raises(ValueError, match=f"`{argument}`"):
        RationalQuadraticSplineTransformer(**kwargs)
