"""Predictive metrics of sampled Bayesian predictions (NumPy, evaluated after prediction)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

__all__ = [
    "classification_metrics",
    "coverage_curve",
    "expected_calibration_error",
    "log_softmax",
    "logsumexp",
    "ndtr",
    "probability_integral_transform",
    "regression_metrics",
]


def logsumexp(values: np.ndarray, axis: int) -> np.ndarray:
    """Stable `log(sum(exp(values)))` along `axis`."""
    peak = np.max(values, axis=axis, keepdims=True)
    return np.squeeze(peak, axis=axis) + np.log(np.sum(np.exp(values - peak), axis=axis))


def log_softmax(values: np.ndarray, axis: int = -1) -> np.ndarray:
    """Log of the softmax along `axis`."""
    return values - np.expand_dims(logsumexp(values, axis), axis)


def ndtr(values: np.ndarray) -> np.ndarray:
    """Standard normal CDF, elementwise, in float64."""
    return (0.5 * tf.math.erfc(-tf.constant(values, tf.float64) / np.sqrt(2.0))).numpy()


def _normal_log_pdf(y: np.ndarray, loc: np.ndarray, scale: np.ndarray) -> np.ndarray:
    return -0.5 * np.square((y - loc) / scale) - np.log(scale) - 0.5 * np.log(2.0 * np.pi)


def probability_integral_transform(y: np.ndarray, loc: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Predictive CDF at the targets: `F(y_n) = mean_s Phi((y_n - loc_sn) / scale_sn)`.

    Args:
        y: targets `(N,)`.
        loc, scale: per-sample Gaussian means and scales `(S, N)`.

    Returns:
        `(N,)` values in [0, 1]; the central p-interval contains `y_n` iff `|F - 1/2| <= p / 2`.
    """
    return ndtr((y[None, :] - loc) / scale).mean(axis=0)


def coverage_curve(pit: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Fraction of targets inside the central predictive interval of each nominal level."""
    return np.array([(np.abs(pit - 0.5) <= level / 2.0).mean() for level in levels])


def regression_metrics(y: np.ndarray, loc: np.ndarray, scale: np.ndarray) -> dict[str, float]:
    """RMSE, log-likelihood and central-interval coverages of a mixture of S Gaussians per example.

    Args:
        y: targets `(N,)` in original units.
        loc, scale: per-sample predictive means and scales `(S, N)` in the same units.

    Returns:
        `rmse` (of the predictive mean), `log_likelihood` (per example, log-mean-exp over samples,
        nats), `coverage_50`, `coverage_90`, `coverage_95`.
    """
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    loc, scale = np.asarray(loc, np.float64), np.asarray(scale, np.float64)
    log_lik = logsumexp(_normal_log_pdf(y[None, :], loc, scale), axis=0) - np.log(loc.shape[0])
    pit = probability_integral_transform(y, loc, scale)
    coverage = coverage_curve(pit, np.array([0.5, 0.9, 0.95]))
    return {
        "rmse": float(np.sqrt(np.mean(np.square(y - loc.mean(axis=0))))),
        "log_likelihood": float(log_lik.mean()),
        "coverage_50": float(coverage[0]),
        "coverage_90": float(coverage[1]),
        "coverage_95": float(coverage[2]),
    }


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error of the top-class confidence, with equal-width bins.

    Args:
        probs: predictive class probabilities `(N, K)`.
        labels: integer labels `(N,)`.
        bins: number of confidence bins on [0, 1].

    Returns:
        `sum_b (n_b / N) |accuracy_b - confidence_b|`.
    """
    confidence = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == labels).astype(np.float64)
    index = np.minimum((confidence * bins).astype(int), bins - 1)
    error = 0.0
    for b in range(bins):
        mask = index == b
        if mask.any():
            error += mask.mean() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(error)


def classification_metrics(labels: np.ndarray, logits: np.ndarray) -> dict[str, float]:
    """Accuracy, NLL and ECE of the predictive distribution averaged over S logit samples.

    Args:
        labels: integer labels `(N,)`.
        logits: per-sample logits `(S, N, K)`.

    Returns:
        `accuracy`, `nll` (per example, nats, of the sample-averaged probabilities) and `ece`.
    """
    labels = np.asarray(labels).reshape(-1).astype(int)
    log_probs = logsumexp(log_softmax(np.asarray(logits, np.float64), axis=-1), axis=0) - np.log(logits.shape[0])
    probs = np.exp(log_probs)
    return {
        "accuracy": float((probs.argmax(axis=1) == labels).mean()),
        "nll": float(-log_probs[np.arange(len(labels)), labels].mean()),
        "ece": expected_calibration_error(probs, labels),
    }
