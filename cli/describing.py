"""An architecture's description for the CLI, read from its source when possible (no TensorFlow)."""

from __future__ import annotations

from tfp_arch.cli.environment import import_quietly
from tfp_arch.registry import Entry, default_registry
from tfp_arch.registry.describe import Description, StaticReadError, describe_class, describe_source

__all__ = ["describe_entry"]


def describe_entry(name: str) -> tuple[Entry, Description]:
    """The registry entry called `name` and its description.

    In-process registrations are described from their class; entry points from their source files,
    without importing them, unless something is not readable statically: then the plugin is imported
    (with TensorFlow) and described from the loaded class.
    """
    entry = default_registry().resolve(name)
    if entry.obj is not None:
        return entry, describe_class(entry.obj)
    problem = entry.problem()
    if problem is None:
        try:
            return entry, describe_source(entry.value)
        except StaticReadError:
            pass
    import_quietly()
    from tfp_arch.registry import get

    return entry, describe_class(get(entry))
