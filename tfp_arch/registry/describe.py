"""Loading an architecture's declaration: its declaration module when it has one, else its class.

An entry point with a declaration (`tfp_arch.declarations`, see `tfp_arch.declaration`) is described
by importing that module alone, which imports no TensorFlow. An in-process registration is described
from its class. An entry point without a declaration is imported (with TensorFlow) and described
from its loaded class.
"""

from __future__ import annotations

from tfp_arch.declaration import Declaration, describe_class
from tfp_arch.registry.core import import_value
from tfp_arch.registry.entries import Entry
from tfp_arch.registry.errors import PluginLoadError

__all__ = ["declared", "load_declaration"]

_CACHE: dict[tuple[str, str], Declaration] = {}


def declared(entry: Entry) -> Declaration | None:
    """The declaration `entry`'s distribution declares for it (imports only its module), or None.

    Raises:
        PluginLoadError: the declaration module fails to import, or does not hold a `Declaration`
            of that name.
    """
    if entry.declaration is None:
        return None
    key = (entry.qualified, entry.declaration)
    if key not in _CACHE:
        try:
            found = import_value(entry.declaration)
        except Exception as error:
            raise PluginLoadError(entry.qualified, entry.declaration, error) from error
        if not isinstance(found, Declaration):
            problem = TypeError(f"expected a tfp_arch.declaration.Declaration, got {type(found).__name__}")
            raise PluginLoadError(entry.qualified, entry.declaration, problem)
        _CACHE[key] = found
    return _CACHE[key]


def load_declaration(entry: Entry) -> Declaration:
    """What `entry` is and which hyperparameters it takes, importing TensorFlow only when the
    architecture declares nothing (then its class is imported and described).

    Raises:
        PluginLoadError: the declaration or (without one) the plugin fails to import.
    """
    if entry.obj is not None:
        return describe_class(entry.obj)
    found = declared(entry)
    if found is not None:
        return found
    from tfp_arch.registry.loading import get

    return describe_class(get(entry))
