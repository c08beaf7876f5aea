"""The documentation: benchmark tables come from the result files, and the site builds in strict mode."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def _generator(name: str):
    spec = importlib.util.spec_from_file_location(f"docs_{name}", DOCS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


benchmarks = _generator("gen_benchmarks")


def test_every_marker_of_the_benchmark_pages_renders() -> None:
    for page in sorted((DOCS / "benchmarks").glob("*.md")):
        text = page.read_text()
        expanded = benchmarks.expand(text, page.name)
        assert not benchmarks.MARKER.search(expanded)
        assert expanded.count("| --- |") + expanded.count("|---|") >= len(benchmarks.MARKER.findall(text))


def test_a_table_shows_the_numbers_of_its_file() -> None:
    document = json.loads((benchmarks.RESULTS / "cli_list.json").read_text())
    rendered = benchmarks.render("cli_list", "cli_list.json")
    milliseconds = document["median_seconds"]["tfp-arch list"] * 1000
    assert benchmarks.number(milliseconds, 3) in rendered
    assert "python benchmarks/cli_list.py" in rendered


def test_a_marker_naming_a_missing_file_fails() -> None:
    with pytest.raises(benchmarks.MarkerError, match="no_such.json"):
        benchmarks.expand("<!-- results: cli_list no_such.json -->")


def test_number_formats_significant_digits_and_non_finite_values() -> None:
    assert benchmarks.number(0.0123456) == "0.01235"
    assert benchmarks.number(1234567.0) == "1,234,567"
    assert benchmarks.number(-2.5) == "−2.500"
    assert benchmarks.number("nan") == "NaN"
    assert benchmarks.cell({"mean": 1.0, "stderr": 0.25, "n": 3}) == "1.000 ± 0.25"


def test_the_index_lists_every_result_file() -> None:
    page = benchmarks.index()
    for path in benchmarks.RESULTS.glob("*.json"):
        assert f"## {path.name}" in page


def test_example_pages_keep_code_and_prose() -> None:
    examples = _generator("gen_examples")
    script = ROOT / "examples" / "mdn.py"
    page = examples.page(script)
    assert page.startswith("# ")
    assert "```python\nimport argparse" in page
    assert not re.search(r"^# %%", page, re.MULTILINE)


@pytest.mark.slow
def test_site_builds_in_strict_mode(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs", reason="the docs extra is not installed: pip install '.[docs]'")
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-d", str(tmp_path)],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "benchmarks" / "bnn-uci.html").is_file()
