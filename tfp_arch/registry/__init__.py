"""Discovery and on-demand loading of tfp_arch architectures.

Architectures are entry points of the group `tfp_arch.architectures` (the built-ins too) or classes
registered in-process. Listing reads entry-point metadata only; `load` imports one plugin when asked.
Set `TFP_ARCH_PLUGINS` to restrict which entry points are used: unset or `all` for every one, `none`
for none, or a comma-separated list of `name`, `distribution:name`, `distribution:*` and `builtin`.

This package and its modules `core`, `entries`, `errors`, `describe` (an architecture's declaration,
`tfp_arch.declaration`) and `standins` use the standard library alone, so listing, `tfp-arch info` and
the CLI's checks run without TensorFlow.
`get`, `load_all`, `load_model` and `register_loaders` check classes against Keras: they live in
`tfp_arch.registry.loading`, which is imported when one of them is first used.
"""

from __future__ import annotations

import importlib
from typing import Any

from tfp_arch.registry.core import Registry, architectures, broken, default_registry, register
from tfp_arch.registry.entries import BUILTIN_DISTRIBUTION, ENV_VAR, GROUP, Entry, discover
from tfp_arch.registry.errors import (
    AmbiguousArchitectureError,
    MissingCapabilityError,
    PluginLoadError,
    RegistryError,
    UnknownArchitectureError,
)

_KERAS_SIDE = ("get", "load_all", "load_model", "register_loaders")

__all__ = [
    "BUILTIN_DISTRIBUTION",
    "ENV_VAR",
    "GROUP",
    "AmbiguousArchitectureError",
    "Entry",
    "MissingCapabilityError",
    "PluginLoadError",
    "Registry",
    "RegistryError",
    "UnknownArchitectureError",
    "architectures",
    "broken",
    "default_registry",
    "discover",
    "get",
    "load_all",
    "load_model",
    "register",
    "register_loaders",
]


def __getattr__(name: str) -> Any:
    if name in _KERAS_SIDE:
        return getattr(importlib.import_module("tfp_arch.registry.loading"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
