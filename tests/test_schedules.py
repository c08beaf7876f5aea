"""The budget cosine decay against its closed form, and the automatic peak rule."""

from __future__ import annotations

import math
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import pytest

from tfp_arch.schedules import BudgetCosineDecay, budget_peak


@pytest.mark.parametrize("final_fraction", [0.0, 0.1])
def test_schedule_follows_the_cosine_over_the_planned_steps(final_fraction: float) -> None:
    schedule = BudgetCosineDecay(0.01, final_fraction=final_fraction)
    schedule.plan(start=100, steps=400)
    for step in (0, 100, 200, 300, 499, 500, 900):
        progress = min(max((step - 100) / 400, 0.0), 1.0)
        expected = 0.01 * (final_fraction + (1 - final_fraction) * 0.5 * (1 + math.cos(math.pi * progress)))
        assert float(keras.ops.convert_to_numpy(schedule(step))) == pytest.approx(expected, rel=1e-5, abs=1e-9)


def test_unplanned_schedule_stays_at_the_peak() -> None:
    assert float(keras.ops.convert_to_numpy(BudgetCosineDecay(0.003)(1234))) == pytest.approx(0.003)


def test_automatic_peak_is_inverse_square_root_of_the_steps_within_bounds() -> None:
    assert budget_peak(1600) == pytest.approx(0.4 / 40)
    assert budget_peak(100) == pytest.approx(0.02)
    assert budget_peak(10**7) == pytest.approx(1e-3)
    schedule = BudgetCosineDecay()
    schedule.plan(start=0, steps=6400)
    assert float(keras.ops.convert_to_numpy(schedule(0))) == pytest.approx(0.005)
    assert BudgetCosineDecay.from_config(schedule.get_config()).peak is None


@pytest.mark.slow
def test_fit_spreads_the_decay_over_its_steps() -> None:
    from tfp_arch.plugins.bnn import BayesianMLP

    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 2)).astype("float32")
    y = (x[:, 0] + 0.1 * rng.normal(size=300)).astype("float32")
    model = BayesianMLP(hidden_units=[8])
    model.fit(x, y, epochs=3, batch_size=32, verbose=0)
    schedule = model.optimizer._learning_rate
    assert float(schedule.steps.numpy()) == 30 and float(schedule.start.numpy()) == 0
    assert float(schedule.peak_value.numpy()) == pytest.approx(budget_peak(30))
    assert float(keras.ops.convert_to_numpy(schedule(model.optimizer.iterations))) == pytest.approx(0.0, abs=1e-9)
    model.fit(x, y, epochs=1, batch_size=32, verbose=0)
    assert float(schedule.start.numpy()) == 30 and float(schedule.steps.numpy()) == 10


@pytest.mark.slow
def test_run_folder_records_the_resolved_schedule(tmp_path) -> None:
    import json

    from tfp_arch.runs import train

    run = train("bnn", "synthetic:gap_regression#n=200", epochs=2, output=tmp_path / "run", verbose=0)
    record = json.loads((run.path / "config.json").read_text())["learning_rate_schedule"]
    steps = 2 * math.ceil(180 / 32)
    assert record["steps"] == steps
    assert record["peak"] == pytest.approx(budget_peak(steps))
    assert record["scale_learning_rate_ratio"] == pytest.approx(min(1.0, 0.006 / budget_peak(steps)))
