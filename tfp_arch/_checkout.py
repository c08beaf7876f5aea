"""Importing `tfp_arch.plugins` and `tfp_arch.cli` from a source checkout.

In the repository the plugins and the command line live in the top-level folders `plugins/` and
`cli/`; an install maps them into the package (`package-dir` in `pyproject.toml`). When Python
imports `tfp_arch` straight from a checkout (the checkout's root on `sys.path`, as with
`python -c ...` run there), this finder gives the two folders the same import names, so the source
tree behaves like an install.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import os
import sys
from importlib.machinery import ModuleSpec
from typing import Any

__all__ = ["install"]

MAPPED = {"tfp_arch.plugins": "plugins", "tfp_arch.cli": "cli"}


class _CheckoutFinder(importlib.abc.MetaPathFinder):
    def __init__(self, root: str) -> None:
        self.root = root

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> ModuleSpec | None:
        if name not in MAPPED:
            return None
        folder = os.path.join(self.root, MAPPED[name])
        return importlib.util.spec_from_file_location(
            name, os.path.join(folder, "__init__.py"), submodule_search_locations=[folder]
        )


def install(package_folder: str) -> None:
    """Add the finder when `package_folder` is the `tfp_arch/` folder of a checkout (not an install)."""
    root = os.path.dirname(package_folder)
    in_checkout = os.path.isfile(os.path.join(root, "pyproject.toml")) and all(
        os.path.isfile(os.path.join(root, folder, "__init__.py")) for folder in MAPPED.values()
    )
    if in_checkout and not os.path.isdir(os.path.join(package_folder, "plugins")):
        if not any(isinstance(finder, _CheckoutFinder) for finder in sys.meta_path):
            sys.meta_path.append(_CheckoutFinder(root))
