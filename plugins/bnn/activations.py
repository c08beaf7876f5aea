"""Activations of the Bayesian MLP that Keras does not have: a localised Gaussian bump."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras

__all__ = [
    "ACTIVATIONS",
    "BUMP_CENTRE_SPREAD",
    "BUMP_WIDTH",
    "first_bias_initializer",
    "gaussian_bump",
    "get_activation",
]

BUMP_WIDTH = 0.1
BUMP_CENTRE_SPREAD = 2.0


@keras.saving.register_keras_serializable(package="tfp_arch", name="gaussian_bump")
def gaussian_bump(x: Any) -> Any:
    """The Gaussian bump `exp(-(x / 0.1)^2)`: a hidden unit that responds only near one input.

    With a one-dimensional input a hidden unit `exp(-((w x + b) / 0.1)^2)` is a bump centred at
    `-b / w` of width `0.1 / |w|`. The width 0.1 is in pre-activation units: with the default
    Glorot-uniform kernel (`|w| <= 0.34` for one input and 50 units) the initial bumps are
    0.3 to a few standardised input units wide, narrow enough to be local. An output weight whose
    bump covers no data is not constrained by the likelihood, so its posterior stays near the
    prior: the network then behaves like a radial-basis-function model (a Gaussian-process-like
    prior), whose epistemic uncertainty grows away from the data, also between two clusters of data
    where a one-hidden-layer mean-field ReLU network cannot (Foong et al. 2019, "'In-Between'
    Uncertainty in Bayesian Neural Networks"). For the uncertainty to grow beyond the range of the
    training inputs too, some bumps must start there: the Bayesian MLP draws the first layer's bias
    means from `first_bias_initializer` rather than zeros, which would centre every bump at the
    inputs' mean.

    Args:
        x: pre-activations.

    Returns:
        `exp(-(x / 0.1)^2)`, elementwise, in (0, 1].

    Example:
        >>> float(gaussian_bump(keras.ops.convert_to_tensor(0.0)))
        1.0
    """
    return keras.ops.exp(-keras.ops.square(x / BUMP_WIDTH))


ACTIVATIONS: dict[str, Callable[[Any], Any]] = {"gaussian_bump": gaussian_bump}


def first_bias_initializer(activation: str | None, seed: int | None = None) -> Any:
    """The initialiser of the first hidden layer's bias means for `activation`.

    Zeros for every activation but `"gaussian_bump"`. Zero biases centre every bump at the
    standardised inputs' mean (`-b / w = 0`): the untrained bumps then all sit in the middle of the
    data, so the epistemic band widens there (in a gap between two clusters) and nowhere else. Biases
    drawn uniformly in `[-2, 2]` (`BUMP_CENTRE_SPREAD`) with the Glorot-uniform kernel
    (`|w| <= 0.34` for one input and 50 units) put the centres `-b / w` across and well beyond the
    training inputs, so units that no
    training input reaches exist on both sides of the data, keep output weights near the prior, and
    the uncertainty grows away from the data in every direction.

    Args:
        activation: the hidden layers' activation name.
        seed: seed of the draw, or None (Keras' global seed).

    Returns:
        A Keras initialiser or `"zeros"`.
    """
    if activation != "gaussian_bump":
        return "zeros"
    return keras.initializers.RandomUniform(-BUMP_CENTRE_SPREAD, BUMP_CENTRE_SPREAD, seed=seed)


def get_activation(name: str | None) -> str | Callable[[Any], Any] | None:
    """The plugin's activation function for `name`, or `name` itself for Keras to resolve.

    Args:
        name: `"gaussian_bump"` or any activation name Keras knows (`"relu"`, `"tanh"`, ...).

    Returns:
        A function of this module, or `name` unchanged.
    """
    return ACTIVATIONS.get(name, name) if isinstance(name, str) else name
