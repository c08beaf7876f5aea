"""Turning the Dense and Conv layers of a deterministic Keras model into variational layers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np

from tfp_arch.layers.variational.base import VariationalLayer
from tfp_arch.layers.variational.conv import Conv1DVariational, Conv2DVariational, Conv3DVariational
from tfp_arch.layers.variational.conv_transpose import (
    Conv1DTransposeVariational,
    Conv2DTransposeVariational,
    Conv3DTransposeVariational,
    ConvTransposeVariational,
)
from tfp_arch.layers.variational.dense import DenseVariational
from tfp_arch.validation import invalid_argument

__all__ = ["dense_to_variational", "to_variational"]

CONVOLUTIONS = {
    keras.layers.Conv1D: Conv1DVariational,
    keras.layers.Conv2D: Conv2DVariational,
    keras.layers.Conv3D: Conv3DVariational,
    keras.layers.Conv1DTranspose: Conv1DTransposeVariational,
    keras.layers.Conv2DTranspose: Conv2DTransposeVariational,
    keras.layers.Conv3DTranspose: Conv3DTransposeVariational,
}


def _inverse_softplus(value: np.ndarray) -> np.ndarray:
    return value + np.log(-np.expm1(-value))


def _moped_rho(weight: np.ndarray, delta: float) -> np.ndarray:
    return _inverse_softplus(np.maximum(delta * np.abs(weight), 1e-6)).astype(weight.dtype)


def _variational(layer: keras.layers.Layer, layer_kwargs: dict[str, Any]) -> VariationalLayer | None:
    """The variational counterpart of a Dense or Conv layer (None for other layers)."""
    target = DenseVariational if type(layer) is keras.layers.Dense else CONVOLUTIONS.get(type(layer))
    if target is None:
        return None
    config = layer.get_config()
    common = {
        "activation": config["activation"],
        "use_bias": config["use_bias"],
        "name": config["name"],
        **layer_kwargs,
    }
    if target is DenseVariational:
        return DenseVariational(units=config["units"], **common)
    unsupported = {
        "data_format": (config.get("data_format"), "channels_last"),
        "groups": (config.get("groups", 1), 1),
        "padding": (config["padding"], ("valid", "same")),
        "output_padding": (config.get("output_padding"), None),
    }
    for key, (value, allowed) in unsupported.items():
        if value != allowed and not (isinstance(allowed, tuple) and value in allowed):
            raise invalid_argument(
                "model",
                f"layer `{layer.name}` has a {key} the variational convolutions do not support "
                f"(expected {allowed!r}); keep it with skip=[{layer.name!r}]",
                received=f"{key}={value!r}",
            )
    return target(
        config["filters"],
        config["kernel_size"],
        strides=config["strides"],
        padding=config["padding"],
        dilation_rate=config["dilation_rate"],
        **common,
    )


def to_variational(
    model: keras.Model,
    center_on_weights: bool = True,
    moped_delta: float | None = None,
    skip: Sequence[str] = (),
    **layer_kwargs: Any,
) -> keras.Model:
    """A copy of `model` with every `Dense`, `Conv{1,2,3}D` and `Conv{1,2,3}DTranspose` layer made variational.

    Works on `Sequential` and functional models (the graph is cloned with `keras.models.clone_model`).
    Dense layers become `DenseVariational`, convolutions `Conv{1,2,3}DVariational` and transposed
    convolutions `Conv{1,2,3}DTransposeVariational` (channels-last, `groups=1`, `"valid"` or
    `"same"` padding, no `output_padding`; other convolutions raise unless skipped). The other
    layers keep their trained weights. With `center_on_weights`, the posterior means of each
    converted layer start at the trained kernel and bias (MOPED-style, as bayesian-torch's
    `dnn_to_bnn`); with `moped_delta`, the mean-field posterior scales start at `moped_delta * |w|`
    (MOPED of Krishnan et al. 2020), otherwise at the layer's `posterior_scale_init`. The priors
    are the zero-mean priors chosen in `layer_kwargs`.

    Args:
        model: a built deterministic model.
        center_on_weights: start the posterior means at the trained weights (else a fresh init).
        moped_delta: if given (> 0), posterior scales start at `moped_delta * |w|`; needs
            `center_on_weights` and the mean-field posterior.
        skip: names of layers to keep deterministic.
        **layer_kwargs: variational layer arguments (`prior`, `estimator`, `kl_weight`, ...).

    Returns:
        The new (built) model. Its KL weights are automatic unless `kl_weight` is given: use
        `KLWeightCallback(x_train)` or `set_kl_weight` before `fit`.

    Example:
        >>> cnn = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3), keras.layers.Flatten(),
        ...                         keras.layers.Dense(3)])
        >>> bnn = to_variational(cnn, moped_delta=0.1, prior="normal", prior_scale=1.0)
        >>> [type(layer).__name__ for layer in bnn.layers]
        ['Conv2DVariational', 'Flatten', 'DenseVariational']
        >>> bnn.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        >>> x, y = np.zeros((16, 8, 8, 1), "float32"), np.zeros(16, "int32")
        >>> callback = tfp_arch.layers.kl.weight.KLWeightCallback(x)
        >>> history = bnn.fit(x, y, epochs=1, callbacks=[callback], verbose=0)
    """
    if not model.built:
        raise invalid_argument("model", "it must be built", received=f"model={model.name}")
    mean_field = (
        layer_kwargs.get("posterior_family", "mean_field") == "mean_field" and "make_posterior_fn" not in layer_kwargs
    )
    if moped_delta is not None and (not float(moped_delta) > 0.0 or not center_on_weights or not mean_field):
        raise invalid_argument(
            "moped_delta",
            "expected a positive float with center_on_weights=True and the mean-field posterior",
            received=f"moped_delta={moped_delta}, center_on_weights={center_on_weights}",
        )
    skipped = set(skip)

    def clone(layer: keras.layers.Layer) -> keras.layers.Layer:
        converted = None if layer.name in skipped else _variational(layer, layer_kwargs)
        return converted if converted is not None else layer.__class__.from_config(layer.get_config())

    converted = keras.models.clone_model(model, clone_function=clone)
    originals = {layer.name: layer for layer in model.layers}
    for layer in converted.layers:
        source = originals.get(layer.name)
        if source is None or not source.weights:
            continue
        if not isinstance(layer, VariationalLayer):
            layer.set_weights(source.get_weights())
            continue
        if not center_on_weights:
            continue
        kernel = keras.ops.convert_to_numpy(source.kernel)
        if isinstance(layer, ConvTransposeVariational):
            kernel = np.swapaxes(kernel, -1, -2)
        bias = keras.ops.convert_to_numpy(source.bias) if layer.use_bias else None
        parts = {"kernel_loc": kernel, "bias_loc": bias}
        if moped_delta is not None:
            parts["kernel_rho"] = _moped_rho(kernel, moped_delta)
            parts["bias_rho"] = None if bias is None else _moped_rho(bias, moped_delta)
        layer.assign_posterior(**parts)
    return converted


dense_to_variational = to_variational
