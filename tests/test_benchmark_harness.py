"""The benchmarks' harness: summaries, strict result files, seeded splits and standardisation."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import harness  # noqa: E402


def test_summary_matches_numpy_and_flags_non_finite_runs():
    values = [1.5, -0.25, 3.0, 2.0]
    summary = harness.summarize(values)
    assert summary["mean"] == pytest.approx(np.mean(values))
    assert summary["std"] == pytest.approx(np.std(values, ddof=1))
    assert summary["stderr"] == pytest.approx(np.std(values, ddof=1) / 2.0)
    assert summary["n"] == 4
    single = harness.summarize([2.0])
    assert single["mean"] == 2.0 and math.isnan(single["std"]) and math.isnan(single["stderr"])
    diverged = harness.summarize([1.0, float("nan"), float("inf")])
    assert diverged["non_finite_runs"] == 2 and math.isnan(diverged["stderr"])


def test_result_file_is_strict_json_with_the_machine_record(tmp_path):
    document = {"value": np.float32(0.5), "spread": float("nan"), "rates": np.array([1.0, np.inf]), "n": np.int64(3)}
    path = harness.write_result("demo", document, tmp_path / "demo")
    assert path == tmp_path / "demo.json"
    text = path.read_text()
    written = json.loads(text, parse_constant=lambda name: pytest.fail(f"non-standard JSON constant {name}"))
    assert list(written)[:3] == ["benchmark", "date", "machine"]
    assert set(written["machine"]) == {"python", "platform", "processor", "cpus", "packages"}
    assert written["value"] == 0.5 and written["spread"] == "nan" and written["rates"] == [1.0, "inf"]
    assert written["n"] == 3
    assert harness.read_result(tmp_path / "demo")["benchmark"] == "demo"
    assert harness.result_path("name") == harness.RESULTS / "name.json"


@pytest.mark.parametrize("path", sorted(harness.RESULTS.glob("*.json")), ids=lambda path: path.name)
def test_committed_result_files_are_strict_json(path):
    json.loads(path.read_text(), parse_constant=lambda name: pytest.fail(f"{path.name}: non-standard JSON constant {name}"))


def test_subsample_and_cut_are_seeded_partitions():
    rows = harness.subsample(50, 20, seed=4)
    assert len(set(rows.tolist())) == 20 and rows.max() < 50
    np.testing.assert_array_equal(rows, harness.subsample(50, 20, seed=4))
    np.testing.assert_array_equal(harness.subsample(50, None, seed=4), np.arange(50))
    first, rest = harness.cut(11, 0.8, seed=1)
    assert len(first) == 8 and sorted([*first, *rest]) == list(range(11))


def test_standardise_uses_the_training_statistics_and_leaves_constant_columns_centred():
    rng = np.random.default_rng(0)
    train = np.column_stack([rng.normal(3.0, 2.0, 100), np.full(100, 7.0)]).astype("float32")
    test = rng.normal(0.0, 1.0, (10, 2)).astype("float32")
    scaled, scaled_test, mean, std = harness.standardise(train, test)
    np.testing.assert_allclose(scaled[:, 0].mean(), 0.0, atol=1e-5)
    np.testing.assert_allclose(scaled[:, 0].std(), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(scaled[:, 1], 0.0)
    np.testing.assert_allclose(scaled_test, (test - train.mean(0)) / np.array([train[:, 0].std(), 1.0]), rtol=1e-5)
    assert std[1] == 1.0 and mean[1] == 7.0
