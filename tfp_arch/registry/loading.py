"""Architectures by name, as Keras classes: the registry of `tfp_arch.registry` plus Keras checks.

Plugins are imported on demand, never by `import tfp_arch`. So that `keras.saving.load_model` still
restores any installed architecture without `custom_objects`, `register_loaders` puts a small stand-in
under each entry point's Keras registered name (read from its declaration, not from the class); when
Keras deserialises a saved model of that name, the stand-in imports the plugin and hands the config to
the real class, whose own registration then replaces the stand-in. `load_model` reads the saved class
from a `.keras` file and imports only its plugin.
"""

from __future__ import annotations

import ast
import json
import os
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import keras

from tfp_arch.registry.core import default_registry
from tfp_arch.registry.describe import declared
from tfp_arch.registry.entries import Entry, find_module_spec
from tfp_arch.registry.errors import PluginLoadError, RegistryError

if TYPE_CHECKING:
    from tfp_arch.architecture import Architecture

__all__ = ["get", "load_all", "load_model", "register_loaders"]


def _fallback_package(qualified: str) -> str:
    """The Keras package under which a plugin class without its own registration is registered."""
    return "tfp_arch." + qualified.split(":")[0].replace("-", "_")


def _as_architecture(qualified: str, obj: object) -> type[Architecture]:
    from tfp_arch.architecture import Architecture

    if not (isinstance(obj, type) and issubclass(obj, Architecture)):
        raise RegistryError(f"architecture plugin {qualified!r} is not a tfp_arch.Architecture subclass: {obj!r}")
    if keras.saving.get_registered_object(keras.saving.get_registered_name(obj)) is not obj:
        keras.saving.register_keras_serializable(package=_fallback_package(qualified))(obj)
    return obj


def _loader(qualified: str, class_name: str) -> type:
    def from_config(cls: type, config: dict, custom_objects: dict | None = None) -> Architecture:
        return get(qualified).from_config(config)

    return type(
        class_name,
        (),
        {
            "__doc__": f"Stand-in that imports architecture plugin {qualified!r} when a saved model needs it.",
            "__module__": __name__,
            "from_config": classmethod(from_config),
            "get_config": lambda self: {},
        },
    )


def _legacy_registered_name(entry: Entry) -> str | None:
    """For an entry point without a declaration: the `register_keras_serializable(package=..., name=...)`
    literal arguments of its class statement, read from the module's source, or None."""
    module_name, _, attribute = entry.value.partition(":")
    spec = find_module_spec(module_name)
    try:
        tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8")) if spec and spec.origin else None
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return None
    for node in tree.body if tree is not None else []:
        if not (isinstance(node, ast.ClassDef) and node.name == attribute):
            continue
        for decorator in node.decorator_list:
            if isinstance(decorator, ast.Call) and ast.unparse(decorator.func).endswith("register_keras_serializable"):
                options = {"package": "Custom", "name": node.name}
                pairs = [*zip(("package", "name"), decorator.args, strict=False)]
                pairs += [(k.arg, k.value) for k in decorator.keywords if k.arg in options]
                for key, value in pairs:
                    if not (isinstance(value, ast.Constant) and isinstance(value.value, (str, type(None)))):
                        return None
                    options[str(key)] = value.value or options[str(key)]
                return f"{options['package']}>{options['name']}"
    return None


def _saved_name(entry: Entry) -> str | None:
    """The Keras registered name a saved model of `entry`'s class carries: its declaration's, else the
    literal arguments of the class's decorator (a plugin without a declaration), else the name
    `get` registers an undecorated class under."""
    try:
        declaration = declared(entry)
    except PluginLoadError:
        return None
    if declaration is not None and declaration.registered_name:
        return declaration.registered_name
    return _legacy_registered_name(entry) or f"{_fallback_package(entry.qualified)}>{entry.value.partition(':')[2]}"


def register_loaders() -> list[str]:
    """Register a Keras stand-in for every entry-point architecture not imported yet.

    Returns:
        The registered names given stand-ins. An entry point whose registered name is not declared
        and not a literal in its class's decorator gets none: import it (`tfp_arch.get(name)`)
        before loading its saved models.
    """
    names = []
    for entry in default_registry().entries():
        if entry.obj is not None or entry.problem() is not None:
            continue
        name = _saved_name(entry)
        if name is None:
            continue
        if keras.saving.get_registered_object(name) is None:
            package, _, short = name.rpartition(">")
            keras.saving.register_keras_serializable(package=package, name=short)(_loader(entry.qualified, short))
            names.append(name)
    return names


def get(name: str | Entry) -> type[Architecture]:
    """The architecture class registered as `name` (or `distribution:name`), imported on demand.

    `name` may be an `Entry` already resolved (`default_registry().resolve(name)`): it is loaded
    without searching the registry again.

    Raises:
        UnknownArchitectureError: no such name (with the closest names).
        AmbiguousArchitectureError: several distributions register the name.
        PluginLoadError: the plugin failed to import.
        RegistryError: the plugin is not an `Architecture` subclass.
    """
    entry = name if isinstance(name, Entry) else default_registry().resolve(name)
    return _as_architecture(entry.qualified, default_registry().load(entry))


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


def load_model(path: str | os.PathLike, **kwargs) -> keras.Model:
    """Load a `.keras` file, importing only the plugin of the architecture it holds.

    The saved class is read from the file's `config.json` (its Keras registered name) and matched
    against the entry points' registered names, read from their declarations; that plugin alone is
    imported. A file holding any other Keras object loads as `keras.saving.load_model` loads it.

    Args:
        path: the `.keras` file.
        **kwargs: passed to `keras.saving.load_model` (for example `custom_objects`, `compile`).

    Returns:
        The restored model.

    Raises:
        PluginLoadError: the architecture's plugin failed to import.
    """
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
    saved = config.get("registered_name") or config.get("class_name")
    for entry in default_registry().entries():
        if entry.problem() is None and (entry.obj is None) and _saved_name(entry) == saved:
            get(entry.qualified)
            break
    return keras.saving.load_model(path, **kwargs)


register_loaders()
