"""A griffe extension that fits this project's docstrings to griffe's Google-style reader.

- The house style titles runnable doctests `Example:`; griffe reads only `Examples:` as an examples section
  (doctest lines as code, their outputs with them), so the heading is renamed.
- Docstrings such as `tfp_arch.Architecture`'s list items under a heading of their own ("A subclass must
  provide:"), one `name: text` item per line with deeper continuation lines. griffe renders such a block as
  one paragraph, so each item becomes a Markdown list item.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

__all__ = ["ExampleSection"]

HEADING = re.compile(r"^(\s*)Example:\s*$", re.MULTILINE)
SECTIONS = {
    "args", "arguments", "params", "parameters", "keyword args", "keyword arguments", "other args",
    "other arguments", "other params", "other parameters", "raises", "exceptions", "returns", "yields",
    "receives", "examples", "attributes", "functions", "methods", "classes", "modules", "warns", "warnings",
    "type args", "type arguments", "type params", "type parameters", "type aliases",
}
ITEM = re.compile(r"^\S[^:]*:\s")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def itemize(text: str) -> str:
    """`text` with every block of `name: text` items under a non-standard heading turned into a list."""
    lines = text.splitlines()
    out = list(lines)
    for index, line in enumerate(lines[:-1]):
        following = next((other for other in lines[index + 1:] if other.strip()), "")
        heading = line.strip().rstrip(":").lower()
        if not line.strip() or _indent(following) <= _indent(line) or heading in SECTIONS:
            continue
        if line.lstrip().startswith((">>>", "```", "-")):
            continue
        depth = _indent(following)
        block = []
        for position in range(index + 1, len(lines)):
            candidate = lines[position]
            if candidate.strip() and _indent(candidate) < depth:
                break
            block.append(position)
        items = [position for position in block if lines[position].strip() and _indent(lines[position]) == depth]
        if len(items) < 2 or not all(ITEM.match(lines[position].strip()) for position in items):
            continue
        for position in items:
            name, _, rest = lines[position].strip().partition(": ")
            if "`" not in name and len(name.split()) == 1 or "(" in name and "`" not in name:
                name = f"`{name}`"
            out[position] = " " * depth + f"- {name}: {rest}"
    return "\n".join(out)


class ExampleSection(griffe.Extension):
    """Rename `Example:` to `Examples:` and turn item blocks into lists, in every docstring."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = itemize(HEADING.sub(r"\1Examples:", obj.docstring.value))
