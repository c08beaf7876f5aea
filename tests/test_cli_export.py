"""`tfp-arch export RUN_DIR`: a SavedModel beside the run, recorded in the run's exports.json."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from helpers import strict_json
from tfp_arch.cli.main import main

from tfp_arch.runs import train


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return train("bnn", "synthetic:gap_regression#n=200", epochs=1, output=tmp_path_factory.mktemp("runs") / "bnn",
                 hyperparameters={"hidden_units": [8]}, verbose=0).path


def test_export_writes_a_saved_model_and_records_it(run_dir, tmp_path):
    import tensorflow as tf

    target = tmp_path / "served"
    result = CliRunner().invoke(main, ["export", str(run_dir), "--output", str(target), "--json"])
    assert result.exit_code == 0, result.output
    document = strict_json(result.stdout)
    assert document["format"] == "saved_model"
    assert set(tf.saved_model.load(str(target)).signatures) == set(document["signatures"])
    records = json.loads((run_dir / "exports.json").read_text())
    assert records[-1]["path"] == str(target.resolve())
    assert records[-1]["signatures"]["predict"]["inputs"]["seed"] == ["int64", []]


@pytest.mark.slow
def test_export_refuses_an_existing_output_in_one_line_unless_overwrite(run_dir, tmp_path):
    target = tmp_path / "taken"
    target.mkdir()
    result = CliRunner().invoke(main, ["export", str(run_dir), "--output", str(target)])
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0 and "exists" in result.stderr
    assert list(target.iterdir()) == []
    result = CliRunner().invoke(main, ["export", str(run_dir), "--output", str(target), "--overwrite"])
    assert result.exit_code == 0, result.output
    assert (target / "saved_model.pb").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]
