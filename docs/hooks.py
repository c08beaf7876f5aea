"""MkDocs hooks: the benchmark tables and the example pages are generated at build time.

- Every `<!-- results: RENDERER FILE -->` marker in a page under `benchmarks/` becomes a table made from
  `benchmarks/results/FILE` (`docs/gen_benchmarks.py`); a marker it cannot render fails the build.
- `<!-- dependencies -->` becomes the requirements declared in `pyproject.toml`.
- The command-line reference imports `tfp_arch.cli` from the installed package: install the checkout
  (`pip install -e ".[docs]"`, or `pip install ".[docs]"`) before building; a missing install fails the
  build with that advice.
- `benchmarks/results.md` lists every result file with its command; `examples/NAME.md` is made from each
  `examples/NAME.py` (`docs/gen_examples.py`).
"""

from __future__ import annotations

import importlib
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



def _installed_cli() -> None:
    """Fail with advice when `tfp_arch.cli` cannot be imported (mkdocs-click imports it)."""
    try:
        importlib.import_module("tfp_arch.cli.main")
    except ImportError as error:
        raise PluginError(
            f"the command-line reference needs tfp_arch installed from this checkout ({error}); "
            f"run `pip install -e '.[docs]'` at {ROOT}"
        ) from None


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
    _installed_cli()
    markdown = markdown.replace("<!-- dependencies -->", dependencies())
    if not page.file.src_uri.startswith("benchmarks/"):
        return markdown
    benchmarks = _module("gen_benchmarks")
    try:
        return benchmarks.expand(markdown, page.file.src_uri)
    except benchmarks.MarkerError as error:
        raise PluginError(str(error)) from error
