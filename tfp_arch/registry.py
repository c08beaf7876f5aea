"""Architectures by name, as Keras classes: the registry of `tfp_arch_registry` plus checks."""

from __future__ import annotations

import keras

from tfp_arch.architecture import Architecture
from tfp_arch_registry import (
    PluginLoadError,
    RegistryError,
    default_registry,
    register,
)

__all__ = ["architectures", "broken", "get", "load_all", "register"]


def _as_architecture(qualified: str, obj: object) -> type[Architecture]:
    if not (isinstance(obj, type) and issubclass(obj, Architecture)):
        raise RegistryError(f"architecture plugin {qualified!r} is not a tfp_arch.Architecture subclass: {obj!r}")
    if keras.saving.get_registered_object(keras.saving.get_registered_name(obj)) is not obj:
        distribution = qualified.split(":")[0].replace("-", "_")
        keras.saving.register_keras_serializable(package=f"tfp_arch.{distribution}")(obj)
    return obj


def get(name: str) -> type[Architecture]:
    """The architecture class registered as `name` (or `distribution:name`), imported on demand.

    Raises:
        UnknownArchitectureError: no such name (with the closest names).
        AmbiguousArchitectureError: several distributions register the name.
        PluginLoadError: the plugin failed to import.
        RegistryError: the plugin is not an `Architecture` subclass.
    """
    entry = default_registry().resolve(name)
    return _as_architecture(entry.qualified, default_registry().load(entry.qualified))


def load_all() -> dict[str, type[Architecture]]:
    """Import every allowed architecture so that saved models of any of them load.

    Failures are recorded in `broken()` and never raised.
    """
    loaded = {}
    for qualified, obj in default_registry().load_all().items():
        try:
            loaded[qualified] = _as_architecture(qualified, obj)
        except RegistryError as error:
            default_registry().broken[qualified] = PluginLoadError(qualified, repr(obj), error)
    return loaded


def architectures() -> list[str]:
    """Names of the known architectures (entry points and in-process registrations)."""
    return default_registry().names()


def broken() -> dict[str, PluginLoadError]:
    """Plugins that failed to load so far, by qualified name."""
    return dict(default_registry().broken)
