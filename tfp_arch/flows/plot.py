"""Figures of what a flow (`maf`, `nsf`) learned."""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np

from tfp_arch.data.dataset import Dataset

__all__ = ["plot_flow"]

_MAX_POINTS = 2000
_MAX_DIMS = 4


def plot_flow(model: Any, path: str, dataset: Dataset | None = None, seed: int = 0) -> str:
    """Write a PNG of a fitted flow model (`maf` or `nsf`) and return its path.

    For 2-D data: the training data, the learned density as filled contours with the data on top,
    and samples, side by side on the same axes. For more dimensions: pairwise scatter plots of the
    first few dimensions, data in the top row and samples in the bottom row.

    Args:
        model: a fitted, unconditional `tfp_arch.flows.FlowModel` (`maf`, `nsf`).
        path: PNG file to write.
        dataset: the data the model was trained on (its training part is drawn).
        seed: seed of the samples.

    Returns:
        `path`.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if model.conditional:
        raise NotImplementedError("plot draws unconditional models only; sample with a context instead.")
    samples = model.sample(_MAX_POINTS, seed=seed)
    data = None if dataset is None else np.asarray(dataset.x_train, dtype="float32")[:_MAX_POINTS]
    reference = samples if data is None else data
    low, high = np.percentile(reference, 0.5, axis=0), np.percentile(reference, 99.5, axis=0)
    pad = 0.15 * (high - low)
    low, high = low - pad, high + pad
    if model.event_size == 2:
        figure = _plot_2d(plt, model, data, samples, low, high)
    else:
        figure = _plot_pairs(plt, data, samples, low, high, dataset)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def _plot_2d(plt: Any, model: Any, data: np.ndarray | None, samples: np.ndarray, low: Any, high: Any) -> Any:
    figure, axes = plt.subplots(1, 3, figsize=(13.5, 4.4), sharex=True, sharey=True)
    grid_x, grid_y = np.meshgrid(np.linspace(low[0], high[0], 200), np.linspace(low[1], high[1], 200))
    grid = np.stack([grid_x.ravel(), grid_y.ravel()], axis=1).astype("float32")
    density = np.exp(model.log_prob(grid)).reshape(grid_x.shape)
    if data is not None:
        axes[0].scatter(data[:, 0], data[:, 1], s=3, alpha=0.5, color="tab:blue")
    axes[0].set_title("training data")
    axes[1].contourf(grid_x, grid_y, density, levels=20, cmap="viridis")
    if data is not None:
        axes[1].scatter(data[:, 0], data[:, 1], s=1, alpha=0.25, color="white")
    axes[1].set_title("learned density p(x)")
    axes[2].scatter(samples[:, 0], samples[:, 1], s=3, alpha=0.5, color="tab:orange")
    axes[2].set_title("samples from the flow")
    for axis in axes:
        axis.set_xlim(low[0], high[0])
        axis.set_ylim(low[1], high[1])
        axis.set_xlabel("x1")
    axes[0].set_ylabel("x2")
    figure.tight_layout()
    return figure


def _plot_pairs(
    plt: Any, data: np.ndarray | None, samples: np.ndarray, low: Any, high: Any, dataset: Dataset | None
) -> Any:
    dims = min(samples.shape[1], _MAX_DIMS)
    pairs = list(combinations(range(dims), 2)) or [(0, 0)]
    names = list(dataset.feature_names) if dataset is not None and dataset.feature_names else []
    rows = [("data", data, "tab:blue")] if data is not None else []
    rows.append(("samples", samples, "tab:orange"))
    figure, axes = plt.subplots(len(rows), len(pairs), figsize=(3.0 * len(pairs), 3.0 * len(rows)), squeeze=False)
    for row, (label, points, color) in enumerate(rows):
        for col, (i, j) in enumerate(pairs):
            axis = axes[row, col]
            axis.scatter(points[:, i], points[:, j], s=2, alpha=0.4, color=color)
            axis.set_xlim(low[i], high[i])
            axis.set_ylim(low[j], high[j])
            axis.set_xlabel(names[i] if i < len(names) else f"x{i + 1}")
            axis.set_ylabel(names[j] if j < len(names) else f"x{j + 1}")
            if col == 0:
                axis.set_title(label, loc="left")
    figure.tight_layout()
    return figure
