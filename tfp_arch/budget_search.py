"""A run's epochs chosen on a validation cut: train on most rows until the held-out log-likelihood stops improving.

`search_epochs` cuts the training rows (seeded), trains a fresh model on the larger part for at
most the epochs of `tfp_arch.budget.search_plan`, scores the held-out part every few epochs with the
architecture's `validation_score` (the mean log-likelihood per example), stops with Keras'
`EarlyStopping` after the plan's patience without a better score, and returns the best epoch. The run
then trains a new model on every row for that many epochs (`tfp_arch.runs.training.resolve_epochs`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from tfp_arch.architecture import Architecture
from tfp_arch.budget import search_plan, searched_rule

__all__ = ["MONITOR", "ValidationScore", "choose_epochs", "search_epochs"]

MONITOR = "val_log_likelihood"


class ValidationScore(keras.callbacks.Callback):
    """Writes the model's `validation_score(x, y)` into each epoch's logs as `val_log_likelihood`.

    The score is computed every `every` epochs (and after the first); the epochs between carry the
    last score, so Keras' `EarlyStopping` placed after this callback counts its patience in epochs
    and sees an improvement only where a score was computed.

    Args:
        x: held-out inputs.
        y: held-out targets.
        every: epochs between scores.
    """

    def __init__(self, x: Any, y: Any, every: int = 1) -> None:
        super().__init__()
        self.x, self.y, self.every = x, y, int(every)
        self.latest: float | None = None
        self.scores: list[tuple[int, float]] = []

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.latest is None or (epoch + 1) % self.every == 0:
            score = float(self.model.validation_score(self.x, self.y))
            self.latest = score if np.isfinite(score) else -np.inf
            self.scores.append((epoch + 1, score))
        if logs is not None:
            logs[MONITOR] = self.latest


def search_epochs(
    make_model: Callable[[], Architecture],
    x: np.ndarray,
    y: np.ndarray | None,
    plan: dict[str, Any],
    batch_size: int,
    seed: int,
) -> tuple[Architecture, dict[str, Any]]:
    """Train `make_model()` on a seeded cut of `(x, y)` and find the epoch of its best validation score.

    Args:
        make_model: builds a fresh, untrained model.
        x: the training inputs.
        y: the training targets, or None.
        plan: `tfp_arch.budget.search_plan` for `len(x)` rows.
        batch_size: examples per optimiser step.
        seed: seeds the cut (NumPy) and the model's training (`keras.utils.set_random_seed`).

    Returns:
        The model with the weights of its best epoch, and the record of the search: the plan, the
        seed, `best_epoch` (1-based), `epochs_searched`, the best score, the scores as
        `[epoch, score]` pairs (None for a score that is not finite) and the seconds it took.
    """
    order = np.random.default_rng(seed).permutation(len(x))
    held, kept = order[: plan["validation_rows"]], order[plan["validation_rows"] :]
    y_held, y_kept = (None, None) if y is None else (y[held], y[kept])
    keras.utils.set_random_seed(seed)
    model = make_model()
    score = ValidationScore(x[held], y_held, every=plan["every"])
    stopping = keras.callbacks.EarlyStopping(
        monitor=MONITOR, mode="max", patience=plan["patience"], restore_best_weights=True
    )
    start = time.perf_counter()
    history = model.fit(
        x[kept], y_kept, batch_size=batch_size, epochs=plan["epochs"], verbose=0, callbacks=[score, stopping]
    )
    return model, {
        **plan,
        "seed": seed,
        "monitor": MONITOR,
        "best_epoch": int(stopping.best_epoch) + 1,
        "epochs_searched": len(history.history.get(MONITOR, [])),
        "best_score": float(stopping.best) if np.isfinite(stopping.best) else None,
        "scores": [[epoch, round(value, 6) if np.isfinite(value) else None] for epoch, value in score.scores],
        "seconds": time.perf_counter() - start,
    }


def choose_epochs(
    cls: type[Architecture],
    x: np.ndarray,
    y: np.ndarray | None,
    make_model: Callable[[], Architecture] | None = None,
    batch_size: int | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """The epochs of a run of `cls` on `(x, y)` when none are given, as a run records them.

    The steps rule (`cls.epochs_rule_for(len(x))`), or, for an architecture that declares
    `epochs_search` and given `make_model`, `max(default_epochs, best_epoch)` of a search on a
    validation cut (`search_epochs`, `tfp_arch.budget.searched_rule`; the rule again when the rows
    are too few to cut or the cap is already `default_epochs`, see `tfp_arch.budget.search_plan`).
    The record's `epochs` is the answer.

    Args:
        cls: the architecture.
        x: the rows the run trains on.
        y: their targets, or None.
        make_model: builds a fresh, untrained model for the search.
        batch_size: examples per optimiser step (default: the architecture's).
        seed: the search's seed.
    """
    batch_size = int(batch_size or cls.default_batch_size)
    rule = cls.epochs_rule_for(len(x), batch_size)
    if not cls.epochs_search or make_model is None:
        return rule
    plan = search_plan(len(x), batch_size, cls.default_epochs, cls.min_training_steps, cls.max_default_epochs)
    if plan is None:
        return rule
    _, search = search_epochs(make_model, x, y, plan, batch_size, seed)
    return searched_rule(rule, search)
