"""Errors of architecture discovery and loading."""

from __future__ import annotations

__all__ = [
    "AmbiguousArchitectureError",
    "MissingCapabilityError",
    "PluginLoadError",
    "RegistryError",
    "UnknownArchitectureError",
]


class RegistryError(Exception):
    """Base class of the registry's errors."""


class UnknownArchitectureError(RegistryError, LookupError):
    """No architecture of that name; carries the closest known names."""

    def __init__(self, name: str, suggestions: list[str]) -> None:
        hint = f"; did you mean {', '.join(repr(s) for s in suggestions)}?" if suggestions else ""
        super().__init__(f"unknown architecture {name!r}{hint} (see `tfp-arch list`)")
        self.name = name
        self.suggestions = suggestions


class AmbiguousArchitectureError(RegistryError, LookupError):
    """Two or more distributions register the same name."""

    def __init__(self, name: str, qualified: list[str]) -> None:
        choices = ", ".join(repr(q) for q in qualified)
        super().__init__(
            f"architecture {name!r} is registered by more than one distribution: {choices}; "
            "choose one by its qualified name"
        )
        self.name = name
        self.qualified = qualified


class MissingCapabilityError(RegistryError, NotImplementedError):
    """An architecture lacks the capability a command needs (`--plot`, `tfp-arch sample`)."""


class PluginLoadError(RegistryError, ImportError):
    """An entry point whose import failed, attributed to its distribution and entry point."""

    def __init__(self, qualified: str, value: str, error: BaseException) -> None:
        super().__init__(f"architecture plugin {qualified!r} ({value}) failed to load: {type(error).__name__}: {error}")
        self.qualified = qualified
        self.value = value
        self.error = error
