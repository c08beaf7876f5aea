"""Discovery and on-demand loading of tfp_arch architectures, with no dependency beyond the standard library.

Architectures are entry points of the group `tfp_arch.architectures` (the built-ins too) or classes
registered in-process. Listing reads entry-point metadata only; `load` imports one plugin when asked.
Set `TFP_ARCH_PLUGINS` to restrict which entry points are used: unset or `all` for every one, `none`
for none, or a comma-separated list of `name`, `distribution:name`, `distribution:*` and `builtin`.
"""

from tfp_arch_registry.entries import BUILTIN_DISTRIBUTION, ENV_VAR, GROUP, Entry, discover
from tfp_arch_registry.errors import (
    AmbiguousArchitectureError,
    PluginLoadError,
    RegistryError,
    UnknownArchitectureError,
)
from tfp_arch_registry.registry import Registry, default_registry, register

__all__ = [
    "BUILTIN_DISTRIBUTION",
    "ENV_VAR",
    "GROUP",
    "AmbiguousArchitectureError",
    "Entry",
    "PluginLoadError",
    "Registry",
    "RegistryError",
    "UnknownArchitectureError",
    "default_registry",
    "discover",
    "register",
]
