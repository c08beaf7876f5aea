"""The rational-quadratic spline transformer of neural spline flows (Durkan et al., 2019)."""

from __future__ import annotations

import math
from typing import Any

import keras
import tensorflow_probability as tfp
from keras import ops

from tfp_arch.layers.transformers import ElementwiseTransformer
from tfp_arch.validation import positive_float, positive_int

__all__ = ["RationalQuadraticSplineTransformer"]

tfb = tfp.bijectors


@keras.saving.register_keras_serializable(package="tfp_arch")
class RationalQuadraticSplineTransformer(ElementwiseTransformer):
    """A monotone rational-quadratic spline on `[-bound, bound]`, the identity outside.

    The `3 * bins - 1` parameters per element are, as in the paper, `bins` unnormalised widths,
    `bins` unnormalised heights and `bins - 1` unnormalised derivatives at the interior knots.
    Widths and heights go through a softmax, are floored at `min_bin_size` of the interval and
    scaled to `2 * bound`; the derivatives are `min_slope + softplus(d + c)`, where the constant `c`
    makes zero parameters give slope 1. The boundary derivatives are 1, so the map joins the
    identity tails with a continuous derivative, and zero parameters give the identity map.
    The map itself is TFP's `tfp.bijectors.RationalQuadraticSpline`; data to latent is its
    forward direction, sampling its inverse (the root of a quadratic), both closed forms.

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

    def __init__(
        self, bins: int = 8, bound: float = 5.0, min_bin_size: float = 1e-3, min_slope: float = 1e-3
    ) -> None:
        self.bins = positive_int("bins", bins)
        self.bound = positive_float("bound", bound)
        self.min_bin_size = positive_float("min_bin_size", min_bin_size)
        if self.min_bin_size * self.bins >= 1.0:
            raise ValueError(
                "Invalid value for argument `min_bin_size`: expected less than 1 / bins = "
                f"{1.0 / self.bins}. Received: min_bin_size={min_bin_size!r}"
            )
        self.min_slope = positive_float("min_slope", min_slope)
        if self.min_slope >= 1.0:
            raise ValueError(
                f"Invalid value for argument `min_slope`: expected less than 1. Received: min_slope={min_slope!r}"
            )
        self.num_params = 3 * self.bins - 1
        self._slope_offset = math.log(math.expm1(1.0 - self.min_slope))

    def _sizes(self, unnormalized: Any) -> Any:
        fractions = self.min_bin_size + (1.0 - self.min_bin_size * self.bins) * ops.softmax(unnormalized, axis=-1)
        return 2.0 * self.bound * fractions

    def spline(self, params: Any) -> tfb.RationalQuadraticSpline:
        """The TFP bijector of every element, from parameters of shape `(..., 3 * bins - 1)`."""
        bins = self.bins
        widths = self._sizes(params[..., :bins])
        heights = self._sizes(params[..., bins : 2 * bins])
        slopes = self.min_slope + ops.softplus(params[..., 2 * bins :] + self._slope_offset)
        return tfb.RationalQuadraticSpline(widths, heights, slopes, range_min=-self.bound)

    def inverse_and_log_det(self, x: Any, params: Any) -> tuple[Any, Any]:
        spline = self.spline(params)
        return spline.forward(x), spline.forward_log_det_jacobian(x, event_ndims=0)

    def forward(self, z: Any, params: Any) -> Any:
        return self.spline(params).inverse(z)

    def get_config(self) -> dict[str, Any]:
        return {"bins": self.bins, "bound": self.bound, "min_bin_size": self.min_bin_size, "min_slope": self.min_slope}
