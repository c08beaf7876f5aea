"""The default training budget: epochs that follow from the training rows, recorded, overridable and resumable."""

from __future__ import annotations

import json
import math

import pytest
from click.testing import CliRunner
from helpers import strict_json, train_toy

from tfp_arch.budget import epochs_for, epochs_rule


@pytest.mark.parametrize(
    ("rows", "batch", "min_epochs", "min_steps", "max_epochs", "expected"),
    [
        (691, 32, 40, 20_000, 1_000, 910),  # 22 steps per epoch: 20,000 steps need 910 epochs
        (8611, 32, 40, 20_000, 1_000, 75),  # 270 steps per epoch
        (41_157, 32, 40, 20_000, 1_000, 40),  # 40 epochs are already more than 20,000 steps
        (100, 32, 40, 20_000, 1_000, 1_000),  # 4 steps per epoch: the cap
        (100, 32, 40, 20_000, None, 5_000),
        (100, 32, 40, None, 1_000, 40),
        (100, 32, 40, 0, 1_000, 40),
        (1, 32, 3, 10, None, 10),
    ],
)
def test_epochs_for_follows_the_rows(rows, batch, min_epochs, min_steps, max_epochs, expected):
    assert epochs_for(rows, batch, min_epochs, min_steps, max_epochs) == expected


@pytest.mark.parametrize("rows", [1, 31, 32, 33, 500, 999, 10_000, 123_457])
def test_an_uncapped_budget_is_the_fewest_epochs_with_enough_steps(rows):
    steps_per_epoch = -(-rows // 32)
    epochs = epochs_for(rows, 32, 40, 20_000)
    assert epochs >= 40 and epochs * steps_per_epoch >= 20_000
    assert epochs == 40 or (epochs - 1) * steps_per_epoch < 20_000


def test_the_work_grows_linearly_beyond_the_minimum():
    steps = [epochs_for(rows, 32, 40, 20_000, 1_000) * math.ceil(rows / 32) for rows in (32_000, 64_000, 128_000)]
    assert steps == [40_000, 80_000, 160_000]


@pytest.mark.parametrize(
    ("argument", "arguments"),
    [("train_rows", (0, 32, 40)), ("batch_size", (10, -1, 40)), ("min_epochs", (10, 32, 0)),
     ("min_steps", (10, 32, 40, -5)), ("max_epochs", (10, 32, 40, 10, 0)), ("train_rows", (1.5, 32, 40))],
)
def test_bad_counts_name_the_argument(argument, arguments):
    with pytest.raises(ValueError, match=f"argument `{argument}`"):
        epochs_for(*arguments)


def test_the_rule_record_holds_its_inputs():
    assert epochs_rule(691, 32, 40, 20_000, 1_000) == {
        "epochs": 910,
        "rule": "max(min_epochs, min(max_epochs, ceil(min_steps / ceil(train_rows / batch_size))))",
        "train_rows": 691,
        "batch_size": 32,
        "min_epochs": 40,
        "min_steps": 20_000,
        "max_epochs": 1_000,
    }


def test_bnn_declares_its_budget_and_other_architectures_keep_their_epochs():
    from tfp_arch.plugins.bnn import BayesianMLP
    from tfp_arch.plugins.vae.model import VariationalAutoencoder as VAE

    assert BayesianMLP.default_epochs_for(691) == 910
    assert BayesianMLP.default_epochs_for(41_157) == BayesianMLP.default_epochs == 40
    assert VAE.default_epochs_for(100) == VAE.default_epochs


def test_a_request_without_epochs_leaves_them_to_the_data(toy_registered):
    from tfp_arch.registry import default_registry
    from tfp_arch.declaration import describe_class
    from tfp_arch.runs.request import make_request

    entry = default_registry().resolve("toy")
    assert make_request(entry, describe_class(toy_registered))["epochs"] is None
    assert make_request(entry, describe_class(toy_registered), epochs=7)["epochs"] == 7


@pytest.fixture
def budgeted_toy(toy_registered, monkeypatch):
    """`toy` (batch 16, 2 default epochs) with a minimum of 36 steps: 3 epochs of its 180 training rows."""
    monkeypatch.setattr(toy_registered, "min_training_steps", 36)
    return toy_registered


@pytest.mark.slow
def test_a_default_run_records_and_prints_the_resolved_epochs(budgeted_toy, tmp_path):
    result = train_toy(["--output", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    config = strict_json((tmp_path / "run" / "config.json").read_text())
    assert config["epochs"] == config["epochs_run"] == 3
    rule = config["epochs_rule"]
    assert (rule["train_rows"], rule["batch_size"], rule["min_epochs"], rule["min_steps"]) == (180, 16, 2, 36)
    assert result.stderr.count("epochs: 3 (the default for 180 training rows in batches of 16") == 1


@pytest.mark.slow
def test_the_rule_counts_the_rows_left_after_the_validation_split(budgeted_toy, tmp_path):
    result = train_toy(["--validation-split", "0.5", "--output", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    config = strict_json((tmp_path / "run" / "config.json").read_text())
    assert config["epochs_rule"]["train_rows"] == 90 and config["epochs"] == 6


@pytest.mark.slow
def test_given_epochs_override_the_rule(budgeted_toy, tmp_path):
    result = train_toy(["--epochs", "1", "--output", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    config = strict_json((tmp_path / "run" / "config.json").read_text())
    assert config["epochs"] == 1 and config["epochs_rule"] is None
    assert "the default for" not in result.stderr


@pytest.mark.slow
def test_a_resume_keeps_the_epochs_resolved_when_the_run_started(budgeted_toy, tmp_path, monkeypatch):
    from tfp_arch.cli.main import main

    interrupted = train_toy(["--checkpoint-every", "1", "--output", str(tmp_path / "run")], stop_after_first_epoch=True)
    assert interrupted.exit_code == 130, interrupted.output
    staging = tmp_path / "run.partial"
    assert json.loads((staging / "request.json").read_text())["epochs"] == 3
    monkeypatch.setattr(budgeted_toy, "min_training_steps", 1_000)
    resumed = CliRunner().invoke(main, ["train", "--resume", str(staging)])
    assert resumed.exit_code == 0, resumed.output
    config = strict_json((tmp_path / "run" / "config.json").read_text())
    assert config["epochs"] == config["epochs_run"] == 3 and config["epochs_rule"]["min_steps"] == 36
