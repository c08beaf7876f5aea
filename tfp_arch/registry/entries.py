"""Reading architecture entry points: names, values and distributions, without importing plugins."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import re
import sys
from dataclasses import dataclass
from importlib import metadata
from typing import Any

__all__ = [
    "BUILTIN_DISTRIBUTION",
    "DECLARATIONS",
    "ENV_VAR",
    "GROUP",
    "LOCAL",
    "Entry",
    "discover",
    "find_module_spec",
    "normalise",
]

GROUP = "tfp_arch.architectures"
DECLARATIONS = "tfp_arch.declarations"
ENV_VAR = "TFP_ARCH_PLUGINS"
BUILTIN_DISTRIBUTION = "tfp-arch"
LOCAL = "local"

_VALUE = re.compile(r"^[A-Za-z_][\w.]*(:[A-Za-z_][\w.]*)?$")


def normalise(distribution: str) -> str:
    """A distribution name in its canonical form (PEP 503): lower case, runs of -_. as one -."""
    return re.sub(r"[-_.]+", "-", distribution).lower()


@dataclass(frozen=True)
class Entry:
    """One architecture as discovered: where it comes from and how to load it.

    Attributes:
        name: the name users type.
        value: `module:attribute` for an entry point, the object's qualified name for an in-process one.
        distribution: canonical name of the distribution declaring it (`"local"` for in-process).
        version: the distribution's version, if known.
        obj: the registered object itself, for in-process registrations.
        declaration: `module:attribute` of the architecture's `tfp_arch.declaration.Declaration`, from
            the entry point of the same name in the group `tfp_arch.declarations` of the same
            distribution; None when it declares none.
    """

    name: str
    value: str
    distribution: str
    version: str | None = None
    obj: Any = None
    declaration: str | None = None

    @property
    def qualified(self) -> str:
        """`distribution:name`, unique even when two distributions use the same name."""
        return f"{self.distribution}:{self.name}"

    @property
    def builtin(self) -> bool:
        """Whether the entry ships with tfp-arch itself."""
        return self.distribution == BUILTIN_DISTRIBUTION

    def problem(self) -> str | None:
        """What is statically wrong with the entry point (bad value, module not found), or None.

        Finds the module's file without executing it or any package above it.
        """
        if self.obj is not None:
            return None
        if not _VALUE.match(self.value):
            return f"invalid entry point value {self.value!r}: expected 'module:attribute'"
        module = self.value.split(":")[0]
        if not _module_exists(module):
            return f"module {module!r} not found"
        return None


def find_module_spec(module: str) -> importlib.machinery.ModuleSpec | None:
    """The spec of `module` found without executing it or any package above it.

    Each submodule is looked up by the import system's finders with its parent's search locations,
    so folders mapped by setuptools' `package-dir` (in wheels and editable installs) are found as
    `import` finds them.
    """
    parts = module.split(".")
    try:
        spec = importlib.util.find_spec(parts[0])
    except (ImportError, ValueError):
        return None
    for depth in range(1, len(parts)):
        locations = None if spec is None else spec.submodule_search_locations
        if locations is None:
            return None
        spec = _find_submodule(".".join(parts[: depth + 1]), list(locations))
    return spec


def _find_submodule(name: str, locations: list[str]) -> importlib.machinery.ModuleSpec | None:
    for finder in sys.meta_path:
        find_spec = getattr(finder, "find_spec", None)
        if find_spec is None:
            continue
        try:
            spec = find_spec(name, locations)
        except Exception:
            continue
        if spec is not None:
            return spec
    return None


def _module_exists(module: str) -> bool:
    return find_module_spec(module) is not None


def _selected(entry: Entry, patterns: list[str]) -> bool:
    for pattern in patterns:
        if pattern == "all":
            return True
        if pattern == "builtin" and entry.builtin:
            return True
        if ":" in pattern:
            distribution, name = pattern.split(":", 1)
            if normalise(distribution) == entry.distribution and name in ("*", entry.name):
                return True
        elif pattern == entry.name:
            return True
    return False


def selection() -> list[str]:
    """The patterns of `TFP_ARCH_PLUGINS`: unset means `all`; `none` loads no entry points."""
    raw = os.environ.get(ENV_VAR, "all").strip() or "all"
    patterns = [p.strip() for p in raw.split(",") if p.strip()]
    return [] if patterns == ["none"] else patterns


def _distribution(point: metadata.EntryPoint) -> str:
    dist = getattr(point, "dist", None)
    return normalise(dist.name) if dist is not None else "unknown"


def discover() -> list[Entry]:
    """Every architecture entry point that `TFP_ARCH_PLUGINS` allows, in a stable order.

    The same entry point seen twice (one distribution on two paths) is listed once.
    """
    patterns = selection()
    declared = {(_distribution(point), point.name): point.value for point in metadata.entry_points(group=DECLARATIONS)}
    seen: dict[tuple[str, str, str], Entry] = {}
    for point in metadata.entry_points(group=GROUP):
        dist = getattr(point, "dist", None)
        distribution = _distribution(point)
        version = dist.version if dist is not None else None
        entry = Entry(
            point.name, point.value, distribution, version, declaration=declared.get((distribution, point.name))
        )
        key = (entry.distribution, entry.name, entry.value)
        if key not in seen and _selected(entry, patterns):
            seen[key] = entry
    return sorted(seen.values(), key=lambda e: (e.name, e.distribution))
