"""Serving signatures of the Bayesian MLP (`bnn`) and CNN (`bcnn`), and the graph code they share with Python.

Every signature takes `num_samples` (weight samples S) and `seed`; the S weight sets are drawn from
the stateless pair `[seed, 0]` as `BayesianMLP.sample_outputs` and `BayesianCNN.sample_logits` draw
them, so a signature gives the Python methods' answer for the same inputs, S and seed.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import tensorflow as tf

from tfp_arch.layers.distributions.quantiles import bisect_quantile
from tfp_arch.serving import (
    ServingFunction,
    categorical_summary,
    num_samples_spec,
    seed_spec,
    seed_to_pair,
    tensor_spec,
)

if TYPE_CHECKING:
    from tfp_arch.plugins.bnn.cnn import BayesianCNN
    from tfp_arch.plugins.bnn.model import BayesianMLP

__all__ = [
    "cnn_logits",
    "cnn_serving_functions",
    "mixture_quantiles",
    "mlp_outputs",
    "mlp_serving_functions",
    "predictive_draws",
    "regression_moments",
]

_SPREAD = 10.0


def _weight_samples(layers: list, num_samples: Any, pair: tf.Tensor) -> list:
    seeds = tf.random.experimental.stateless_split(tf.cast(pair, tf.int64), len(layers))
    return [layer.sample_weights(num_samples, seeds[i]) for i, layer in enumerate(layers)]


def mlp_outputs(model: BayesianMLP, x: tf.Tensor, num_samples: Any, pair: tf.Tensor) -> tf.Tensor:
    """Likelihood parameters for S weight samples `(S, N, P)`, in the targets' units, from the stateless `pair`."""
    hidden = model.input_standardization(tf.convert_to_tensor(x, tf.float32))
    weights = _weight_samples(model.variational_layers, num_samples, pair)
    for layer, (kernels, biases) in zip(model.variational_layers, weights, strict=True):
        hidden = layer.call_with_weights(hidden, kernels, biases)
    return model._head(hidden)


def regression_moments(outputs: tf.Tensor) -> dict[str, tf.Tensor]:
    """Predictive mean and standard deviations `(N,)` of Gaussian outputs `(S, N, 2)`, as `predictive_moments`."""
    loc, scale = outputs[..., 0], outputs[..., 1]
    mean = tf.reduce_mean(loc, axis=0)
    epistemic = tf.sqrt(tf.reduce_mean(tf.square(loc - mean), axis=0))
    aleatoric = tf.sqrt(tf.reduce_mean(tf.square(scale), axis=0))
    return {
        "mean": mean,
        "std": tf.sqrt(tf.square(epistemic) + tf.square(aleatoric)),
        "epistemic_std": epistemic,
        "aleatoric_std": aleatoric,
    }


def mixture_quantiles(loc: tf.Tensor, scale: tf.Tensor, levels: tf.Tensor) -> tf.Tensor:
    """Quantiles `(N, Q)` of the equal-weight mixture of S Gaussians `N(loc[s, n], scale[s, n])` per example.

    Found by bisection on the mixture's CDF inside `[min(loc - 10 scale), max(loc + 10 scale)]`.

    Args:
        loc, scale: `(S, N)`.
        levels: probabilities `(Q,)` in (0, 1).
    """
    low = tf.reduce_min(loc - _SPREAD * scale, axis=0)[:, None]
    high = tf.reduce_max(loc + _SPREAD * scale, axis=0)[:, None]
    loc_t, scale_t = tf.transpose(loc)[:, None, :], tf.transpose(scale)[:, None, :]

    def cdf(q: tf.Tensor) -> tf.Tensor:
        z = (q[..., None] - loc_t) / scale_t
        return tf.reduce_mean(0.5 * tf.math.erfc(-z / math.sqrt(2.0)), axis=-1)

    levels = tf.cast(levels, loc.dtype)[None, :]
    return bisect_quantile(cdf, levels, low, high)


def predictive_draws(outputs: tf.Tensor, pair: tf.Tensor) -> tf.Tensor:
    """One target draw per weight sample and example `(S, N)`: `loc + scale * eps`, eps from `fold_in(pair, 1)`."""
    loc, scale = outputs[..., 0], outputs[..., 1]
    noise_seed = tf.random.experimental.stateless_fold_in(tf.cast(pair, tf.int64), 1)
    return loc + scale * tf.random.stateless_normal(tf.shape(loc), noise_seed, dtype=loc.dtype)


def mlp_serving_functions(model: BayesianMLP) -> dict[str, ServingFunction]:
    """`predict` (moments, or class probabilities), `quantiles` and `predictive_samples` (regression only)."""
    d_in = int(model.input_standardization.mean.shape[-1])
    x_spec = tensor_spec("x", (None, d_in))
    common = (x_spec, num_samples_spec(), seed_spec())
    if not model.is_regression:

        def predict_classes(x: tf.Tensor, num_samples: tf.Tensor, seed: tf.Tensor) -> dict[str, tf.Tensor]:
            return categorical_summary(mlp_outputs(model, x, num_samples, seed_to_pair(seed)))

        doc = "class probabilities, predictive entropy, mutual information"
        return {"predict": ServingFunction(predict_classes, common, doc)}

    def predict(x: tf.Tensor, num_samples: tf.Tensor, seed: tf.Tensor) -> dict[str, tf.Tensor]:
        return regression_moments(mlp_outputs(model, x, num_samples, seed_to_pair(seed)))

    def quantiles(x: tf.Tensor, levels: tf.Tensor, num_samples: tf.Tensor, seed: tf.Tensor) -> dict[str, tf.Tensor]:
        outputs = mlp_outputs(model, x, num_samples, seed_to_pair(seed))
        return {"quantiles": mixture_quantiles(outputs[..., 0], outputs[..., 1], levels)}

    def predictive_samples(x: tf.Tensor, num_samples: tf.Tensor, seed: tf.Tensor) -> dict[str, tf.Tensor]:
        pair = seed_to_pair(seed)
        outputs = mlp_outputs(model, x, num_samples, pair)
        return {"y": predictive_draws(outputs, pair), "loc": outputs[..., 0], "scale": outputs[..., 1]}

    return {
        "predict": ServingFunction(
            predict, common, "predictive mean and standard deviations (total, epistemic, aleatoric)"
        ),
        "quantiles": ServingFunction(
            quantiles,
            (x_spec, tensor_spec("levels", (None,)), num_samples_spec(), seed_spec()),
            "quantiles of the predictive mixture at the given levels",
        ),
        "predictive_samples": ServingFunction(
            predictive_samples,
            common,
            "per weight sample: a target draw y and the Gaussian's loc and scale",
        ),
    }


def cnn_logits(model: BayesianCNN, x: tf.Tensor, num_samples: Any, pair: tf.Tensor) -> tf.Tensor:
    """Logits for S weight samples `(S, N, K)` from the stateless `pair`, one forward pass per sample."""
    weights = _weight_samples(model.variational_layers, num_samples, pair)
    x = tf.cast(x, model.compute_dtype)

    def one(s: tf.Tensor) -> tf.Tensor:
        return model._forward(x, [(kernels[s], None if biases is None else biases[s]) for kernels, biases in weights])

    return tf.map_fn(one, tf.range(num_samples), fn_output_signature=tf.TensorSpec(None, model.compute_dtype))


def cnn_serving_functions(model: BayesianCNN, image_shape: tuple[int, ...]) -> dict[str, ServingFunction]:
    """`predict`: class probabilities, predictive entropy and mutual information of images."""

    def predict(x: tf.Tensor, num_samples: tf.Tensor, seed: tf.Tensor) -> dict[str, tf.Tensor]:
        return categorical_summary(cnn_logits(model, x, num_samples, seed_to_pair(seed)))

    spec = (tensor_spec("x", (None, *image_shape)), num_samples_spec(), seed_spec())
    return {"predict": ServingFunction(predict, spec, "class probabilities, predictive entropy, mutual information")}
