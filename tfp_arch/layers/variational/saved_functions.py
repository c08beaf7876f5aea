"""Saving the functions a user gives a layer: registered ones by name, anything else refused at `save`.

A `.keras` file stores a function by its registered name, so it loads only if the function is
registered with `keras.saving.register_keras_serializable()` (or is an object of a registered class
with `get_config`). Lambdas and closures cannot be stored that way; rather than write a file that
fails at load, `serialize_function` refuses them when the layer's config is taken, in one line that
names the layer, the argument and the fix.
"""

from __future__ import annotations

import inspect
from typing import Any

import keras

from tfp_arch.validation import ValidationError

__all__ = ["deserialize_function", "serialize_function"]


def _registered(value: Any) -> bool:
    target = value if inspect.isfunction(value) or inspect.isclass(value) else type(value)
    if not (inspect.isfunction(value) or hasattr(value, "get_config")):
        return False
    return keras.saving.get_registered_object(keras.saving.get_registered_name(target)) is target


def serialize_function(layer: keras.layers.Layer, argument: str, value: Any) -> Any:
    """`value` (a function given to `layer` as `argument`) serialised for `get_config`, or None.

    Raises:
        ValidationError: `value` is a lambda, a closure or an unregistered function or object.
    """
    if value is None:
        return None
    if not _registered(value):
        what = getattr(value, "__name__", type(value).__name__)
        raise ValidationError(
            f"Layer '{layer.name}' cannot be saved: its `{argument}` ({what}) is not a registered function; define it "
            "as a named function (or a class with get_config) decorated with "
            "`@keras.saving.register_keras_serializable()`"
        )
    return keras.saving.serialize_keras_object(value)


def deserialize_function(value: Any) -> Any:
    """A function from `serialize_function`'s output (values that are not dicts pass through)."""
    return keras.saving.deserialize_keras_object(value) if isinstance(value, dict) else value
