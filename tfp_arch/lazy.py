"""Names of a module imported on first use, so that importing the module itself stays light."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["lazy_attributes"]


def lazy_attributes(module: str, sources: dict[str, str]) -> Callable[[str], Any]:
    """A module-level `__getattr__` that imports each name of `sources` from its module on first use.

    The value is then stored in `module`, so later uses are plain attribute reads.

    Args:
        module: the name of the module that assigns the result to its `__getattr__` (`__name__`).
        sources: name -> the module that defines it.

    Example:
        >>> __getattr__ = lazy_attributes("tfp_arch", {"lazy_attributes": "tfp_arch.lazy"})
        >>> __getattr__("lazy_attributes") is lazy_attributes
        True
    """

    def __getattr__(name: str) -> Any:
        if name not in sources:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(sources[name]), name)
        setattr(sys.modules[module], name, value)
        return value

    return __getattr__
