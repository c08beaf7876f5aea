"""Architectures by name, as Keras classes: the registry of `tfp_arch_registry` plus checks.

Plugins are imported on demand, never by `import tfp_arch`. So that `keras.saving.load_model` still
restores any installed architecture without `custom_objects`, `register_loaders` puts a small stand-in
under each entry point's Keras registered name (read from the plugin's source, not imported); when
Keras deserialises a saved model of that name, the stand-in imports the plugin and hands the config to
the real class, whose own registration then replaces the stand-in.
"""

from __future__ import annotations

import keras

from tfp_arch.architecture import Architecture
from tfp_arch_registry import (
    PluginLoadError,
    RegistryError,
    default_registry,
    register,
)
from tfp_arch_registry.describe import StaticReadError, registered_name

__all__ = ["architectures", "broken", "get", "load_all", "register", "register_loaders"]


def _fallback_package(qualified: str) -> str:
    """The Keras package under which a plugin class without its own registration is registered."""
    return "tfp_arch." + qualified.split(":")[0].replace("-", "_")


def _as_architecture(qualified: str, obj: object) -> type[Architecture]:
    if not (isinstance(obj, type) and issubclass(obj, Architecture)):
        raise RegistryError(f"architecture plugin {qualified!r} is not a tfp_arch.Architecture subclass: {obj!r}")
    if keras.saving.get_registered_object(keras.saving.get_registered_name(obj)) is not obj:
        keras.saving.register_keras_serializable(package=_fallback_package(qualified))(obj)
    return obj


def _loader(qualified: str, class_name: str) -> type:
    def from_config(cls: type, config: dict, custom_objects: dict | None = None) -> Architecture:
        return get(qualified).from_config(config)

    return type(class_name, (), {
        "__doc__": f"Stand-in that imports architecture plugin {qualified!r} when a saved model needs it.",
        "__module__": __name__,
        "from_config": classmethod(from_config),
        "get_config": lambda self: {},
    })


def register_loaders() -> list[str]:
    """Register a Keras stand-in for every entry-point architecture not imported yet.

    Returns:
        The registered names given stand-ins. An entry point whose class cannot be read from source
        gets none: import it (`tfp_arch.get(name)`) before loading its saved models.
    """
    names = []
    for entry in default_registry().entries():
        if entry.obj is not None or entry.problem() is not None:
            continue
        try:
            name = registered_name(entry.value)
        except StaticReadError:
            continue
        class_name = entry.value.partition(":")[2]
        name = name or f"{_fallback_package(entry.qualified)}>{class_name}"
        if keras.saving.get_registered_object(name) is None:
            package, _, short = name.rpartition(">")
            keras.saving.register_keras_serializable(package=package, name=short)(_loader(entry.qualified, short))
            names.append(name)
    return names


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
