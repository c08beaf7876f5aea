"""Saving the functions and distributions a user gives a layer: registered functions, plain distributions.

A `.keras` file stores configs, not code. A function (a `make_distribution_fn`, a divergence, a
`convert_to_tensor_fn`) saves when Keras can find it again at load time, that is when it is
registered with `@keras.saving.register_keras_serializable()`; TFP's own `tfd.Distribution` methods
save by name. A lambda or an unregistered function is refused at `save`, with one line naming the
layer and the fix, so that no file is written that cannot be loaded. A distribution (a prior given
as `distribution_b`) saves as its class name and parameters when these are numbers, arrays or other
such distributions.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from tfp_arch import _private_api

__all__ = [
    "deserialize_distribution",
    "deserialize_function",
    "serialize_distribution",
    "serialize_function",
    "unsaveable",
]

tfd = tfp.distributions

_FIX = "define it as a named function decorated with `@keras.saving.register_keras_serializable()`"


def unsaveable(layer: Any, argument: str, value: Any, fix: str = _FIX) -> ValueError:
    """The one-line error of a layer that cannot be saved because of `argument`.

    Keras opens the `.keras` file before it asks the layers for their configs; the empty file it
    has created is removed, so that a failed `save` leaves no file that fails at load.
    """
    _discard_empty_save()
    name = getattr(layer, "name", None)
    kind = "layer" if isinstance(layer, keras.layers.Layer) else "object"
    return ValueError(
        f"Cannot save the `{type(layer).__name__}` {kind}{'' if name is None else ' ' + repr(name)}: "
        f"its `{argument}` ({_describe(value)}) "
        f"cannot be saved in a `.keras` file; {fix}."
    )


def _discard_empty_save() -> None:
    path = _private_api.keras_save_model_path()
    if path is not None and os.path.isfile(path) and os.path.getsize(path) == 0:
        os.remove(path)


def _describe(value: Any) -> str:
    name = getattr(value, "__qualname__", None) or type(value).__name__
    return f"{name} from {value.__module__}" if getattr(value, "__module__", None) else name


def _tfd_method_name(fn: Any) -> str | None:
    name = getattr(fn, "__name__", None)
    if name and getattr(tfd.Distribution, name, None) is fn:
        return name
    return None


def serialize_function(layer: Any, argument: str, fn: Callable[..., Any] | None) -> Any:
    """The config of `fn`: a `tfd.Distribution` method's name, or a registered function's Keras config.

    Raises:
        ValueError: one line naming the layer and the fix, when `fn` is a lambda or not registered.
    """
    if fn is None or isinstance(fn, str):
        return fn
    if isinstance(fn, property) and fn.fget is not None:
        return fn.fget.__name__
    method = _tfd_method_name(fn)
    if method is not None:
        return method
    if getattr(fn, "__name__", "") == "<lambda>" or ">" not in keras.saving.get_registered_name(fn):
        raise unsaveable(layer, argument, fn)
    return keras.saving.serialize_keras_object(fn)


def deserialize_function(config: Any) -> Any:
    """The function of a `serialize_function` config (a name string stays a name)."""
    if isinstance(config, dict):
        return keras.saving.deserialize_keras_object(config)
    return config


def _serialize_value(layer: Any, argument: str, value: Any) -> Any:
    if isinstance(value, tfd.Distribution):
        return serialize_distribution(layer, argument, value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (np.ndarray, np.generic)) or tf.is_tensor(value):
        static = tf.get_static_value(value)
        if static is None:
            raise unsaveable(layer, argument, value, "give its parameters as constants")
        array = np.asarray(static)
        return {"__array__": array.tolist(), "dtype": array.dtype.name}
    if isinstance(value, (list, tuple)):
        return [_serialize_value(layer, argument, v) for v in value]
    raise unsaveable(
        layer, argument, value, "give a distribution whose parameters are numbers, arrays or distributions"
    )


def serialize_distribution(layer: Any, argument: str, distribution: Any) -> dict[str, Any]:
    """The config of a distribution of `tfp.distributions` with constant parameters.

    Raises:
        ValueError: one line naming the layer, when a parameter is a variable, a bijector or
            anything else that has no plain config.
    """
    cls = next((c for c in type(distribution).__mro__ if getattr(tfd, c.__name__, None) is c), None)
    if cls is None:
        raise unsaveable(layer, argument, distribution, "use a distribution of `tfp.distributions`")
    parameters = {
        key: _serialize_value(layer, argument, value)
        for key, value in distribution.parameters.items()
        if value is not None and key != "name"
    }
    return {"__distribution__": cls.__name__, "parameters": parameters}


def _deserialize_value(config: Any) -> Any:
    if isinstance(config, dict) and "__distribution__" in config:
        return deserialize_distribution(config)
    if isinstance(config, dict) and "__array__" in config:
        return np.asarray(config["__array__"], dtype=config["dtype"])
    if isinstance(config, list):
        return [_deserialize_value(v) for v in config]
    return config


def deserialize_distribution(config: Any) -> Any:
    """The distribution of a `serialize_distribution` config; anything else goes to `deserialize_function`."""
    if not (isinstance(config, dict) and "__distribution__" in config):
        return deserialize_function(config)
    cls = getattr(tfd, config["__distribution__"])
    return cls(**{key: _deserialize_value(value) for key, value in config["parameters"].items()})
