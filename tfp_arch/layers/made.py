"""MADE: a masked autoencoder whose outputs are autoregressive in its inputs (Germain et al., 2015)."""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np
from keras import ops

__all__ = ["DEFAULT_LOG_SCALE_BOUND", "MADE", "autoregressive_degrees", "autoregressive_masks", "soft_clip"]

_ORDERS = ("left-to-right", "right-to-left", "random")
_HIDDEN_DEGREES = ("equal", "random")
DEFAULT_LOG_SCALE_BOUND = math.log(1000.0)


def autoregressive_degrees(
    event_size: int,
    hidden_units: list[int],
    input_order: str | list[int] = "left-to-right",
    hidden_degrees: str = "equal",
    seed: int = 0,
) -> list[np.ndarray]:
    """Degrees of the input units and of every hidden layer of a MADE.

    Input `i` has degree `order[i]` in `1..event_size`; output `i` may depend on input `j` only when
    `degree[j] < degree[i]`. Hidden units get degrees in `[min, event_size - 1]`, either spread
    evenly (`"equal"`) or drawn at random (`"random"`). The result depends only on the arguments.

    Args:
        event_size: number of inputs D.
        hidden_units: width of each hidden layer.
        input_order: `"left-to-right"`, `"right-to-left"`, `"random"` (drawn with `seed`) or an
            explicit list holding a permutation of `1..D`, the rank of each input in the order.
        hidden_degrees: `"equal"` or `"random"`.
        seed: seed of the random order and of random hidden degrees.

    Returns:
        A list of integer arrays: the input degrees, then one array per hidden layer.

    Example:
        >>> [d.tolist() for d in autoregressive_degrees(3, [4])]
        [[1, 2, 3], [1, 1, 2, 2]]
    """
    rng = np.random.default_rng(seed)
    if isinstance(input_order, str):
        if input_order == "left-to-right":
            order = np.arange(1, event_size + 1)
        elif input_order == "right-to-left":
            order = np.arange(event_size, 0, -1)
        elif input_order == "random":
            order = rng.permutation(np.arange(1, event_size + 1))
        else:
            raise ValueError(
                f"Invalid value for argument `input_order`: expected one of {_ORDERS} or a permutation "
                f"of 1..{event_size}. Received: input_order={input_order!r}"
            )
    else:
        order = np.asarray(input_order, dtype=np.int64)
        if order.shape != (event_size,) or not np.array_equal(np.sort(order), np.arange(1, event_size + 1)):
            raise ValueError(
                f"Invalid value for argument `input_order`: expected a permutation of 1..{event_size}. "
                f"Received: input_order={list(input_order)!r}"
            )
    if hidden_degrees not in _HIDDEN_DEGREES:
        raise ValueError(
            f"Invalid value for argument `hidden_degrees`: expected one of {_HIDDEN_DEGREES}. "
            f"Received: hidden_degrees={hidden_degrees!r}"
        )
    degrees = [order.astype(np.int64)]
    for units in hidden_units:
        low = min(int(degrees[-1].min()), event_size - 1)
        if hidden_degrees == "equal":
            spread = np.ceil(np.arange(1, units + 1) * (event_size - 1) / (units + 1)).astype(np.int64)
            degrees.append(np.maximum(low, spread))
        else:
            degrees.append(rng.integers(low, max(event_size, low + 1), size=units).astype(np.int64))
    return degrees


def autoregressive_masks(degrees: list[np.ndarray]) -> list[np.ndarray]:
    """Binary masks of a MADE's kernels from its degrees.

    Args:
        degrees: the output of `autoregressive_degrees`.

    Returns:
        One float32 mask per kernel: input-to-hidden and hidden-to-hidden masks allow
        `degree_in <= degree_out`; the hidden-to-output mask (for one output per input) allows
        `degree_in < degree_out`.
    """
    masks = [(inp[:, None] <= out[None, :]) for inp, out in zip(degrees[:-1], degrees[1:])]
    masks.append(degrees[-1][:, None] < degrees[0][None, :])
    return [mask.astype("float32") for mask in masks]


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


def _fan_in_uniform(fan_in: int) -> keras.initializers.Initializer:
    limit = 1.0 / math.sqrt(max(fan_in, 1))
    return keras.initializers.RandomUniform(minval=-limit, maxval=limit)


@keras.saving.register_keras_serializable(package="tfp_arch")
class MADE(keras.layers.Layer):
    """A masked autoregressive network producing a shift and a log-scale per input dimension.

    Output `i` (both its shift and its log-scale) depends only on the inputs that come before `i`
    in `input_order`, and on the optional context, which is fed to every layer unmasked. The
    log-scale is soft-clipped to `(-log_scale_bound, log_scale_bound)` with `s / (1 + |s| / b)`
    (`soft_clip`); the default bound `log(1000)` keeps every scale within `[1e-3, 1e3]`.
    Kernels and biases start uniform in `+-1 / sqrt(fan_in)` (fan-in counting the context, as if
    it were concatenated to the layer input) unless `kernel_initializer` is given.
    The masks are rebuilt from the constructor arguments, so `.keras` files round-trip.

    Args:
        hidden_units: width of each hidden layer.
        input_order: `"left-to-right"`, `"right-to-left"`, `"random"` or a permutation of `1..D`.
        hidden_degrees: `"equal"` or `"random"` degrees for the hidden units.
        activation: activation of the hidden layers (any Keras activation name).
        context_size: width of the conditioning input, or None for an unconditional network.
        log_scale_bound: bound of the soft clip of the log-scale; None leaves it unbounded.
        seed: seed of a random input order and of random hidden degrees.
        kernel_initializer: a Keras initializer name for every kernel (biases then start at zero),
            or None for uniform `+-1 / sqrt(fan_in)` kernels and biases.
        **kwargs: passed to `keras.layers.Layer`.

    Example:
        >>> made = MADE(hidden_units=[32, 32], context_size=2)
        >>> params = made(np.zeros((5, 3), "float32"), context=np.zeros((5, 2), "float32"))
        >>> tuple(params.shape)  # (batch, D, [shift, log_scale])
        (5, 3, 2)
    """

    def __init__(
        self,
        hidden_units: list[int] | tuple[int, ...] = (100, 100),
        input_order: str | list[int] = "left-to-right",
        hidden_degrees: str = "equal",
        activation: str = "relu",
        context_size: int | None = None,
        log_scale_bound: float | None = DEFAULT_LOG_SCALE_BOUND,
        seed: int = 0,
        kernel_initializer: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        hidden_units = [int(units) for units in hidden_units]
        if any(units < 1 for units in hidden_units):
            raise ValueError(
                f"Invalid value for argument `hidden_units`: expected positive integers. "
                f"Received: hidden_units={hidden_units}"
            )
        if context_size is not None and int(context_size) < 1:
            raise ValueError(
                f"Invalid value for argument `context_size`: expected a positive integer or None. "
                f"Received: context_size={context_size}"
            )
        if log_scale_bound is not None and not float(log_scale_bound) > 0.0:
            raise ValueError(
                f"Invalid value for argument `log_scale_bound`: expected a positive float or None. "
                f"Received: log_scale_bound={log_scale_bound}"
            )
        if hidden_degrees not in _HIDDEN_DEGREES:
            raise ValueError(
                f"Invalid value for argument `hidden_degrees`: expected one of {_HIDDEN_DEGREES}. "
                f"Received: hidden_degrees={hidden_degrees!r}"
            )
        self.hidden_units = hidden_units
        self.input_order = input_order if isinstance(input_order, str) else [int(i) for i in input_order]
        self.hidden_degrees = hidden_degrees
        self.activation = keras.activations.get(activation)
        self.activation_name = activation
        self.context_size = None if context_size is None else int(context_size)
        self.log_scale_bound = None if log_scale_bound is None else float(log_scale_bound)
        self.seed = int(seed)
        self.kernel_initializer = kernel_initializer
        self.event_size: int | None = None

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        event_size = int(input_shape[-1])
        degrees = autoregressive_degrees(
            event_size, self.hidden_units, self.input_order, self.hidden_degrees, self.seed
        )
        self.event_size = event_size
        self.degrees = degrees
        self._masks = autoregressive_masks(degrees)
        self._masks[-1] = np.concatenate([self._masks[-1], self._masks[-1]], axis=1)
        sizes = [event_size, *self.hidden_units, 2 * event_size]
        self.kernels, self.biases, self.context_kernels = [], [], []
        default = self.kernel_initializer is None
        for index, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            total_fan_in = fan_in + (self.context_size or 0)
            kernel_init = _fan_in_uniform(total_fan_in) if default else self.kernel_initializer
            bias_init = _fan_in_uniform(total_fan_in) if default else "zeros"
            self.kernels.append(
                self.add_weight(shape=(fan_in, fan_out), initializer=kernel_init, name=f"kernel_{index}")
            )
            self.biases.append(self.add_weight(shape=(fan_out,), initializer=bias_init, name=f"bias_{index}"))
            if self.context_size is not None:
                context_init = _fan_in_uniform(total_fan_in) if default else self.kernel_initializer
                self.context_kernels.append(
                    self.add_weight(
                        shape=(self.context_size, fan_out), initializer=context_init, name=f"context_kernel_{index}"
                    )
                )

    def shift_and_log_scale(self, x: Any, context: Any = None) -> tuple[Any, Any]:
        """The shift and the (soft-clipped) log-scale of every dimension.

        Args:
            x: inputs of shape `(..., D)`.
            context: conditioning inputs of shape `(..., context_size)`, needed when the layer was
                built with a `context_size`.

        Returns:
            `(shift, log_scale)`, each of shape `(..., D)`.
        """
        if self.context_size is not None and context is None:
            raise ValueError("MADE was built with `context_size`: pass `context=` to call it.")
        if self.context_size is None and context is not None:
            raise ValueError("MADE was built without `context_size`: it takes no `context`.")
        hidden = x
        last = len(self.kernels) - 1
        for index, (kernel, bias, mask) in enumerate(zip(self.kernels, self.biases, self._masks)):
            hidden = ops.matmul(hidden, kernel * ops.convert_to_tensor(mask, dtype=kernel.dtype)) + bias
            if context is not None:
                hidden = hidden + ops.matmul(context, self.context_kernels[index])
            if index < last:
                hidden = self.activation(hidden)
        shift, log_scale = hidden[..., : self.event_size], hidden[..., self.event_size :]
        if self.log_scale_bound is not None:
            log_scale = soft_clip(log_scale, self.log_scale_bound)
        return shift, log_scale

    def call(self, x: Any, context: Any = None) -> Any:
        """Shift and log-scale stacked on a last axis of size 2, shape `(..., D, 2)`."""
        shift, log_scale = self.shift_and_log_scale(x, context)
        return ops.stack([shift, log_scale], axis=-1)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return (*input_shape, 2)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "hidden_units": list(self.hidden_units),
            "input_order": self.input_order,
            "hidden_degrees": self.hidden_degrees,
            "activation": self.activation_name,
            "context_size": self.context_size,
            "log_scale_bound": self.log_scale_bound,
            "seed": self.seed,
            "kernel_initializer": self.kernel_initializer,
        }
