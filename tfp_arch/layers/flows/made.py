"""MADE: a masked autoencoder whose outputs are autoregressive in its inputs (Germain et al., 2015)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
from keras import ops

from tfp_arch.layers.flows.transformers import parameters_per_dimension
from tfp_arch.validation import invalid_argument, one_of, positive_int

__all__ = ["HIDDEN_DEGREES", "MADE", "autoregressive_degrees", "autoregressive_masks"]

_ORDERS = ("left-to-right", "right-to-left", "random")
HIDDEN_DEGREES = ("equal", "random")


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
            raise invalid_argument(
                "input_order", f"expected one of {_ORDERS} or a permutation of 1..{event_size}", input_order
            )
    else:
        order = np.asarray(input_order, dtype=np.int64)
        if order.shape != (event_size,) or not np.array_equal(np.sort(order), np.arange(1, event_size + 1)):
            raise invalid_argument("input_order", f"expected a permutation of 1..{event_size}", list(input_order))
    one_of("hidden_degrees", hidden_degrees, HIDDEN_DEGREES)
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
    masks = [(inp[:, None] <= out[None, :]) for inp, out in zip(degrees[:-1], degrees[1:], strict=False)]
    masks.append(degrees[-1][:, None] < degrees[0][None, :])
    return [mask.astype("float32") for mask in masks]


def _fan_in_uniform(fan_in: int) -> keras.initializers.Initializer:
    limit = 1.0 / math.sqrt(max(fan_in, 1))
    return keras.initializers.RandomUniform(minval=-limit, maxval=limit)


def _rank1_size(name: str, shape: Any) -> int:
    """The size of a rank-1 shape given as an int, a sequence or an int tensor."""
    try:
        values = np.asarray(shape).reshape(-1).tolist() if not isinstance(shape, int) else [shape]
    except (TypeError, ValueError):
        values = None
    if not values or len(values) != 1:
        raise invalid_argument(name, "expected a rank-1 shape such as (D,) or D", shape)
    return positive_int(name, values[0])


def _serialize(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return keras.saving.serialize_keras_object(value)


_TFP_UNSET: Any = object()


@keras.saving.register_keras_serializable(package="tfp_arch")
class MADE(keras.layers.Layer):
    """A masked autoregressive network producing `num_params` parameters per input dimension.

    Every parameter of output dimension `i` depends only on the inputs that come before `i` in
    `input_order`, and on the optional context, which is fed to every layer unmasked. The outputs
    are unconstrained; an element-wise transformer (`AffineTransformer`, ...) turns them into a map.
    The masks are rebuilt from the constructor arguments, so `.keras` files round-trip.

    Two ways to build one:

    - ours: `MADE(hidden_units=[...], num_params=2, context_size=None, activation="relu", seed=0)`.
      Kernels and biases start uniform in `+-1 / sqrt(fan_in)` (fan-in counting the context, as if
      it were concatenated to the layer input) unless `kernel_initializer` is given. The output
      layer's columns are parameter-major (column `p * D + i` is parameter `p` of dimension `i`).
    - TFP's `tfb.AutoregressiveNetwork` arguments: `MADE(params, event_shape=None, conditional=False,
      conditional_event_shape=None, conditional_input_layers="all_layers", hidden_units=None, ...)`,
      with TFP's defaults (no hidden layer, linear activation, `glorot_uniform` kernels, zero biases),
      kernels masked from the start, TFP's dimension-major output columns (column `i * params + p`)
      and `call(x, conditional_input=c)`, so that `tfb.MaskedAutoregressiveFlow(made)` with
      `bijector_kwargs={"conditional_input": c}` works as with TFP's network.

    Args:
        params: TFP's name for `num_params`; giving it selects TFP's defaults and layout.
        event_shape: the input's shape `(D,)` (rank 1), or None to take it from the first call.
        conditional: whether the network takes a conditional input (TFP's arguments).
        conditional_event_shape: the conditional input's shape `(C,)`, required when `conditional`.
        conditional_input_layers: `"all_layers"` (the context enters every layer) or `"first_layer"`.
        hidden_units: width of each hidden layer.
        input_order: `"left-to-right"`, `"right-to-left"`, `"random"` or a permutation of `1..D`.
        hidden_degrees: `"equal"` or `"random"` degrees for the hidden units.
        activation: activation of the hidden layers (a Keras activation name or a callable).
        use_bias: whether the masked layers have biases.
        kernel_initializer: initializer of every kernel, or None (ours only) for uniform
            `+-1 / sqrt(fan_in)` kernels and biases.
        bias_initializer: initializer of the biases when `kernel_initializer` is given.
        kernel_regularizer: regulariser of the kernels (of the masked kernels, in TFP's mode).
        bias_regularizer: regulariser of the biases.
        kernel_constraint: constraint of the kernels.
        bias_constraint: constraint of the biases.
        validate_args: kept for TFP's signature (shapes are always checked at build).
        num_params: number of parameters per dimension (ours).
        context_size: width of the conditioning input, or None for an unconditional network (ours).
        seed: seed of a random input order and of random hidden degrees.
        **kwargs: passed to `keras.layers.Layer`.

    Example:
        >>> made = MADE(hidden_units=[32, 32], num_params=3, context_size=2)
        >>> params = made(np.zeros((5, 4), "float32"), context=np.zeros((5, 2), "float32"))
        >>> tuple(params.shape)  # (batch, D, num_params)
        (5, 4, 3)
        >>> tfp_style = MADE(2, event_shape=[4], conditional=True, conditional_event_shape=[2], hidden_units=[8])
        >>> tuple(tfp_style(np.zeros((5, 4), "float32"), conditional_input=np.zeros((5, 2), "float32")).shape)
        (5, 4, 2)
    """

    def __init__(
        self,
        params: int | None = None,
        event_shape: Any = None,
        conditional: bool = False,
        conditional_event_shape: Any = None,
        conditional_input_layers: str = "all_layers",
        hidden_units: list[int] | tuple[int, ...] | None = None,
        input_order: str | list[int] = "left-to-right",
        hidden_degrees: str = "equal",
        activation: Any = _TFP_UNSET,
        use_bias: bool = True,
        kernel_initializer: Any = _TFP_UNSET,
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        validate_args: bool = False,
        num_params: int | None = None,
        context_size: int | None = None,
        seed: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.tfp_layout = params is not None
        if self.tfp_layout and num_params is not None and num_params != params:
            raise invalid_argument(
                "num_params", f"expected to equal `params` ({params}) when both are given", num_params
            )
        if self.tfp_layout and context_size is not None:
            raise invalid_argument(
                "context_size", "expected None with TFP's arguments (use `conditional_event_shape`)", context_size
            )
        default_units: tuple[int, ...] = () if self.tfp_layout else (100, 100)
        units = default_units if hidden_units is None else hidden_units
        self.hidden_units = [positive_int("hidden_units", unit) for unit in units]
        self.num_params = positive_int(
            "params" if self.tfp_layout else "num_params",
            params if self.tfp_layout else (2 if num_params is None else num_params),
        )
        self.event_shape_arg = None if event_shape is None else [_rank1_size("event_shape", event_shape)]
        self.conditional = bool(conditional)
        self.conditional_input_layers = one_of(
            "conditional_input_layers", conditional_input_layers, ("all_layers", "first_layer")
        )
        if self.conditional:
            if conditional_event_shape is None:
                raise invalid_argument("conditional_event_shape", "expected a shape when `conditional=True`", None)
            if context_size is not None:
                raise invalid_argument("context_size", "expected None when `conditional=True`", context_size)
            context_size = _rank1_size("conditional_event_shape", conditional_event_shape)
        elif conditional_event_shape is not None:
            raise invalid_argument(
                "conditional_event_shape", "expected None when `conditional=False`", conditional_event_shape
            )
        self.context_size = None if context_size is None else positive_int("context_size", context_size)
        self.hidden_degrees = one_of("hidden_degrees", hidden_degrees, HIDDEN_DEGREES)
        self.input_order = input_order if isinstance(input_order, str) else [int(i) for i in input_order]
        if activation is _TFP_UNSET:
            activation = None if self.tfp_layout else "relu"
        if kernel_initializer is _TFP_UNSET:
            kernel_initializer = "glorot_uniform" if self.tfp_layout else None
        self.activation = keras.activations.get(activation)
        self.activation_name = _serialize(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)
        self.kernel_constraint = keras.constraints.get(kernel_constraint)
        self.bias_constraint = keras.constraints.get(bias_constraint)
        self.validate_args = bool(validate_args)
        self.seed = int(seed)
        self.event_size: int | None = None

    @property
    def params(self) -> int:
        """TFP's name for the number of parameters per dimension."""
        return self.num_params

    @property
    def event_shape(self) -> list[int] | None:
        """The input's event shape `[D]`, once known."""
        return self.event_shape_arg if self.event_size is None else [self.event_size]

    def build(self, input_shape: tuple[Any, ...]) -> None:
        event_size = int(input_shape[-1])
        if self.event_shape_arg is not None and event_size != self.event_shape_arg[0]:
            raise invalid_argument("event_shape", f"expected the input's last axis, {event_size}", self.event_shape_arg)
        degrees = autoregressive_degrees(
            event_size, self.hidden_units, self.input_order, self.hidden_degrees, self.seed
        )
        self.event_size = event_size
        self.degrees = degrees
        self._masks = autoregressive_masks(degrees)
        if self.tfp_layout:
            self._masks[-1] = np.repeat(self._masks[-1], self.num_params, axis=1)
        else:
            self._masks[-1] = np.tile(self._masks[-1], (1, self.num_params))
        sizes = [event_size, *self.hidden_units, self.num_params * event_size]
        self.kernels, self.biases, self.context_kernels = [], [], []
        default = self.kernel_initializer is None
        for index, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            total_fan_in = fan_in + (self.context_size or 0)
            kernel_init = _fan_in_uniform(total_fan_in) if default else self.kernel_initializer
            bias_init = _fan_in_uniform(total_fan_in) if default else self.bias_initializer
            kernel = self.add_weight(
                shape=(fan_in, fan_out),
                initializer=kernel_init,
                name=f"kernel_{index}",
                regularizer=self.kernel_regularizer,
                constraint=self.kernel_constraint,
            )
            if self.tfp_layout:
                kernel.assign(kernel * ops.convert_to_tensor(self._masks[index], dtype=kernel.dtype))
            self.kernels.append(kernel)
            self.biases.append(
                self.add_weight(
                    shape=(fan_out,),
                    initializer=bias_init,
                    name=f"bias_{index}",
                    regularizer=self.bias_regularizer,
                    constraint=self.bias_constraint,
                )
                if self.use_bias
                else None
            )
            if self.context_size is not None and (index == 0 or self.conditional_input_layers == "all_layers"):
                context_init = _fan_in_uniform(total_fan_in) if default else self.kernel_initializer
                self.context_kernels.append(
                    self.add_weight(
                        shape=(self.context_size, fan_out),
                        initializer=context_init,
                        name=f"context_kernel_{index}",
                        regularizer=self.kernel_regularizer,
                        constraint=self.kernel_constraint,
                    )
                )

    def _built_event_size(self) -> int:
        """`D`, known once the layer is built."""
        if self.event_size is None:
            raise RuntimeError("MADE used before build(): call it on an input, or build it with the input's shape.")
        return self.event_size

    @property
    def masks(self) -> list[np.ndarray]:
        """The kernels' binary masks (float32), the output one in this network's column layout."""
        return list(self._masks)

    def _check_context(self, context: Any) -> None:
        if self.context_size is not None and context is None:
            raise ValueError("MADE was built with `context_size`: pass `context=` to call it.")
        if self.context_size is None and context is not None:
            raise ValueError("MADE was built without `context_size`: it takes no `context`.")

    def call(self, x: Any, context: Any = None, conditional_input: Any = None) -> Any:
        """The parameters of every dimension, shape `(..., D, num_params)`.

        Args:
            x: inputs of shape `(..., D)`.
            context: conditioning inputs of shape `(..., context_size)`, needed when the layer was
                built with a `context_size` (or `conditional=True`).
            conditional_input: TFP's name for `context`.
        """
        if conditional_input is not None:
            if context is not None:
                raise invalid_argument("conditional_input", "expected None when `context` is given", "a tensor")
            context = conditional_input
        self._check_context(context)
        hidden = x
        last = len(self.kernels) - 1
        for index, (kernel, bias, mask) in enumerate(zip(self.kernels, self.biases, self._masks, strict=True)):
            hidden = ops.matmul(hidden, kernel * ops.convert_to_tensor(mask, dtype=kernel.dtype))
            if bias is not None:
                hidden = hidden + bias
            if context is not None and index < len(self.context_kernels):
                hidden = hidden + ops.matmul(context, self.context_kernels[index])
            if index < last:
                hidden = self.activation(hidden)
        if self.tfp_layout:
            return ops.reshape(hidden, (*ops.shape(hidden)[:-1], self.event_size, self.num_params))
        return parameters_per_dimension(hidden, self.num_params, self._built_event_size())

    def _output_columns(self, variable: int) -> list[int]:
        if self.tfp_layout:
            return [variable * self.num_params + p for p in range(self.num_params)]
        size = self._built_event_size()
        return [p * size + variable for p in range(self.num_params)]

    def autoregressive_pass(
        self, value_of: Callable[[int, Any], Any], like: Any, context: Any = None, parameters_first: bool = False
    ) -> Any:
        """Fill the variables one at a time, in the order, computing every hidden unit once.

        The variable of rank `k` depends on the hidden units of degree below `k` alone, and the
        units of degree `k - 1` depend only on the variables of rank below `k`. So step `k`
        computes just the units of degree `k - 1` of each layer (from the units and variables
        computed before it), then the variable's parameters from all units of degree below `k`,
        and `value_of` turns them into the variable's value. Over the `D` steps every hidden unit
        is computed once: the cost of one full pass plus `D` slices of the output layer, where
        recomputing the hidden layers at every step costs about `D / 3` full passes. The steps
        are unrolled in the graph (`D` is static).

        The units are held unit-major, `(units, batch)`, so that appending a step's units copies
        whole rows (one block of memory) instead of a few values from every example's row; with
        `D` steps the hidden layers are copied about `D / 2` times.

        Args:
            value_of: `(variable, params)` to the values of that variable, where `params` has
                shape `(..., num_params)` (or `(num_params, ...)`) and the values `(...)`.
            like: a tensor of shape `(..., D)` giving the batch shape and dtype.
            context: the conditioning input, or None.
            parameters_first: give `value_of` the parameters as `(num_params, ...)`, the layout
                they are computed in (no transposition).

        Returns:
            The variables `(..., D)` in their original positions.
        """
        self._check_context(context)
        size = self._built_event_size()
        inputs = np.asarray(self.degrees[0])
        by_rank = np.argsort(inputs, kind="stable")  # the variable of each rank
        sorts = [np.argsort(degrees, kind="stable") for degrees in self.degrees[1:]]
        counts = [
            np.searchsorted(np.asarray(degrees)[sort], np.arange(1, size + 1), side="left")
            for degrees, sort in zip(self.degrees[1:], sorts, strict=False)
        ]
        # Transposed kernels: rows in this layer's degree order, columns in the previous one's
        # (inputs: rank order); biases as columns.
        kernels, biases, context_kernels = [], [], []
        rows = by_rank
        for index, (kernel, bias, mask) in enumerate(zip(self.kernels, self.biases, self._masks, strict=False)):
            masked = ops.take(kernel * ops.convert_to_tensor(mask, dtype=kernel.dtype), rows, axis=0)
            context_kernel = (
                self.context_kernels[index] if context is not None and index < len(self.context_kernels) else None
            )
            if bias is None:
                bias = ops.zeros((kernel.shape[1],), dtype=kernel.dtype)
            if index < len(sorts):
                masked = ops.take(masked, sorts[index], axis=1)
                bias = ops.take(bias, sorts[index], axis=0)
                if context_kernel is not None:
                    context_kernel = ops.take(context_kernel, sorts[index], axis=1)
                rows = sorts[index]
            kernels.append(ops.transpose(masked))
            biases.append(bias[:, None])
            context_kernels.append(None if context_kernel is None else ops.transpose(context_kernel))

        batch_shape = ops.shape(like)[:-1]
        columns = ops.zeros_like(ops.reshape(like, (-1, size))[:, 0])[None, :]  # (1, batch) zeros
        if context is not None:
            context = ops.transpose(ops.reshape(context, (-1, ops.shape(context)[-1])))

        def affine(index: int, rows: slice | list[int], below: Any) -> Any:
            """Rows `rows` of layer `index`'s pre-activations, `(rows, batch)`, from the rows `below`."""
            pick = (
                (lambda array: array[rows])
                if isinstance(rows, slice)
                else (lambda array: ops.take(array, rows, axis=0))
            )
            value = columns  # the batch shape when there is neither an input nor a context
            if below is not None:
                value = ops.matmul(pick(kernels[index][:, : below.shape[0]]), below)
            if context is not None and context_kernels[index] is not None:
                term = ops.matmul(pick(context_kernels[index]), context)
                value = term if below is None else value + term
            return value + pick(biases[index])

        hidden: list[Any] = [None for _ in sorts]  # each layer's units computed so far, in degree order
        values: list[Any] = []  # the variables' values in rank order, each `(batch,)`
        for rank in range(1, size + 1):
            below = ops.stack(values, axis=0) if values else None
            for index, count in enumerate(counts):
                start = 0 if hidden[index] is None else int(hidden[index].shape[0])
                stop = int(count[rank - 1])
                if stop > start:
                    new = self.activation(affine(index, slice(start, stop), below))
                    hidden[index] = new if hidden[index] is None else ops.concatenate([hidden[index], new], axis=0)
                below = hidden[index]
            variable = int(by_rank[rank - 1])
            params = affine(len(kernels) - 1, self._output_columns(variable), below)
            if parameters_first:
                params = ops.reshape(params, (self.num_params, *batch_shape))
            else:
                params = ops.reshape(ops.transpose(params), (*batch_shape, self.num_params))
            values.append(ops.reshape(value_of(variable, params), (-1,)))
        known = ops.stack([values[rank] for rank in np.argsort(by_rank)], axis=-1)
        return ops.reshape(known, ops.shape(like))

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return (*input_shape, self.num_params)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "params": self.num_params if self.tfp_layout else None,
            "num_params": None if self.tfp_layout else self.num_params,
            "event_shape": self.event_shape_arg,
            "conditional": self.conditional,
            "conditional_event_shape": [self.context_size] if self.conditional else None,
            "conditional_input_layers": self.conditional_input_layers,
            "context_size": None if self.conditional else self.context_size,
            "hidden_units": list(self.hidden_units),
            "input_order": self.input_order,
            "hidden_degrees": self.hidden_degrees,
            "activation": self.activation_name,
            "use_bias": self.use_bias,
            "kernel_initializer": _serialize(self.kernel_initializer),
            "bias_initializer": _serialize(self.bias_initializer),
            "kernel_regularizer": _serialize(self.kernel_regularizer),
            "bias_regularizer": _serialize(self.bias_regularizer),
            "kernel_constraint": _serialize(self.kernel_constraint),
            "bias_constraint": _serialize(self.bias_constraint),
            "validate_args": self.validate_args,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> MADE:
        config = dict(config)
        for name in ("kernel_initializer", "bias_initializer"):
            if isinstance(config.get(name), dict):
                config[name] = keras.initializers.deserialize(config[name])
        for name in ("kernel_regularizer", "bias_regularizer"):
            config[name] = keras.regularizers.deserialize(config[name]) if config.get(name) else None
        for name in ("kernel_constraint", "bias_constraint"):
            config[name] = keras.constraints.deserialize(config[name]) if config.get(name) else None
        if isinstance(config.get("activation"), dict):
            config["activation"] = keras.saving.deserialize_keras_object(config["activation"])
        return cls(**config)
