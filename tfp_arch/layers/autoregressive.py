"""The masked autoregressive transform: a MADE conditioner and any element-wise transformer."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from tfp_arch.layers.made import MADE
from tfp_arch.layers.transformers import AffineTransformer, ElementwiseTransformer, get_transformer

__all__ = ["MaskedAutoregressiveTransform"]


@keras.saving.register_keras_serializable(package="tfp_arch")
class MaskedAutoregressiveTransform(keras.layers.Layer):
    """An autoregressive transform (Papamakarios et al., 2017) for any element-wise transformer.

    Data to latent, `z_i = f(x_i; theta_i(x_<i, context))`, where `theta` comes from a `MADE` with
    `transformer.num_params` outputs per dimension and `f` is the transformer (affine for MAF, a
    rational-quadratic spline for NSF). The inverse direction (data to latent, density evaluation)
    is one MADE pass and its log-determinant is the sum of the element-wise log-derivatives, since
    the Jacobian is triangular in the MADE's order. The forward direction (latent to data, sampling)
    runs `D` sequential steps, each through the slice of the MADE that the next variable depends on
    (`MADE.autoregressive_steps`); the steps are unrolled in the graph (`D` is static).

    Args:
        transformer: an `ElementwiseTransformer` or its Keras serialisation (default: affine).
        hidden_units: hidden layer widths of the MADE.
        input_order: the MADE's variable order (see `MADE`).
        hidden_degrees: `"equal"` or `"random"` MADE hidden degrees.
        activation: hidden activation of the MADE.
        context_size: width of the conditioning input, or None.
        seed: seed of a random order and of random degrees.
        kernel_initializer: passed to `MADE`.
        **kwargs: passed to `keras.layers.Layer`.

    Example:
        >>> transform = MaskedAutoregressiveTransform(hidden_units=[16])
        >>> z, log_det = transform.inverse_and_log_det(np.ones((4, 3), "float32"))
        >>> x = transform.forward(z)                      # equals the input, up to rounding
    """

    def __init__(
        self,
        transformer: ElementwiseTransformer | dict[str, Any] | None = None,
        hidden_units: list[int] | tuple[int, ...] = (100, 100),
        input_order: str | list[int] = "left-to-right",
        hidden_degrees: str = "equal",
        activation: str = "relu",
        context_size: int | None = None,
        seed: int = 0,
        kernel_initializer: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.transformer = AffineTransformer() if transformer is None else get_transformer(transformer)
        self.made = MADE(
            hidden_units=hidden_units,
            num_params=self.transformer.num_params,
            input_order=input_order,
            hidden_degrees=hidden_degrees,
            activation=activation,
            context_size=context_size,
            seed=seed,
            kernel_initializer=kernel_initializer,
            name="made",
        )

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
        columns = ops.arange(int(z.shape[-1]))
        x = ops.zeros_like(z)
        for variable, params_of in self.made.autoregressive_steps(context):
            value = self.transformer.forward(z[..., variable], params_of(x))
            x = ops.where(columns == variable, value[..., None], x)
        return x

    def call(self, x: Any, context: Any = None) -> Any:
        """The latent values (data-to-latent direction)."""
        return self.inverse_and_log_det(x, context)[0]

    def get_config(self) -> dict[str, Any]:
        made = self.made
        return {
            **super().get_config(),
            "transformer": keras.saving.serialize_keras_object(self.transformer),
            "hidden_units": list(made.hidden_units),
            "input_order": made.input_order,
            "hidden_degrees": made.hidden_degrees,
            "activation": made.activation_name,
            "context_size": made.context_size,
            "seed": made.seed,
            "kernel_initializer": made.kernel_initializer,
        }
