"""MkDocs hooks: the benchmark tables and the example pages are generated at build time.

- Every `<!-- results: RENDERER FILE -->` marker in a page under `benchmarks/` becomes a table made from
  `benchmarks/results/FILE` (`docs/gen_benchmarks.py`); a marker it cannot render fails the build.
- `<!-- dependencies -->` becomes the requirements declared in `pyproject.toml`.
- The checkout's root goes first on `sys.path`, so the command-line reference documents this checkout.
- `benchmarks/results.md` lists every result file with its command; `examples/NAME.md` is made from each
  `examples/NAME.py` (`docs/gen_examples.py`).
"""

from __future__ import annotations

import importlib.util
import sys
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

__all__ = ["on_files", "on_page_markdown"]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent



def _checkout_first() -> None:
    """Put the checkout's root on `sys.path`: mkdocs-click imports `tfp_arch.cli` from it, installed or not."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def _module(name: str) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _pages_using_results(docs: Path) -> dict[str, list[tuple[str, str]]]:
    benchmarks = _module("gen_benchmarks")
    used: dict[str, list[tuple[str, str]]] = {}
    for page in sorted((docs / "benchmarks").glob("*.md")):
        text = page.read_text()
        heading = next((line[2:] for line in text.splitlines() if line.startswith("# ")), page.stem)
        for match in benchmarks.MARKER.finditer(text):
            entry = (page.name, heading)
            if entry not in used.setdefault(match.group(2), []):
                used[match.group(2)].append(entry)
    return used


def on_files(files: Files, config: Any) -> Files:
    docs = Path(config["docs_dir"])
    benchmarks, examples = _module("gen_benchmarks"), _module("gen_examples")
    files.append(File.generated(config, "benchmarks/results.md", content=benchmarks.index(_pages_using_results(docs))))
    for script in sorted(examples.EXAMPLES.glob("*.py")):
        files.append(File.generated(config, f"examples/{script.stem}.md", content=examples.page(script)))
    return files


def dependencies() -> str:
    """The package's requirements as `pyproject.toml` declares them, one bullet each."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = [f"- Python `{project['requires-python']}`"]
    return "\n".join(lines + [f"- `{requirement}`" for requirement in project["dependencies"]])


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    _checkout_first()
    markdown = markdown.replace("<!-- dependencies -->", dependencies())
    if not page.file.src_uri.startswith("benchmarks/"):
        return markdown
    benchmarks = _module("gen_benchmarks")
    try:
        return benchmarks.expand(markdown, page.file.src_uri)
    except benchmarks.MarkerError as error:
        raise PluginError(str(error)) from error
