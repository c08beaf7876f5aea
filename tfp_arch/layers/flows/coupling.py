"""The coupling transform: half the variables condition an element-wise map of the other half."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from tfp_arch.layers.flows.transformers import (
    AffineTransformer,
    ElementwiseTransformer,
    get_transformer,
    parameters_per_dimension,
)
from tfp_arch.validation import activation_name, invalid_argument, positive_int, positive_ints

__all__ = ["CouplingTransform", "coupling_conditioner"]


def coupling_conditioner(hidden_units: list[int] | tuple[int, ...], activation: str) -> dict[str, Any]:
    """The checked settings of the dense networks of a flow's coupling transforms, as `CouplingTransform` takes them.

    Args:
        hidden_units: hidden layer widths, positive integers.
        activation: the name of a Keras activation.

    Returns:
        `{"hidden_units": [...], "activation": ...}`.

    Raises:
        ValueError: naming the first argument whose value is refused.
    """
    return {
        "hidden_units": positive_ints("hidden_units", hidden_units),
        "activation": activation_name("activation", activation),
    }


@keras.saving.register_keras_serializable(package="tfp_arch")
class CouplingTransform(keras.layers.Layer):
    """A coupling transform (Dinh et al., 2017; Durkan et al., 2019) for any element-wise transformer.

    The variables where `mask` is False pass through unchanged and, with the optional context,
    feed a dense network; the network gives the transformer's parameters for every variable where
    `mask` is True. Both directions are one pass of the network, so sampling costs the same as
    density evaluation, and the log-determinant is the sum of the element-wise log-derivatives.

    Args:
        mask: one bool per variable, True for the variables the transformer maps; at least one
            True and one False.
        transformer: an `ElementwiseTransformer` or its Keras serialisation (default: affine).
        hidden_units: hidden layer widths of the conditioner network.
        activation: its hidden activation.
        context_size: width of the conditioning input, or None.
        **kwargs: passed to `keras.layers.Layer`.

    Example:
        >>> coupling = CouplingTransform(mask=[False, True, True], hidden_units=[16])
        >>> z, log_det = coupling.inverse_and_log_det(np.ones((4, 3), "float32"))
        >>> x = coupling.forward(z)                       # equals the input, up to rounding
    """

    def __init__(
        self,
        mask: list[bool],
        transformer: ElementwiseTransformer | dict[str, Any] | None = None,
        hidden_units: list[int] | tuple[int, ...] = (100, 100),
        activation: str = "relu",
        context_size: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.mask = [bool(value) for value in mask]
        if all(self.mask) or not any(self.mask):
            raise invalid_argument(
                "mask", "expected at least one True (mapped) and one False (conditioning) variable", list(mask)
            )
        self.transformer = AffineTransformer() if transformer is None else get_transformer(transformer)
        self.hidden_units = [positive_int("hidden_units", units) for units in hidden_units]
        self.activation = activation
        self.context_size = None if context_size is None else positive_int("context_size", context_size)
        self._mapped = np.flatnonzero(self.mask)
        self._kept = np.flatnonzero(~np.asarray(self.mask))
        self._restore = np.argsort(np.concatenate([self._kept, self._mapped]))
        self.hidden = [keras.layers.Dense(units, activation=activation) for units in self.hidden_units]
        self.output_layer = keras.layers.Dense(self.transformer.num_params * len(self._mapped))

    def build(self, input_shape: tuple[Any, ...]) -> None:
        if int(input_shape[-1]) != len(self.mask):
            raise ValueError(
                f"CouplingTransform has a mask of {len(self.mask)} variables and cannot take inputs of "
                f"shape {tuple(input_shape)}."
            )
        width = len(self._kept) + (self.context_size or 0)
        for layer in self.hidden:
            layer.build((None, width))
            width = layer.units
        self.output_layer.build((None, width))

    def _params(self, kept: Any, context: Any) -> Any:
        if (context is None) != (self.context_size is None):
            raise ValueError("Pass `context=` exactly when the coupling transform was built with `context_size`.")
        hidden = kept if context is None else ops.concatenate([kept, context], axis=-1)
        for layer in self.hidden:
            hidden = layer(hidden)
        return parameters_per_dimension(self.output_layer(hidden), self.transformer.num_params, len(self._mapped))

    def _apply(self, values: Any, context: Any, inverse: bool) -> tuple[Any, Any]:
        kept, mapped = ops.take(values, self._kept, axis=-1), ops.take(values, self._mapped, axis=-1)
        params = self._params(kept, context)
        if inverse:
            mapped, log_det = self.transformer.inverse_and_log_det(mapped, params)
            log_det = ops.sum(log_det, axis=-1)
        else:
            mapped, log_det = self.transformer.forward(mapped, params), None
        return ops.take(ops.concatenate([kept, mapped], axis=-1), self._restore, axis=-1), log_det

    def inverse_and_log_det(self, x: Any, context: Any = None) -> tuple[Any, Any]:
        """Data to latent in one pass: `(z, log |det dz/dx|)`, shapes `(..., D)` and `(...)`."""
        return self._apply(x, context, inverse=True)

    def forward(self, z: Any, context: Any = None) -> Any:
        """Latent to data in one pass: the inverse of `inverse_and_log_det`."""
        return self._apply(z, context, inverse=False)[0]

    def call(self, x: Any, context: Any = None) -> Any:
        """The latent values (data-to-latent direction)."""
        return self.inverse_and_log_det(x, context)[0]

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "mask": list(self.mask),
            "transformer": keras.saving.serialize_keras_object(self.transformer),
            "hidden_units": list(self.hidden_units),
            "activation": self.activation,
            "context_size": self.context_size,
        }
