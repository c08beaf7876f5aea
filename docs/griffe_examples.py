"""A griffe extension: the house style's `Example:` docstring section is rendered as griffe's `Examples:`.

Google-style docstrings in this project title their runnable doctests `Example:`; griffe reads only
`Examples:` as an examples section (doctest lines as code, their outputs with them), so this extension renames
the section heading on every object it loads.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

__all__ = ["ExampleSection"]

HEADING = re.compile(r"^(\s*)Example:\s*$", re.MULTILINE)


class ExampleSection(griffe.Extension):
    """Rename `Example:` to `Examples:` in every docstring."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = HEADING.sub(r"\1Examples:", obj.docstring.value)
