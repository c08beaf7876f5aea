"""The masked autoregressive transform: a MADE conditioner and any element-wise transformer."""

from __future__ import annotations

import inspect
from typing import Any

import keras
from keras import ops

from tfp_arch.layers.flows.made import HIDDEN_DEGREES, MADE
from tfp_arch.layers.flows.transformers import AffineTransformer, ElementwiseTransformer, get_transformer
from tfp_arch.validation import activation_name, one_of, positive_ints

__all__ = ["MaskedAutoregressiveTransform", "autoregressive_conditioner"]

_MADE_ARGUMENTS = tuple(
    name
    for name in inspect.signature(MADE.__init__).parameters
    if name not in ("self", "num_params", "params", "kwargs")
)


def autoregressive_conditioner(
    hidden_units: list[int] | tuple[int, ...], activation: str, hidden_degrees: str
) -> dict[str, Any]:
    """The checked MADE settings of a flow's autoregressive transforms, as `MaskedAutoregressiveTransform` takes them.

    Args:
        hidden_units: hidden layer widths, positive integers.
        activation: the name of a Keras activation.
        hidden_degrees: `"equal"` or `"random"`.

    Returns:
        `{"hidden_units": [...], "activation": ..., "hidden_degrees": ...}`.

    Raises:
        ValueError: naming the first argument whose value is refused.
    """
    return {
        "hidden_units": positive_ints("hidden_units", hidden_units),
        "activation": activation_name("activation", activation),
        "hidden_degrees": one_of("hidden_degrees", hidden_degrees, HIDDEN_DEGREES),
    }


@keras.saving.register_keras_serializable(package="tfp_arch")
class MaskedAutoregressiveTransform(keras.layers.Layer):
    """An autoregressive transform (Papamakarios et al., 2017) for any element-wise transformer.

    Data to latent, `z_i = f(x_i; theta_i(x_<i, context))`, where `theta` comes from a `MADE` with
    `transformer.num_params` outputs per dimension and `f` is the transformer (affine for MAF, a
    rational-quadratic spline for NSF). The inverse direction (data to latent, density evaluation)
    is one MADE pass and its log-determinant is the sum of the element-wise log-derivatives, since
    the Jacobian is triangular in the MADE's order. The forward direction (latent to data, sampling)
    runs `D` sequential steps that together cost one MADE pass: each step computes only the hidden
    units the next variable adds (`MADE.autoregressive_pass`); the steps are unrolled in the graph
    (`D` is static).

    Args:
        transformer: an `ElementwiseTransformer` or its Keras serialisation (default: affine).
        **kwargs: the arguments of `MADE` but `num_params` (`hidden_units`, `input_order`,
            `hidden_degrees`, `activation`, `context_size`, `seed`, `kernel_initializer`), which the
            transformer sets; the others go to `keras.layers.Layer`.

    Example:
        >>> transform = MaskedAutoregressiveTransform(hidden_units=[16])
        >>> z, log_det = transform.inverse_and_log_det(np.ones((4, 3), "float32"))
        >>> x = transform.forward(z)                      # equals the input, up to rounding
    """

    def __init__(self, transformer: ElementwiseTransformer | dict[str, Any] | None = None, **kwargs: Any) -> None:
        made_kwargs = {name: kwargs.pop(name) for name in _MADE_ARGUMENTS if name in kwargs}
        super().__init__(**kwargs)
        self.transformer = AffineTransformer() if transformer is None else get_transformer(transformer)
        self.made = MADE(num_params=self.transformer.num_params, name="made", **made_kwargs)

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        self.made.build(input_shape)

    def inverse_and_log_det(self, x: Any, context: Any = None) -> tuple[Any, Any]:
        """Data to latent in one MADE pass.

        Args:
            x: data-side values, shape `(..., D)`.
            context: the conditioning input, or None.

        Returns:
            `(z, log |det dz/dx|)`, shapes `(..., D)` and `(...)`.
        """
        z, log_det = self.transformer.inverse_and_log_det(x, self.made(x, context))
        return z, ops.sum(log_det, axis=-1)

    def forward(self, z: Any, context: Any = None) -> Any:
        """Latent to data in `D` sequential steps: the inverse of `inverse_and_log_det`.

        Args:
            z: latent-side values, shape `(..., D)` with a static `D`.
            context: the conditioning input, or None.
        """
        return self.made.autoregressive_pass(
            lambda variable, params: self.transformer.forward_parameters_first(z[..., variable], params),
            z,
            context,
            parameters_first=True,
        )

    def call(self, x: Any, context: Any = None) -> Any:
        """The latent values (data-to-latent direction)."""
        return self.inverse_and_log_det(x, context)[0]

    def get_config(self) -> dict[str, Any]:
        made = self.made.get_config()
        return {
            **super().get_config(),
            "transformer": keras.saving.serialize_keras_object(self.transformer),
            **{name: made[name] for name in _MADE_ARGUMENTS},
        }
