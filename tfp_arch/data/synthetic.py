"""Data sets generated in code, so every architecture trains offline on a fresh install."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from tfp_arch.data.dataset import Dataset, holdout

__all__ = [
    "SYNTHETIC",
    "checkerboard",
    "gap_regression",
    "make_synthetic",
    "shapes",
    "shapes_classification",
    "two_moons",
]

SYNTHETIC: dict[str, Callable[..., Dataset]] = {}


def _synthetic(function: Callable[..., Dataset]) -> Callable[..., Dataset]:
    SYNTHETIC[function.__name__] = function
    return function


@_synthetic
def gap_regression(n: int = 3000, seed: int = 0, test: float = 0.1) -> Dataset:
    """1-D heteroscedastic regression with no inputs in (-0.5, 0.5).

    y = x sin(3x) + (0.1 + 0.2 |x|) eps on x in [-2, -0.5] and [0.5, 2]; a model that knows what it
    does not know widens its epistemic band in the gap. The default 3000 points pin the function
    down on the data, so the contrast with the gap is clear, and give the bnn demo enough steps.

    The data suggest to `bnn` a heteroscedastic likelihood (the noise grows with |x|) and localised
    `"gaussian_bump"` hidden units: with ReLU units a one-hidden-layer mean-field network is as
    certain between the two clusters as on them (Foong et al. 2019), while a bump that covers no
    data keeps its output weight near the prior, so the epistemic band widens in the gap.
    """
    rng = np.random.default_rng(seed)
    side = rng.integers(0, 2, size=n)
    x = np.where(side == 0, rng.uniform(-2.0, -0.5, n), rng.uniform(0.5, 2.0, n))
    y = x * np.sin(3.0 * x) + (0.1 + 0.2 * np.abs(x)) * rng.standard_normal(n)
    train, test_index = holdout(n, test, seed)
    x, y = x[:, None].astype("float32"), y.astype("float32")
    return Dataset(
        "synthetic:gap_regression",
        x[train],
        x[test_index],
        y[train],
        y[test_index],
        kind="regression",
        feature_names=["x"],
        target_name="y",
        suggested_hyperparameters={"bnn": {"likelihood": "heteroscedastic", "activation": "gaussian_bump"}},
    )


@_synthetic
def two_moons(n: int = 2000, seed: int = 0, test: float = 0.1, noise: float = 0.08) -> Dataset:
    """Two interleaved half circles in 2-D, with Gaussian noise; labels say which moon."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 2, size=n)
    angle = rng.uniform(0.0, np.pi, size=n)
    x = np.where(label == 0, np.cos(angle), 1.0 - np.cos(angle))
    y = np.where(label == 0, np.sin(angle), 0.5 - np.sin(angle))
    points = np.stack([x, y], axis=1) + noise * rng.standard_normal((n, 2))
    train, test_index = holdout(n, test, seed)
    points = points.astype("float32")
    return Dataset(
        "synthetic:two_moons",
        points[train],
        points[test_index],
        kind="density",
        feature_names=["x1", "x2"],
        labels_train=label[train],
        labels_test=label[test_index],
    )


@_synthetic
def checkerboard(n: int = 5000, seed: int = 0, test: float = 0.1) -> Dataset:
    """Uniform on the 8 dark squares of a 4 x 4 checkerboard over `[-4, 4]^2` (Grathwohl et al., 2019).

    Each square has side 2, so the true density is 1/32 on the dark squares and 0 elsewhere:
    the true log-likelihood is `-log 32 = -3.466` nats per example. Its sharp edges are where a
    spline flow does visibly better than an affine one.
    """
    rng = np.random.default_rng(seed)
    x1 = rng.uniform(-2.0, 2.0, n)
    x2 = rng.uniform(0.0, 1.0, n) - 2.0 * rng.integers(0, 2, n) + np.floor(x1) % 2
    points = (2.0 * np.stack([x1, x2], axis=1)).astype("float32")
    train, test_index = holdout(n, test, seed)
    return Dataset(
        "synthetic:checkerboard", points[train], points[test_index], kind="density", feature_names=["x1", "x2"]
    )


def _shape_image(kind: int, size: int, rng: np.random.Generator) -> np.ndarray:
    rows, cols = np.mgrid[0:size, 0:size].astype("float32") + 0.5
    radius = rng.uniform(0.22, 0.36) * size
    centre = rng.uniform(radius + 1, size - radius - 1, size=2)
    dr, dc = rows - centre[0], cols - centre[1]
    if kind == 0:
        image = (np.hypot(dr, dc) <= radius) & (np.hypot(dr, dc) >= radius - 2.0)
    elif kind == 1:
        image = np.maximum(np.abs(dr), np.abs(dc)) <= radius
    elif kind == 2:
        image = ((np.abs(dr) <= 1.2) | (np.abs(dc) <= 1.2)) & (np.maximum(np.abs(dr), np.abs(dc)) <= radius)
    else:
        image = (dr <= radius) & (dr >= -radius) & (np.abs(dc) <= (dr + radius) / 2.0)
    return image.astype("float32")


@_synthetic
def shapes(n: int = 4000, seed: int = 0, test: float = 0.1, size: int = 16) -> Dataset:
    """Binary `size` x `size` images of a ring, a filled square, a cross or a triangle.

    Each image has one shape at a random position and scale; the label is the kind of shape. Pixels
    are 0 or 1, shape (n, size, size, 1).
    """
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, size=n)
    images = np.stack([_shape_image(int(k), size, rng) for k in labels])[..., None]
    train, test_index = holdout(n, test, seed)
    return Dataset(
        "synthetic:shapes",
        images[train],
        images[test_index],
        kind="images",
        labels_train=labels[train],
        labels_test=labels[test_index],
    )


@_synthetic
def shapes_classification(n: int = 4000, seed: int = 0, test: float = 0.1, size: int = 16) -> Dataset:
    """`shapes` as supervised image classification: the kind of shape (0 ring, 1 square, 2 cross,
    3 triangle) is the target. The same images as `shapes` for the same options."""
    data = shapes(n=n, seed=seed, test=test, size=size)
    return replace(
        data,
        name="synthetic:shapes_classification",
        y_train=data.labels_train,
        y_test=data.labels_test,
        kind="classification",
        labels_train=None,
        labels_test=None,
    )


def make_synthetic(name: str, seed: int = 0, **options: float) -> Dataset:
    """Generate the synthetic data set `name` (one of `SYNTHETIC`)."""
    if name not in SYNTHETIC:
        from tfp_arch.data.errors import DataError

        raise DataError(f"unknown synthetic data set {name!r}; known: {', '.join(sorted(SYNTHETIC))}")
    return SYNTHETIC[name](seed=seed, **options)
