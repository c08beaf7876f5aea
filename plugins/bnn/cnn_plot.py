"""The figure of a trained Bayesian CNN: a reliability diagram with its ECE, and the most and least certain images."""

from __future__ import annotations

from typing import Any

import numpy as np

from tfp_arch.data.dataset import Dataset
from tfp_arch.plugins.bnn.metrics import expected_calibration_error
from tfp_arch.validation import invalid_argument

__all__ = ["plot_cnn", "reliability_bins"]

_BINS = 10
_SHOWN = 6
_MAX_IMAGES = 2000


def reliability_bins(
    probs: np.ndarray, labels: np.ndarray, bins: int = _BINS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per equal-width confidence bin: the mean confidence, the accuracy and the count (empty bins: NaN, NaN, 0)."""
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    index = np.minimum((confidence * bins).astype(int), bins - 1)
    counts = np.bincount(index, minlength=bins)
    with np.errstate(invalid="ignore"):
        mean_confidence = np.bincount(index, confidence, minlength=bins) / counts
        accuracy = np.bincount(index, correct.astype(float), minlength=bins) / counts
    return mean_confidence, accuracy, counts


def _reliability(axes: Any, probs: np.ndarray, labels: np.ndarray) -> None:
    confidence, accuracy, counts = reliability_bins(probs, labels)
    edges = np.linspace(0.0, 1.0, _BINS + 1)
    centres = (edges[:-1] + edges[1:]) / 2
    filled = counts > 0
    axes.bar(
        centres[filled],
        accuracy[filled],
        width=1.0 / _BINS,
        edgecolor="black",
        color="tab:blue",
        alpha=0.75,
        label="accuracy",
    )
    axes.bar(
        centres[filled],
        confidence[filled] - accuracy[filled],
        bottom=accuracy[filled],
        width=1.0 / _BINS,
        fill=False,
        hatch="//",
        edgecolor="tab:red",
        linewidth=1.0,
        label="gap to the mean confidence",
    )
    axes.plot([0, 1], [0, 1], "k--", linewidth=1, label="perfect calibration")
    ece = expected_calibration_error(probs, labels, _BINS)
    accuracy_all = float((probs.argmax(axis=1) == labels).mean())
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.set_xlabel("confidence (top-class probability)")
    axes.set_ylabel("accuracy")
    axes.set_title(f"reliability: ECE {ece:.3f}, accuracy {accuracy_all:.3f}\n({len(labels)} test images)")
    axes.legend(loc="upper left", fontsize="small")


def _image(axes: Any, image: np.ndarray, label: int, predicted: int, entropy: float) -> None:
    shown = image[..., 0] if image.shape[-1] == 1 else image[..., :3]
    axes.imshow(shown, cmap="gray_r" if shown.ndim == 2 else None)
    axes.set_xticks([])
    axes.set_yticks([])
    colour = "black" if label == predicted else "tab:red"
    axes.set_title(f"{predicted} (true {label})\nH={entropy:.2f}", fontsize="small", color=colour)


def plot_cnn(model: Any, path: str, dataset: Dataset | None = None) -> str:
    """Write a PNG: a reliability diagram of the test images with its ECE, beside the six test images
    with the lowest and the six with the highest predictive entropy (nats), each titled with its
    predicted and true class (red when wrong).

    Args:
        model: a trained `BayesianCNN`.
        path: the PNG file to write.
        dataset: the data the model was trained on (its test part is drawn, at most 2,000 images).

    Returns:
        `path`.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if dataset is None:
        raise invalid_argument("dataset", "the bcnn plot needs the data set", None)
    use_test = dataset.y_test is not None and len(dataset.x_test) > 0
    x = np.asarray(dataset.x_test if use_test else dataset.x_train, np.float32)[:_MAX_IMAGES]
    y = np.asarray(dataset.y_test if use_test else dataset.y_train)[:_MAX_IMAGES].astype(int).reshape(-1)
    summary = model.predictive_summary(x, seed=0)
    probs, entropy = summary["probabilities"].astype(np.float64), summary["entropy"]
    figure = plt.figure(figsize=(12.5, 5.6), layout="constrained")
    grid = figure.add_gridspec(2, 1 + _SHOWN, width_ratios=[_SHOWN / 1.5] + [1] * _SHOWN)
    _reliability(figure.add_subplot(grid[:, 0]), probs, y)
    order = np.argsort(entropy, kind="stable")
    shown = min(_SHOWN, len(order))
    for row, (indices, name) in enumerate([(order[:shown], "most certain"), (order[::-1][:shown], "least certain")]):
        for column, index in enumerate(indices):
            axes = figure.add_subplot(grid[row, 1 + column])
            _image(axes, x[index], int(y[index]), int(probs[index].argmax()), float(entropy[index]))
            if column == 0:
                axes.set_ylabel(name)
    figure.suptitle("Bayesian CNN: calibration and predictive entropy H (nats) on the test images")
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
