"""Documentation pages from the scripts in `examples/`: their Markdown cells as prose, their code cells as code.

The examples are percent-format scripts (`# %% [markdown]` cells of `# `-prefixed Markdown, `# %%` code cells),
so the page shows them in the order a notebook would. A script without cells becomes its module docstring
followed by its code.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

__all__ = ["EXAMPLES", "page", "title"]

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
CELL = re.compile(r"^# %%(.*)$")


def _cells(source: str) -> list[tuple[str, list[str]]]:
    cells: list[tuple[str, list[str]]] = []
    for line in source.splitlines():
        match = CELL.match(line)
        if match:
            cells.append(("markdown" if "[markdown]" in match.group(1) else "code", []))
        elif cells:
            cells[-1][1].append(line)
        else:
            cells.append(("code", [line]))
    return cells


def _prose(lines: list[str]) -> str:
    return "\n".join(line[2:] if line.startswith("# ") else line.lstrip("#") for line in lines).strip()


def _code(lines: list[str]) -> str:
    return "\n".join(lines).strip("\n")


def title(path: Path) -> str:
    """The first Markdown heading of the example, or its file name."""
    for kind, lines in _cells(path.read_text()):
        if kind == "markdown":
            for line in _prose(lines).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return path.stem


def page(path: Path) -> str:
    """The Markdown page of one example script."""
    source = path.read_text()
    header = (f"*This page is `examples/{path.name}` of the repository, rendered cell by cell. Run it from the "
              f"repository's root with `python examples/{path.name}`.*")
    cells = _cells(source)
    if not any(kind == "markdown" for kind, _ in cells):
        docstring = ast.get_docstring(ast.parse(source)) or ""
        return f"# {path.stem}\n\n{header}\n\n{docstring}\n\n```python\n{source}\n```\n"
    parts: list[str] = []
    for kind, lines in cells:
        if kind == "markdown":
            text = _prose(lines)
            if text.startswith("# ") and not parts:
                heading, _, rest = text.partition("\n")
                parts += [heading, header, rest.strip()]
            else:
                parts.append(text)
        elif _code(lines):
            parts.append(f"```python\n{_code(lines)}\n```")
    return "\n\n".join(part for part in parts if part) + "\n"
