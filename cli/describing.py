"""An architecture's declaration for the CLI, read without TensorFlow when the architecture declares itself."""

from __future__ import annotations

from tfp_arch.cli.environment import import_quietly
from tfp_arch.declaration import Declaration
from tfp_arch.registry import Entry, default_registry
from tfp_arch.registry.describe import load_declaration

__all__ = ["describe_entry"]


def describe_entry(name: str) -> tuple[Entry, Declaration]:
    """The registry entry called `name` and its declaration.

    An entry point with a declaration module (`tfp_arch.declarations`) is described by it, without
    importing the plugin; otherwise the plugin is imported (with TensorFlow, quietly) and described
    from its class.
    """
    entry = default_registry().resolve(name)
    if entry.obj is None and entry.declaration is None:
        import_quietly()
    return entry, load_declaration(entry)
