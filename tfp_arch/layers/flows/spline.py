"""The rational-quadratic spline transformer of neural spline flows (Durkan et al., 2019)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from tfp_arch.layers.flows.transformers import ElementwiseTransformer
from tfp_arch.validation import float_in_range, invalid_argument, positive_float, positive_int

__all__ = ["RationalQuadraticSplineTransformer"]


@keras.saving.register_keras_serializable(package="tfp_arch")
class RationalQuadraticSplineTransformer(ElementwiseTransformer):
    """A monotone rational-quadratic spline on `[-bound, bound]`, the identity outside.

    The `3 * bins - 1` parameters per element are, as in the paper, `bins` unnormalised widths,
    `bins` unnormalised heights and `bins - 1` unnormalised derivatives at the interior knots.
    Widths and heights go through a softmax, are floored at `min_bin_size` of the interval and
    scaled to `2 * bound`; the derivatives are `min_slope + softplus(d + c)`, where the constant `c`
    makes zero parameters give slope 1. The boundary derivatives are 1, so the map joins the
    identity tails with a continuous derivative, and zero parameters give the identity map.
    Data to latent is the spline (eq. 4 of the paper), sampling its inverse, the stable root of a
    quadratic (eq. 6-8); both are closed forms in Keras ops, computed in one pass with the
    log-derivative. The tests check them against TFP's `tfp.bijectors.RationalQuadraticSpline`.
    The knots' cumulative sums are one product with a constant triangular matrix. From latent to
    data (sampling), the knots, the bin search and the root run as one XLA-compiled function on
    parameters laid out `(num_params, ...)` (`forward_parameters_first`, the layout an
    autoregressive sampler computes them in), and only the two derivatives of the bin go through
    the softplus. Its knots can differ from `inverse_and_log_det`'s in the last bit (other
    operations, other rounding), which a round trip amplifies by the map's condition number; the
    tests bound the round trip by float32 rounding times that condition number.

    Args:
        bins: number of bins K.
        bound: half-width B of the interval the spline covers.
        min_bin_size: smallest width and height of a bin, as a fraction of `2 * bound`.
        min_slope: smallest derivative at a knot.

    Example:
        >>> spline = RationalQuadraticSplineTransformer(bins=4, bound=3.0)
        >>> params = np.zeros((5, 2, spline.num_params), "float32")
        >>> z, log_det = spline.inverse_and_log_det(np.ones((5, 2), "float32"), params)  # identity
    """

    def __init__(self, bins: int = 8, bound: float = 5.0, min_bin_size: float = 1e-3, min_slope: float = 1e-3) -> None:
        self.bins = positive_int("bins", bins)
        self.bound = positive_float("bound", bound)
        self.min_bin_size = positive_float("min_bin_size", min_bin_size)
        if self.min_bin_size * self.bins >= 1.0:
            raise invalid_argument("min_bin_size", f"expected less than 1 / bins = {1.0 / self.bins}", min_bin_size)
        self.min_slope = float_in_range("min_slope", min_slope, 0.0, 1.0, "()")
        self.num_params = 3 * self.bins - 1
        self._slope_offset = math.log(math.expm1(1.0 - self.min_slope))
        scale = 2.0 * self.bound * (1.0 - self.min_bin_size * self.bins)
        self._cumulative = np.triu(np.ones((self.bins, self.bins - 1))) * scale
        self._inner_offsets = -self.bound + 2.0 * self.bound * self.min_bin_size * np.arange(1, self.bins)
        self._compiled_root: Callable[[Any, Any], Any] | None = None

    def _interior(self, params: Any) -> tuple[Any, Any]:
        """The interior knots `(x_k, y_k)`, shape `(..., 2, bins - 1)`, and derivatives `(..., bins - 1)`."""
        bins = self.bins
        unnormalized = ops.reshape(params[..., : 2 * bins], (*ops.shape(params)[:-1], 2, bins))
        dtype = unnormalized.dtype
        fractions = ops.softmax(unnormalized, axis=-1)
        positions = ops.matmul(fractions, ops.convert_to_tensor(self._cumulative, dtype))
        positions = positions + ops.convert_to_tensor(self._inner_offsets, dtype)
        return positions, self._derivative(params[..., 2 * bins :])

    def _derivative(self, unnormalized: Any) -> Any:
        """Interior knot derivatives from their unnormalised parameters."""
        return self.min_slope + ops.softplus(unnormalized + self._slope_offset)

    def _with_edges(self, positions: Any, slopes: Any) -> tuple[Any, Any, Any]:
        """`(x_k, y_k, d_k)`, each `(..., bins + 1)`, from the interior knots and derivatives."""
        edge = ops.ones_like(positions[..., :1]) * self.bound
        positions = ops.concatenate([-edge, positions, edge], axis=-1)
        ones = ops.ones_like(slopes[..., :1])
        return positions[..., 0, :], positions[..., 1, :], ops.concatenate([ones, slopes, ones], axis=-1)

    def knots(self, params: Any) -> tuple[Any, Any, Any]:
        """Knot positions `(x_k, y_k)` and derivatives `d_k`, each `(..., bins + 1)`, from the parameters."""
        return self._with_edges(*self._interior(params))

    def _bin(self, value: Any, positions: Any, knots: tuple[Any, Any, Any]) -> tuple[Any, ...]:
        """The clipped value and the knots `(x_k, x_k+1, y_k, y_k+1, d_k, d_k+1)` of its bin."""
        value = ops.clip(value, -self.bound, self.bound)
        index = ops.sum(ops.cast(positions[..., 1:-1] <= value[..., None], "int32"), axis=-1)
        dtype = positions.dtype
        here, there = ops.one_hot(index, self.bins + 1, dtype=dtype), ops.one_hot(index + 1, self.bins + 1, dtype=dtype)
        pairs = [(ops.sum(array * here, axis=-1), ops.sum(array * there, axis=-1)) for array in knots]
        return (value, *pairs[0], *pairs[1], *pairs[2])

    def inverse_and_log_det(self, x: Any, params: Any) -> tuple[Any, Any]:
        knots = self.knots(params)
        clipped, x0, x1, y0, y1, d0, d1 = self._bin(x, knots[0], knots)
        width, height = x1 - x0, y1 - y0
        slope = height / width
        xi = (clipped - x0) / width
        between = xi * (1.0 - xi)
        denominator = slope + (d0 + d1 - 2.0 * slope) * between
        y = y0 + height * (slope * xi * xi + d0 * between) / denominator
        derivative = ops.square(slope) * (d1 * xi * xi + 2.0 * slope * between + d0 * ops.square(1.0 - xi))
        log_det = ops.log(derivative) - 2.0 * ops.log(denominator)
        inside = ops.abs(x) <= self.bound
        return ops.where(inside, y, x), ops.where(inside, log_det, ops.zeros_like(log_det))

    def forward(self, z: Any, params: Any) -> Any:
        """The inverse spline at `z` (latent to data) from parameters `(..., num_params)`."""
        return self.forward_parameters_first(z, ops.moveaxis(params, -1, 0))

    def forward_parameters_first(self, z: Any, params: Any) -> Any:
        """The inverse spline at `z` (latent to data) from parameters `(num_params, ...)`.

        In this layout every knot is a row of the batch, so the softmax, the cumulative sums and
        the bin search work on whole rows; the knots, the bin search and the root run as one
        XLA-compiled function.
        """
        if self._compiled_root is None:
            self._compiled_root = tf.function(self._root, jit_compile=True, reduce_retracing=True)
        shape = ops.shape(z)
        return ops.reshape(
            self._compiled_root(ops.reshape(z, (-1,)), ops.reshape(params, (self.num_params, -1))), shape
        )

    def _root(self, z: Any, params: Any) -> Any:
        """The inverse spline at `z`, shape `(m,)`, from its parameters `(num_params, m)`: the knots
        (by the formulas of `knots`), the bin search and the stable quadratic root."""
        bins, bound = self.bins, self.bound
        unnormalized = ops.reshape(params[: 2 * bins], (2, bins, -1))
        shifted = ops.exp(unnormalized - ops.max(unnormalized, axis=1, keepdims=True))
        fractions = shifted / ops.sum(shifted, axis=1, keepdims=True)
        dtype = fractions.dtype
        cumulative = ops.convert_to_tensor(self._cumulative.T, dtype)  # (bins - 1, bins)
        positions = ops.matmul(cumulative, fractions) + ops.convert_to_tensor(self._inner_offsets[:, None], dtype)
        edge = ops.ones_like(positions[:, :1]) * bound
        positions = ops.concatenate([-edge, positions, edge], axis=1)  # (2, bins + 1, m)
        clipped = ops.clip(z, -bound, bound)
        index = ops.sum(ops.cast(positions[1, 1:-1] <= clipped[None], "int32"), axis=0)
        rows = ops.arange(bins + 1)[:, None]
        here, there = [ops.cast(rows == at[None], dtype) for at in (index, index + 1)]
        x0, x1, y0, y1 = [
            ops.sum(array * mask, axis=0) for array in (positions[0], positions[1]) for mask in (here, there)
        ]
        # Derivatives only at the bin's two knots: 1 at the interval's ends, softplus inside.
        raw = ops.concatenate([ops.zeros_like(params[:1]), params[2 * bins :], ops.zeros_like(params[:1])], axis=0)
        d0, d1 = [
            ops.where((at == 0) | (at == bins), 1.0, self._derivative(ops.sum(raw * mask, axis=0)))
            for at, mask in ((index, here), (index + 1, there))
        ]
        width, height = x1 - x0, y1 - y0
        slope = height / width
        offset = clipped - y0
        curvature = d0 + d1 - 2.0 * slope
        a = height * (slope - d0) + offset * curvature
        b = height * d0 - offset * curvature
        c = -slope * offset
        xi = 2.0 * c / (-b - ops.sqrt(ops.maximum(b * b - 4.0 * a * c, 0.0)))
        return ops.where(ops.abs(z) <= bound, x0 + xi * width, z)

    def get_config(self) -> dict[str, Any]:
        return {"bins": self.bins, "bound": self.bound, "min_bin_size": self.min_bin_size, "min_slope": self.min_slope}
