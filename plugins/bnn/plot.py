"""Figures of a trained Bayesian MLP: predictive bands in 1-D, calibration otherwise."""

from __future__ import annotations

from typing import Any

import numpy as np

from tfp_arch.data.dataset import Dataset
from tfp_arch.plugins.bnn.metrics import coverage_curve, probability_integral_transform
from tfp_arch.validation import invalid_argument

__all__ = ["plot_model"]


def _widest_gap(x: np.ndarray) -> tuple[float, float] | None:
    """The widest interval between consecutive sorted inputs, if it is wider than 5% of their range."""
    ordered = np.sort(x)
    steps = np.diff(ordered)
    if len(steps) == 0 or steps.max() <= 0.05 * (ordered[-1] - ordered[0]):
        return None
    index = int(np.argmax(steps))
    return float(ordered[index]), float(ordered[index + 1])


def _bands(axes: Any, model: Any, dataset: Dataset) -> None:
    x_train = dataset.x_train.reshape(-1)
    low, high = float(x_train.min()), float(x_train.max())
    margin = 0.25 * (high - low)
    grid = np.linspace(low - margin, high + margin, 400, dtype="float32")[:, None]
    moments = model.predictive_moments(grid, seed=0)
    mean, total, epistemic = moments["mean"], moments["std"], moments["epistemic_std"]
    x = grid[:, 0]
    gap = _widest_gap(x_train)
    if gap is not None:
        axes.axvspan(*gap, color="0.92", zorder=0, label="no training inputs")
    axes.scatter(x_train, dataset.y_train, s=4, color="0.2", alpha=0.35, linewidths=0, zorder=1, label="training data")
    axes.fill_between(x, mean - 2 * total, mean + 2 * total, color="tab:blue", alpha=0.18, zorder=2, label="±2σ total")
    axes.fill_between(
        x, mean - 2 * epistemic, mean + 2 * epistemic, color="tab:orange", alpha=0.55, zorder=3, label="±2σ epistemic"
    )
    axes.plot(x, mean, color="tab:blue", linewidth=1.8, zorder=4, label="predictive mean")
    axes.set_xlim(x[0], x[-1])
    axes.set_xlabel(dataset.feature_names[0] if dataset.feature_names else "x")
    axes.set_ylabel(dataset.target_name or "y")
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), fontsize="small", ncol=3, frameon=False)


def _calibration(axes: Any, model: Any, dataset: Dataset) -> None:
    x, y = (dataset.x_test, dataset.y_test) if dataset.y_test is not None else (dataset.x_train, dataset.y_train)
    outputs = model.sample_outputs(np.asarray(x, np.float32), seed=0).numpy().astype(np.float64)
    if model.likelihood == "categorical":
        logits = outputs - outputs.max(axis=-1, keepdims=True)
        probs = (np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)).mean(axis=0)
        confidence, correct = probs.max(axis=1), probs.argmax(axis=1) == np.asarray(y).astype(int)
        edges = np.linspace(0.0, 1.0, 11)
        index = np.clip(np.digitize(confidence, edges) - 1, 0, 9)
        centres = [(confidence[index == b].mean(), correct[index == b].mean()) for b in range(10) if (index == b).any()]
        axes.plot(*zip(*centres, strict=False), "o-", label="model")
        axes.set_xlabel("confidence")
        axes.set_ylabel("accuracy")
    else:
        levels = np.linspace(0.0, 1.0, 21)
        pit = probability_integral_transform(np.asarray(y, np.float64).reshape(-1), outputs[..., 0], outputs[..., 1])
        axes.plot(levels, coverage_curve(pit, levels), "o-", label="model")
        axes.set_xlabel("nominal coverage of the central interval")
        axes.set_ylabel("observed coverage")
    axes.plot([0, 1], [0, 1], "k--", label="ideal")
    axes.legend(loc="best")


def plot_model(model: Any, path: str, dataset: Dataset | None = None) -> str:
    """Write a PNG: data, predictive mean and ±2σ epistemic and total bands for 1-D regression
    inputs; otherwise a calibration plot on the test part (coverage of central predictive intervals
    for regression, a reliability diagram for classification).

    Args:
        model: a trained `BayesianMLP`.
        path: the PNG file to write.
        dataset: the data the model was trained on.

    Returns:
        `path`.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if dataset is None:
        raise invalid_argument("dataset", "the bnn plot needs the data set", None)
    figure, axes = plt.subplots(figsize=(7, 5))
    if model.is_regression and dataset.x_train.reshape(len(dataset.x_train), -1).shape[1] == 1:
        _bands(axes, model, dataset)
        axes.set_title("Bayesian MLP: predictive mean and uncertainty")
    else:
        _calibration(axes, model, dataset)
        axes.set_title("Bayesian MLP: calibration")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
