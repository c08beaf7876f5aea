"""Dense and convolutional encoders and decoders of the variational autoencoder."""

from __future__ import annotations

import math
from collections.abc import Sequence

import keras

from tfp_arch.validation import invalid_argument, one_of

__all__ = ["NETWORKS", "build_decoder", "build_encoder", "check_network"]

NETWORKS = ("dense", "conv")


def check_network(network: str, data_shape: Sequence[int]) -> None:
    """Validate the network kind against the data shape (flat `(d,)` or image `(h, w, c)`)."""
    one_of("network", network, NETWORKS)
    if len(data_shape) not in (1, 3):
        raise invalid_argument("data_shape", "expected (features,) or (height, width, channels)", list(data_shape))
    if network == "conv" and len(data_shape) != 3:
        raise invalid_argument(
            "network",
            "'conv' needs image data (height, width, channels)",
            received=f"network='conv' with data_shape={list(data_shape)}",
        )


def build_encoder(
    data_shape: Sequence[int],
    network: str,
    hidden_units: Sequence[int],
    filters: Sequence[int],
    output_size: int,
    activation: str = "relu",
    name: str = "encoder",
) -> keras.Sequential:
    """An encoder from data of shape `data_shape` to a vector of `output_size` parameters.

    Args:
        data_shape: shape of one example, `(d,)` or `(h, w, c)`.
        network: `"dense"` (flatten, then dense layers) or `"conv"` (stride-2 3x3 convolutions
            with `filters`, then dense layers).
        hidden_units: sizes of the hidden dense layers.
        filters: channels of the convolutions (for `"conv"`).
        output_size: length of the output vector (latent means and raw scales).
        activation: activation of the hidden layers.
        name: name of the model.

    Returns:
        A built `keras.Sequential`.
    """
    check_network(network, data_shape)
    layers: list[keras.layers.Layer] = [keras.Input(tuple(data_shape))]
    if network == "conv":
        layers += [keras.layers.Conv2D(f, 3, strides=2, padding="same", activation=activation) for f in filters]
    layers.append(keras.layers.Flatten())
    layers += [keras.layers.Dense(units, activation=activation) for units in hidden_units]
    layers.append(keras.layers.Dense(output_size))
    return keras.Sequential(layers, name=name)


def build_decoder(
    latent_dim: int,
    data_shape: Sequence[int],
    network: str,
    hidden_units: Sequence[int],
    filters: Sequence[int],
    params_per_value: int,
    activation: str = "relu",
    name: str = "decoder",
) -> keras.Sequential:
    """A decoder mirroring `build_encoder`, from `z` to `params_per_value` parameters per data value.

    The output has the data's shape with the last axis multiplied by `params_per_value` (logits, or
    locations followed by raw scales).

    Args:
        latent_dim: size of `z`.
        data_shape: shape of one example, `(d,)` or `(h, w, c)`.
        network: `"dense"` or `"conv"` (stride-2 transposed convolutions, cropped to `(h, w)`).
        hidden_units: sizes of the encoder's hidden dense layers (used in reverse).
        filters: channels of the encoder's convolutions (used in reverse).
        params_per_value: distribution parameters per data value.
        activation: activation of the hidden layers.
        name: name of the model.

    Returns:
        A built `keras.Sequential`.
    """
    check_network(network, data_shape)
    out_shape = tuple(data_shape[:-1]) + (data_shape[-1] * params_per_value,)
    layers: list[keras.layers.Layer] = [keras.Input((latent_dim,))]
    layers += [keras.layers.Dense(units, activation=activation) for units in reversed(list(hidden_units))]
    if network == "dense":
        layers += [keras.layers.Dense(math.prod(out_shape)), keras.layers.Reshape(out_shape)]
        return keras.Sequential(layers, name=name)
    height, width = data_shape[0], data_shape[1]
    factor = 2 ** len(filters)
    base = (math.ceil(height / factor), math.ceil(width / factor), filters[-1] if filters else out_shape[-1])
    layers += [keras.layers.Dense(math.prod(base), activation=activation), keras.layers.Reshape(base)]
    layers += [
        keras.layers.Conv2DTranspose(f, 3, strides=2, padding="same", activation=activation)
        for f in reversed(list(filters))
    ]
    layers.append(keras.layers.Conv2D(out_shape[-1], 3, padding="same"))
    extra_h, extra_w = base[0] * factor - height, base[1] * factor - width
    if extra_h or extra_w:
        layers.append(keras.layers.Cropping2D(((0, extra_h), (0, extra_w))))
    return keras.Sequential(layers, name=name)
