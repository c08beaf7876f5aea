"""Likelihoods of the Bayesian MLP: the output head of each likelihood and its training loss."""

from __future__ import annotations

import functools

from tfp_arch.layers.distributions.independent import IndependentNormal
from tfp_arch.layers.distributions.vector import Categorical
from tfp_arch.losses import NegativeLogLikelihood
from tfp_arch.validation import int_at_least, one_of

__all__ = [
    "LIKELIHOODS",
    "likelihood_head",
    "likelihood_loss",
    "output_units",
    "validate_likelihood",
]

LIKELIHOODS = ("gaussian", "heteroscedastic", "categorical")


def validate_likelihood(likelihood: str, num_classes: int | None) -> None:
    """Check the likelihood name and, for `"categorical"`, the number of classes."""
    one_of("likelihood", likelihood, LIKELIHOODS)
    if likelihood == "categorical":
        int_at_least("num_classes", num_classes, 2, "an integer >= 2 with likelihood='categorical'")


def output_units(likelihood: str, num_classes: int | None) -> int:
    """Width of the last layer: a mean, a mean and a scale, or the class logits."""
    return {"gaussian": 1, "heteroscedastic": 2}.get(likelihood, num_classes or 0)


@functools.cache
def likelihood_head(likelihood: str, num_classes: int | None = None) -> IndependentNormal | Categorical:
    """The head of a likelihood, shared by every model with the same arguments (heads hold no weights).

    Both Gaussian likelihoods: a scalar normal whose parameters are the model's output `[loc, scale]`;
    the model computes the scale itself (a softplus with a floor in standardised units, then the
    targets' scale), so the head takes it as it is (`scale_transform="identity"`). Categorical: a
    `Categorical(num_classes)` over the logits.
    """
    if likelihood == "categorical":
        classes = int_at_least("num_classes", num_classes, 2, "an integer >= 2 with likelihood='categorical'")
        return Categorical(classes, name="categorical_head")
    return IndependentNormal((), scale_transform="identity", name="regression_head")


def likelihood_loss(
    likelihood: str, num_classes: int | None = None, variance_weighting: float = 0.0
) -> NegativeLogLikelihood:
    """The training loss: the negative log-likelihood of `likelihood_head(likelihood, num_classes)`.

    For `"categorical"` it equals Keras' `SparseCategoricalCrossentropy(from_logits=True)`.
    `variance_weighting` is the beta of beta-NLL for the Gaussian likelihoods (see
    `NegativeLogLikelihood`); the categorical loss ignores it.
    """
    weighting = 0.0 if likelihood == "categorical" else variance_weighting
    return NegativeLogLikelihood(likelihood_head(likelihood, num_classes), variance_weighting=weighting)
