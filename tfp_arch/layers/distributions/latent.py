"""Reparameterised Gaussian latent samples, z = loc + scale @ eps, as a Keras 3 layer."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp
from tensorflow_probability import distributions as tfd

from tfp_arch.layers.noise import standard_normal
from tfp_arch.validation import non_negative_float, one_of

__all__ = [
    "GAUSSIAN_DISTRIBUTIONS",
    "GaussianLatent",
    "gaussian_distribution",
    "gaussian_scale",
    "scale_params_size",
]

GAUSSIAN_DISTRIBUTIONS = ("normal_diag", "normal_tril")


def check_distribution(distribution: str) -> str:
    """Validate a Gaussian family name and return it."""
    return one_of("distribution", distribution, GAUSSIAN_DISTRIBUTIONS)


def scale_params_size(distribution: str, event_size: int) -> int:
    """Number of raw scale parameters of a Gaussian over `event_size` dimensions.

    Args:
        distribution: `"normal_diag"` (one raw scale per dimension) or `"normal_tril"` (the
            `event_size * (event_size + 1) / 2` entries of a lower-triangular scale).
        event_size: number of latent dimensions.

    Returns:
        The length of the raw scale vector.
    """
    check_distribution(distribution)
    return event_size if distribution == "normal_diag" else event_size * (event_size + 1) // 2


def gaussian_scale(raw_scale: Any, distribution: str, min_scale: float = 1e-5) -> tf.Tensor:
    """Turn unconstrained parameters into a positive scale (diagonal) or a Cholesky factor.

    The diagonal is `softplus(raw) + min_scale`; for `"normal_tril"` the raw vector is laid out by
    `tfp.math.fill_triangular` and only its diagonal is made positive.

    Args:
        raw_scale: tensor `(..., d)` for `"normal_diag"`, `(..., d (d + 1) / 2)` for `"normal_tril"`.
        distribution: `"normal_diag"` or `"normal_tril"`.
        min_scale: floor added to the diagonal, for numerical safety.

    Returns:
        The scale `(..., d)` or the lower-triangular scale `(..., d, d)`.
    """
    check_distribution(distribution)
    raw_scale = tf.convert_to_tensor(raw_scale)
    if distribution == "normal_diag":
        return tf.nn.softplus(raw_scale) + min_scale
    size = raw_scale.shape[-1]
    if size is None:
        tril = tfp.math.fill_triangular(raw_scale)
        return tf.linalg.set_diag(tril, tf.nn.softplus(tf.linalg.diag_part(tril)) + min_scale)
    index, lower, diagonal = _tril_layout(int(size))
    tril = tf.gather(raw_scale, index, axis=-1) * tf.constant(lower, raw_scale.dtype)
    return tf.where(tf.constant(diagonal), tf.nn.softplus(tril) + min_scale, tril)


def _tril_layout(size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where each of `size` = d (d + 1) / 2 raw values goes in a d x d lower-triangular matrix.

    The layout of `tfp.math.fill_triangular`, as a static gather (XLA compiles its gradient, which it
    cannot do for `fill_triangular`'s dynamically shaped one): the index of each entry, the
    lower-triangle mask and the diagonal mask.
    """
    d = int(round((np.sqrt(8 * size + 1) - 1) / 2))
    if d * (d + 1) // 2 != size:
        raise ValueError(f"Invalid size of a lower-triangular scale: {size} is not d (d + 1) / 2 for any d.")
    flat = np.arange(size)
    index = np.concatenate([flat[d:], flat[::-1]]).reshape(d, d)
    return index, np.tril(np.ones((d, d))), np.eye(d, dtype=bool)


def gaussian_distribution(loc: Any, raw_scale: Any, distribution: str, min_scale: float = 1e-5) -> tfd.Distribution:
    """The TFP Gaussian with event shape `(d,)` described by `loc` and raw scale parameters.

    Args:
        loc: mean, `(..., d)`.
        raw_scale: unconstrained scale parameters (see `gaussian_scale`).
        distribution: `"normal_diag"` (an `Independent(Normal)`) or `"normal_tril"`
            (a `MultivariateNormalTriL`).
        min_scale: floor of the scale's diagonal.

    Returns:
        A `tfp.distributions.Distribution` with one event per row of `loc`.
    """
    scale = gaussian_scale(raw_scale, distribution, min_scale)
    if distribution == "normal_diag":
        return tfd.Independent(tfd.Normal(loc, scale), reinterpreted_batch_ndims=1)
    return tfd.MultivariateNormalTriL(loc=loc, scale_tril=scale)


@keras.saving.register_keras_serializable(package="tfp_arch")
class GaussianLatent(keras.layers.Layer):
    """Draw a reparameterised sample `z = loc + scale @ eps`, `eps ~ N(0, I)`, from Gaussian parameters.

    The layer receives `[loc, raw_scale]` (see `gaussian_scale` for the raw layout) and returns `z`
    with the shape of `loc`. Gradients flow to both parameters. The noise comes from a Keras
    `SeedGenerator` (see `standard_normal`), so the layer traces once under `jit_compile` and is
    repeatable with `seed`.

    Args:
        distribution: `"normal_diag"` (diagonal covariance) or `"normal_tril"` (full covariance
            through a lower-triangular scale).
        min_scale: floor of the scale's diagonal.
        mean_at_inference: if True, return `loc` when `training` is falsy instead of a draw.
        seed: integer seed of the noise, or None.
        **kwargs: `keras.layers.Layer` arguments.

    Example:
        >>> loc, raw = keras.ops.zeros((4, 2)), keras.ops.zeros((4, 2))
        >>> z = GaussianLatent(seed=1)([loc, raw])
    """

    def __init__(
        self,
        distribution: str = "normal_diag",
        min_scale: float = 1e-5,
        mean_at_inference: bool = False,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.distribution = check_distribution(distribution)
        self.min_scale = non_negative_float("min_scale", min_scale)
        self.mean_at_inference = bool(mean_at_inference)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape: Any) -> None:
        self.built = True

    def scale(self, raw_scale: Any) -> tf.Tensor:
        """The positive scale (diagonal) or the Cholesky factor from raw parameters."""
        return gaussian_scale(raw_scale, self.distribution, self.min_scale)

    def predict_distribution(self, inputs: list[Any]) -> tfd.Distribution:
        """The TFP distribution described by `[loc, raw_scale]`."""
        loc, raw_scale = inputs
        return gaussian_distribution(loc, raw_scale, self.distribution, self.min_scale)

    def call(self, inputs: list[Any], training: bool | None = None) -> tf.Tensor:
        loc, raw_scale = inputs
        if self.mean_at_inference and not training:
            return loc
        eps = standard_normal(tf.shape(loc), loc.dtype, self.seed_generator)
        scale = self.scale(raw_scale)
        if self.distribution == "normal_diag":
            return loc + scale * eps
        return loc + tf.linalg.matvec(scale, eps)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape[0]

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "distribution": self.distribution,
            "min_scale": self.min_scale,
            "mean_at_inference": self.mean_at_inference,
            "seed": self.seed,
        }
