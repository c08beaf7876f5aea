"""The epochs of a default run chosen by a search on a validation cut: the plan, the search, the record."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from helpers import strict_json, train_toy

from tfp_arch.budget import epochs_for, epochs_rule, search_plan, searched_rule


@pytest.mark.parametrize(
    ("rows", "validation", "epochs", "every", "patience"),
    [
        (364, 73, 1_000, 10, 200),  # 291 rows, 10 steps per epoch: the cap
        (1_000, 200, 800, 8, 160),  # 800 rows, 25 steps per epoch: 20,000 steps
        (19_000, 3_800, 43, 1, 9),  # 475 steps per epoch
        (50, 10, 1_000, 10, 200),
    ],
)
def test_the_plan_cuts_a_fifth_and_waits_a_fifth_of_the_capped_epochs(rows, validation, epochs, every, patience):
    plan = search_plan(rows, 32, 40, 20_000, 1_000)
    assert plan["validation_rows"] == validation and plan["cut_rows"] == rows - validation
    assert plan["epochs"] == epochs == epochs_for(rows - validation, 32, 40, 20_000, 1_000)
    assert (plan["every"], plan["patience"]) == (every, patience)


def test_a_set_too_small_for_ten_validation_rows_is_not_searched():
    assert search_plan(47, 32, 40, 20_000, 1_000) is None
    assert search_plan(48, 32, 40, 20_000, 1_000)["validation_rows"] == 10


def test_a_set_whose_cap_is_the_fewest_epochs_is_not_searched():
    assert search_plan(20_000, 32, 40, 20_000, 1_000) is None  # 16,000 rows: 500 steps per epoch, 40 epochs
    assert search_plan(100, 32, 40, None, None) is None
    assert search_plan(19_900, 32, 40, 20_000, 1_000)["epochs"] == 41


@pytest.mark.parametrize(
    ("argument", "keywords"),
    [("validation_fraction", {"validation_fraction": 1.0}), ("patience_fraction", {"patience_fraction": 0}),
     ("evaluations", {"evaluations": 0})],
)
def test_bad_search_settings_name_the_argument(argument, keywords):
    with pytest.raises(ValueError, match=f"argument `{argument}`"):
        search_plan(500, 32, 40, 20_000, 1_000, **keywords)


def test_the_searched_epochs_are_the_best_epoch_but_at_least_the_fewest():
    rule = epochs_rule(364, 32, 40, 20_000, 1_000)
    assert searched_rule(rule, {"best_epoch": 7})["epochs"] == 40
    record = searched_rule(rule, {"best_epoch": 310})
    assert record["epochs"] == 310 and record["steps_rule_epochs"] == 1_000 and record["search"] == {"best_epoch": 310}
    with pytest.raises(ValueError, match="best_epoch"):
        searched_rule(rule, {"best_epoch": 0})


@pytest.fixture(scope="module")
def searched_toy():
    """A wide `toy` model at a high learning rate searched on 30 of 40 noisy rows (scores every 2 epochs,
    patience 6, at most 30 epochs): it overfits within a few epochs."""
    from toy import ToyRegressor

    from tfp_arch.budget_search import search_epochs

    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, size=(40, 1)).astype("float32")
    y = (np.sin(3 * x[:, 0]) + 0.3 * rng.standard_normal(40)).astype("float32")
    plan = {"cut_rows": 30, "validation_rows": 10, "epochs": 30, "every": 2, "patience": 6}
    model, record = search_epochs(lambda: ToyRegressor(units=64, learning_rate=0.1), x, y, plan, 8, seed=3)
    held = np.random.default_rng(3).permutation(40)[:10]
    return model, record, x[held], y[held]


@pytest.mark.slow
def test_the_search_keeps_the_weights_of_its_best_scored_epoch(searched_toy):
    model, record, x_held, y_held = searched_toy
    scores = {epoch: value for epoch, value in record["scores"]}
    assert record["best_epoch"] == max(scores, key=scores.get) < record["epochs_searched"]
    assert record["best_score"] == pytest.approx(scores[record["best_epoch"]], abs=1e-5)
    assert model.evaluate_metrics(x_held, y_held)["log_likelihood"] == pytest.approx(record["best_score"], abs=1e-5)


@pytest.mark.slow
def test_the_search_scores_every_few_epochs_and_stops_after_its_patience(searched_toy):
    _, record, _, _ = searched_toy
    epochs = [epoch for epoch, _ in record["scores"]]
    assert epochs[0] == 1 and all(epoch % 2 == 0 for epoch in epochs[1:])
    assert record["epochs_searched"] - record["best_epoch"] == 6 and record["epochs_searched"] < 30


@pytest.fixture
def searching_toy(toy_registered, monkeypatch):
    """`toy` (batch 16) searching its epochs within 36 steps: 144 of its 180 training rows, at most 4 epochs."""
    monkeypatch.setattr(toy_registered, "min_training_steps", 36)
    monkeypatch.setattr(toy_registered, "epochs_search", True)
    monkeypatch.setattr(toy_registered, "default_epochs", 1)
    return toy_registered


@pytest.mark.slow
def test_a_default_run_records_and_prints_its_search(searching_toy, tmp_path):
    result = train_toy(["--output", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    config = strict_json((tmp_path / "run" / "config.json").read_text())
    rule = config["epochs_rule"]
    search = rule["search"]
    assert (search["cut_rows"], search["validation_rows"], search["epochs"]) == (144, 36, 4)
    assert config["epochs"] == config["epochs_run"] == search["best_epoch"] == rule["epochs"]
    assert rule["steps_rule_epochs"] == 3
    request = json.loads((tmp_path / "run" / "config.json").read_text())
    assert request["epochs_rule"]["search"]["seed"] == 0
    assert result.stderr.count(f"epochs: {config['epochs']} (the best of") == 1


@pytest.mark.slow
def test_given_epochs_skip_the_search(searching_toy, tmp_path, monkeypatch):
    import tfp_arch.budget_search as budget_search

    monkeypatch.setattr(budget_search, "search_epochs", lambda *args, **kwargs: pytest.fail("searched"))
    result = train_toy(["--epochs", "1", "--output", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert strict_json((tmp_path / "run" / "config.json").read_text())["epochs_rule"] is None


@pytest.mark.slow
def test_a_resume_keeps_the_searched_epochs_without_searching_again(searching_toy, tmp_path, monkeypatch):
    import tfp_arch.budget_search as budget_search
    from tfp_arch.cli.main import main

    with monkeypatch.context() as patch:
        patch.setattr(searching_toy, "default_epochs", 2)
        arguments = ["--checkpoint-every", "1", "--output", str(tmp_path / "run")]
        interrupted = train_toy(arguments, stop_after_first_epoch=True)
    assert interrupted.exit_code == 130, interrupted.output
    staging = tmp_path / "run.partial"
    planned = json.loads((staging / "request.json").read_text())
    assert planned["epochs"] >= 2 and planned["epochs_rule"]["search"]["best_epoch"] >= 1
    monkeypatch.setattr(budget_search, "search_epochs", lambda *args, **kwargs: pytest.fail("searched again"))
    resumed = CliRunner().invoke(main, ["train", "--resume", str(staging)])
    assert resumed.exit_code == 0, resumed.output
    config = strict_json((tmp_path / "run" / "config.json").read_text())
    assert config["epochs"] == config["epochs_run"] == planned["epochs"]
    assert config["epochs_rule"] == planned["epochs_rule"]


def test_without_a_declared_search_or_a_model_factory_the_steps_rule_applies(toy_registered, monkeypatch):
    from tfp_arch.budget_search import choose_epochs

    x, y = np.zeros((180, 1), "float32"), np.zeros(180, "float32")
    never = lambda: pytest.fail("searched")  # noqa: E731
    assert choose_epochs(toy_registered, x, y, never) == toy_registered.epochs_rule_for(180)
    monkeypatch.setattr(toy_registered, "epochs_search", True)
    assert choose_epochs(toy_registered, x, y) == toy_registered.epochs_rule_for(180)
    assert choose_epochs(toy_registered, x[:40], y[:40], never) == toy_registered.epochs_rule_for(40)


def test_info_shows_that_bnn_searches_its_epochs():
    from tfp_arch.cli.main import main

    document = json.loads(CliRunner().invoke(main, ["info", "bnn", "--json"]).stdout)
    assert document["epochs_search"] is True
    human = CliRunner().invoke(main, ["info", "bnn"]).stdout
    assert "epochs=40 to 1000 (the best epoch of a search on a validation cut" in human


def test_the_validation_score_is_the_held_out_log_likelihood_or_minus_the_nll():
    from toy import ToyRegressor

    toy = ToyRegressor()
    assert toy._validation_score_from({"rmse": 1.0, "log_likelihood": -0.5}) == -0.5
    assert toy._validation_score_from({"accuracy": 0.9, "nll": 0.25}) == -0.25
    with pytest.raises(NotImplementedError, match="validation_score"):
        toy._validation_score_from({"rmse": 1.0})


@pytest.mark.slow
def test_bnn_scores_its_log_likelihood_from_twenty_weight_samples_of_a_fixed_seed():
    from tfp_arch.plugins.bnn import BayesianMLP

    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 2)).astype("float32")
    y = x.sum(axis=1).astype("float32")
    model = BayesianMLP(hidden_units=[4])
    model.fit(x, y, epochs=1, verbose=0)
    expected = model.evaluate_metrics(x, y, num_samples=20, seed=0)["log_likelihood"]
    assert model.validation_score(x, y) == pytest.approx(expected, rel=1e-6)
