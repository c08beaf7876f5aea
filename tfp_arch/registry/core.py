"""The registry: discovered entry points plus in-process registrations, loaded on demand."""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable
from typing import Any

from tfp_arch.registry.entries import LOCAL, Entry, discover, normalise
from tfp_arch.registry.errors import (
    AmbiguousArchitectureError,
    PluginLoadError,
    RegistryError,
    UnknownArchitectureError,
)

__all__ = ["Registry", "architectures", "broken", "default_registry", "import_value", "register"]


def import_value(value: str) -> Any:
    """The object an entry-point value `module:attribute.path` names, imported."""
    module_name, _, attribute = value.partition(":")
    obj = importlib.import_module(module_name)
    for part in filter(None, attribute.split(".")):
        obj = getattr(obj, part)
    return obj


class Registry:
    """Architectures by name: entry points of the group `tfp_arch.architectures` and local registrations.

    Discovery (`entries`, `resolve`) reads metadata only; `load` imports one plugin when asked. A plugin
    whose import fails raises `PluginLoadError` for that name only and is remembered in `broken`.
    """

    def __init__(self) -> None:
        self._local: dict[str, Entry] = {}
        self._loaded: dict[str, Any] = {}
        self.broken: dict[str, PluginLoadError] = {}

    def entries(self) -> list[Entry]:
        """Every known architecture: entry points allowed by `TFP_ARCH_PLUGINS`, then local ones."""
        return discover() + sorted(self._local.values(), key=lambda e: e.name)

    def names(self) -> list[str]:
        """The distinct names users can type."""
        return sorted({entry.name for entry in self.entries()})

    def resolve(self, name: str) -> Entry:
        """The entry called `name` (or `distribution:name`).

        Raises:
            UnknownArchitectureError: no such name; the error carries the closest names.
            AmbiguousArchitectureError: several distributions use the name; the error lists the
                qualified names to choose from.
        """
        entries = self.entries()
        if ":" in name:
            distribution, short = name.split(":", 1)
            matches = [e for e in entries if e.name == short and e.distribution == normalise(distribution)]
        else:
            matches = [e for e in entries if e.name == name]
        if not matches:
            known = sorted({e.name for e in entries} | {e.qualified for e in entries})
            raise UnknownArchitectureError(name, difflib.get_close_matches(name, known, n=3, cutoff=0.5))
        if len(matches) > 1:
            raise AmbiguousArchitectureError(name, [e.qualified for e in matches])
        return matches[0]

    def load(self, name: str | Entry) -> Any:
        """Import and return the object registered as `name`, once; later calls reuse it.

        Args:
            name: a name to resolve, or an entry already resolved (then the registry is not searched again).
        """
        entry = name if isinstance(name, Entry) else self.resolve(name)
        if entry.obj is not None:
            return entry.obj
        if entry.qualified not in self._loaded:
            try:
                self._loaded[entry.qualified] = import_value(entry.value)
            except Exception as error:
                failure = PluginLoadError(entry.qualified, entry.value, error)
                self.broken[entry.qualified] = failure
                raise failure from error
            self.broken.pop(entry.qualified, None)
        return self._loaded[entry.qualified]

    def load_all(self) -> dict[str, Any]:
        """Load every entry point; failures are kept in `broken`, never raised.

        Returns:
            Qualified name to loaded object, for the entries that loaded.
        """
        loaded = {}
        for entry in self.entries():
            try:
                loaded[entry.qualified] = self.load(entry.qualified)
            except PluginLoadError:
                continue
        return loaded

    def register(self, obj: Any = None, *, name: str | None = None, replace: bool = False) -> Any:
        """Register an architecture in this process; usable directly or as a class decorator.

        Args:
            obj: the architecture class.
            name: the name to register; defaults to the class attribute `architecture_name`, else the lower-cased
                class name.
            replace: allow replacing an earlier local registration of the same name.

        Returns:
            `obj` (so it can decorate a class), or a decorator when `obj` is None.

        Raises:
            RegistryError: the name is taken by an entry point, or by another local object and
                `replace` is False.

        Example:
            >>> @tfp_arch.register(name="my_arch")
            ... class MyArch(tfp_arch.Architecture): ...
        """
        if obj is None:
            return lambda target: self.register(target, name=name, replace=replace)
        key = name or getattr(obj, "architecture_name", None) or obj.__name__.lower()
        if not isinstance(key, str) or not key.isidentifier():
            raise RegistryError(f"Invalid architecture name: expected an identifier. Received: name={key!r}")
        taken = [e.qualified for e in discover() if e.name == key]
        if taken:
            raise RegistryError(
                f"cannot register {key!r} in-process: the name belongs to {', '.join(taken)}; choose another name"
            )
        current = self._local.get(key)
        same = current is not None and getattr(current.obj, "__qualname__", None) == getattr(obj, "__qualname__", 0)
        if current is not None and not (replace or same):
            raise RegistryError(
                f"architecture {key!r} is already registered in-process by {current.value}; pass replace=True"
            )
        value = f"{getattr(obj, '__module__', '?')}:{getattr(obj, '__qualname__', repr(obj))}"
        self._local[key] = Entry(key, value, LOCAL, None, obj)
        return obj

    def unregister(self, name: str) -> None:
        """Forget a local registration (entry points cannot be unregistered)."""
        if name not in self._local:
            raise RegistryError(f"{name!r} is not registered in-process")
        del self._local[name]


def default_registry() -> Registry:
    """The process-wide registry."""
    return _DEFAULT


_DEFAULT = Registry()

register: Callable[..., Any] = _DEFAULT.register


def architectures() -> list[str]:
    """Names of the known architectures (entry points and in-process registrations)."""
    return _DEFAULT.names()


def broken() -> dict[str, PluginLoadError]:
    """Plugins that failed to load so far, by qualified name."""
    return dict(_DEFAULT.broken)
