"""Turning the `Dense` layers of a deterministic Keras model into `DenseVariational` layers."""

from __future__ import annotations

from typing import Any, Sequence

import keras
import numpy as np

from tfp_arch.layers.dense_variational import DenseVariational

__all__ = ["dense_to_variational"]


def _inverse_softplus(value: np.ndarray) -> np.ndarray:
    return value + np.log(-np.expm1(-value))


def _moped_rho(weight: np.ndarray, delta: float) -> np.ndarray:
    return _inverse_softplus(np.maximum(delta * np.abs(weight), 1e-6)).astype(weight.dtype)


def dense_to_variational(
    model: keras.Model,
    center_on_weights: bool = True,
    moped_delta: float | None = None,
    skip: Sequence[str] = (),
    **layer_kwargs: Any,
) -> keras.Model:
    """A copy of `model` with every `keras.layers.Dense` replaced by a `DenseVariational`.

    Works on `Sequential` and functional models (the graph is cloned with `keras.models.clone_model`).
    The other layers keep their trained weights. With `center_on_weights`, the posterior means of
    each converted layer start at the trained kernel and bias (MOPED-style, as bayesian-torch's
    `dnn_to_bnn`); with `moped_delta`, the posterior scales start at `moped_delta * |w|` (MOPED of
    Krishnan et al. 2020), otherwise at the layer's `posterior_scale_init`. The priors are the
    zero-mean priors chosen in `layer_kwargs`.

    Args:
        model: a built deterministic model.
        center_on_weights: start the posterior means at the trained weights (else a fresh init).
        moped_delta: if given (> 0), posterior scales start at `moped_delta * |w|`; needs
            `center_on_weights`.
        skip: names of Dense layers to keep deterministic.
        **layer_kwargs: `DenseVariational` arguments (`prior`, `estimator`, `kl_weight`, ...).

    Returns:
        The new (built) model. Its KL weights are automatic unless `kl_weight` is given: use
        `KLWeightCallback(x_train)` or `set_kl_weight` before `fit`.

    Example:
        >>> bnn = dense_to_variational(trained_mlp, moped_delta=0.1, prior="normal", prior_scale=1.0)
        >>> bnn.compile("adam", "mse")
        >>> bnn.fit(x, y, callbacks=[KLWeightCallback(x)])
    """
    if not model.built:
        raise ValueError(f"Invalid value for argument `model`: it must be built. Received: model={model.name}")
    if moped_delta is not None and (not float(moped_delta) > 0.0 or not center_on_weights):
        raise ValueError(
            "Invalid value for argument `moped_delta`: expected a positive float with center_on_weights=True. "
            f"Received: moped_delta={moped_delta}, center_on_weights={center_on_weights}"
        )
    skip = set(skip)

    def clone(layer: keras.layers.Layer) -> keras.layers.Layer:
        if isinstance(layer, keras.layers.Dense) and layer.name not in skip:
            config = layer.get_config()
            return DenseVariational(
                units=config["units"], activation=config["activation"], use_bias=config["use_bias"],
                name=config["name"], **layer_kwargs,
            )
        return layer.__class__.from_config(layer.get_config())

    converted = keras.models.clone_model(model, clone_function=clone)
    originals = {layer.name: layer for layer in model.layers}
    for layer in converted.layers:
        source = originals.get(layer.name)
        if source is None or not source.weights:
            continue
        if not isinstance(layer, DenseVariational):
            layer.set_weights(source.get_weights())
            continue
        if not center_on_weights:
            continue
        kernel = keras.ops.convert_to_numpy(source.kernel)
        bias = keras.ops.convert_to_numpy(source.bias) if layer.use_bias else None
        parts = {"kernel_loc": kernel, "bias_loc": bias}
        if moped_delta is not None:
            parts["kernel_rho"] = _moped_rho(kernel, moped_delta)
            parts["bias_rho"] = None if bias is None else _moped_rho(bias, moped_delta)
        layer.assign_posterior(**parts)
    return converted
