"""Element-wise transformers: the monotone one-dimensional maps a flow transform applies per dimension."""

from __future__ import annotations

import math
from typing import Any

import keras
from keras import ops

from tfp_arch.validation import invalid_argument, positive_float

__all__ = [
    "DEFAULT_LOG_SCALE_BOUND",
    "AffineTransformer",
    "ElementwiseTransformer",
    "get_transformer",
    "parameters_per_dimension",
    "soft_clip",
]

DEFAULT_LOG_SCALE_BOUND = math.log(1000.0)


def soft_clip(value: Any, bound: float) -> Any:
    """`value / (1 + |value| / bound)`: the identity near 0, smooth, odd and inside `(-bound, bound)`.

    Unlike `bound * tanh(value / bound)` it approaches the bound slowly (as `1 / |value|`), so its
    gradient stays away from zero for large log-scales.

    Args:
        value: a tensor.
        bound: the positive bound.

    Returns:
        The clipped tensor, same shape as `value`.

    Example:
        >>> float(soft_clip(np.float32(3.0), 3.0))
        1.5
    """
    return value / (1.0 + ops.abs(value) / bound)


def parameters_per_dimension(outputs: Any, num_params: int, size: int) -> Any:
    """A conditioner's parameter-major outputs `(..., num_params * size)` as `(..., size, num_params)`.

    Column `p * size + i` of the outputs is parameter `p` of dimension `i`.
    """
    params = ops.reshape(outputs, (*ops.shape(outputs)[:-1], num_params, size))
    return ops.swapaxes(params, -1, -2)


class ElementwiseTransformer:
    """Base class of the monotone maps that flow transforms apply to each dimension.

    A transformer maps every element of `x` with its own parameters: `params` has the shape of
    `x` plus a last axis of `num_params` unconstrained numbers, which a conditioner network
    (a `MADE`, a coupling network) produces. The transformer turns them into a valid map.
    Directions follow the flows: `inverse` goes from data to latent (density evaluation) and
    `forward` from latent to data (sampling).

    A subclass must provide:
        num_params: the number of unconstrained parameters per element.
        inverse_and_log_det(x, params): `(z, log |dz/dx|)`, both of the shape of `x`.
        forward(z, params): the inverse map of `inverse_and_log_det`, shape of `z`.
        get_config(): the constructor arguments, plain values.
    It may override `forward_parameters_first`, the same map with the parameters' axis first,
    the layout an autoregressive sampler computes them in.

    Subclasses are Keras-serializable, so a layer can store its transformer in `get_config`.
    """

    num_params: int = 0

    def inverse_and_log_det(self, x: Any, params: Any) -> tuple[Any, Any]:
        """Data to latent, element-wise, with the log-derivative of every element."""
        raise NotImplementedError

    def forward(self, z: Any, params: Any) -> Any:
        """Latent to data, element-wise: the inverse of `inverse_and_log_det`."""
        raise NotImplementedError

    def forward_parameters_first(self, z: Any, params: Any) -> Any:
        """`forward` with `params` of shape `(num_params, ...)`, the shape of `z` after the first axis."""
        return self.forward(z, ops.moveaxis(params, 0, -1))

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ElementwiseTransformer:
        return cls(**config)


@keras.saving.register_keras_serializable(package="tfp_arch")
class AffineTransformer(ElementwiseTransformer):
    """`z = x * exp(-s) + shift`: scale, then shift, with a soft-clipped log-scale `s`.

    The parameters are `(shift, raw log-scale)`; the log-scale is `soft_clip(raw, log_scale_bound)`,
    so with the default bound `log(1000)` every scale stays within `[1e-3, 1e3]`. The shift is in
    latent units (as zuko's MAF): with the shift applied before the scale,
    `z = (x - shift) * exp(-s)`, the shift's gradient is multiplied by `exp(-s)` (up to `1e3` per
    transform), and maximum-likelihood training on data with near-discrete columns can diverge.

    Args:
        log_scale_bound: bound of the soft clip of the log-scale; None leaves it unbounded.

    Example:
        >>> affine = AffineTransformer()
        >>> z, log_det = affine.inverse_and_log_det(np.ones(3, "float32"), np.zeros((3, 2), "float32"))
    """

    num_params = 2

    def __init__(self, log_scale_bound: float | None = DEFAULT_LOG_SCALE_BOUND) -> None:
        if log_scale_bound is not None:
            log_scale_bound = positive_float("log_scale_bound", log_scale_bound)
        self.log_scale_bound = log_scale_bound

    def shift_and_log_scale(self, params: Any) -> tuple[Any, Any]:
        """The shift and the soft-clipped log-scale from the raw parameters `(..., 2)`."""
        return self._bounded(params[..., 0], params[..., 1])

    def _bounded(self, shift: Any, log_scale: Any) -> tuple[Any, Any]:
        if self.log_scale_bound is not None:
            log_scale = soft_clip(log_scale, self.log_scale_bound)
        return shift, log_scale

    def inverse_and_log_det(self, x: Any, params: Any) -> tuple[Any, Any]:
        shift, log_scale = self.shift_and_log_scale(params)
        return x * ops.exp(-log_scale) + shift, -log_scale

    def forward(self, z: Any, params: Any) -> Any:
        return self.forward_parameters_first(z, ops.moveaxis(params, -1, 0))

    def forward_parameters_first(self, z: Any, params: Any) -> Any:
        shift, log_scale = self._bounded(params[0], params[1])
        return (z - shift) * ops.exp(log_scale)

    def get_config(self) -> dict[str, Any]:
        return {"log_scale_bound": self.log_scale_bound}


def get_transformer(transformer: ElementwiseTransformer | dict[str, Any]) -> ElementwiseTransformer:
    """A transformer from an instance or from its Keras serialisation (`serialize_keras_object`).

    Raises:
        ValueError: naming the argument when `transformer` is neither.
    """
    if isinstance(transformer, dict):
        transformer = keras.saving.deserialize_keras_object(transformer)
    if not isinstance(transformer, ElementwiseTransformer):
        raise invalid_argument(
            "transformer", "expected an ElementwiseTransformer or its Keras serialisation", transformer
        )
    return transformer
