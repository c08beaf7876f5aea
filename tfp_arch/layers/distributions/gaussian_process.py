"""A variational Gaussian process layer (Titsias, 2009; Hensman et al., 2013), with TFP's signature."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from tfp_arch.layers.distributions.coercible import coercible, convert_to_tensor_function
from tfp_arch.layers.distributions.saving import deserialize_function, serialize_function
from tfp_arch.validation import invalid_argument, positive_int

__all__ = ["VariationalGaussianProcess"]

tfd = tfp.distributions
tfb = tfp.bijectors


_NOISE_START = keras.initializers.Constant(-10.0)  # TFP's default start of the unconstrained noise variance


def _initializer(value: Any) -> Any:
    return None if value is None else keras.initializers.get(value)


def _serialize_initializer(value: Any) -> Any:
    """A Keras initializer's config; any other initializer as "zeros" (the saved weights replace it at load)."""
    if value is None:
        return None
    if isinstance(value, keras.initializers.Initializer):
        return keras.saving.serialize_keras_object(value)
    return "zeros"


def _deserialize(value: Any) -> Any:
    return None if value is None else keras.saving.deserialize_keras_object(value)


def _event_shape(value: Any) -> list[int]:
    try:
        shape = [int(size) for size in np.asarray(value).reshape(-1).tolist()]
    except (TypeError, ValueError):
        raise invalid_argument("event_shape", "expected a shape (a sequence of positive integers)", value) from None
    if any(size < 1 for size in shape):
        raise invalid_argument("event_shape", "expected a shape (a sequence of positive integers)", value)
    return shape


def _variational_gaussian_process(
    index_points: Any,
    kernel: Any,
    inducing_index_points: Any,
    loc: Any,
    scale: Any,
    mean_fn: Callable[[Any], Any],
    observation_noise_variance: Any,
    jitter: float,
    convert_to_tensor_fn: Callable[[Any], Any],
) -> Any:
    """TFP's VGP over the index points, batched over the event shape, with the event shape moved last."""
    vgp = tfd.VariationalGaussianProcess(
        kernel=kernel,
        index_points=index_points,
        inducing_index_points=inducing_index_points,
        variational_inducing_observations_loc=loc,
        variational_inducing_observations_scale=scale,
        mean_fn=mean_fn,
        observation_noise_variance=observation_noise_variance,
        jitter=jitter,
    )
    transpose = tfb.Transpose(rightmost_transposed_ndims=2)
    distribution = coercible(
        tfd.TransformedDistribution(tfd.Independent(vgp, reinterpreted_batch_ndims=1), bijector=transpose),
        convert_to_tensor_fn,
    )

    def variational_loss(observations: Any, kl_weight: Any = 1.0) -> Any:
        return vgp.variational_loss(transpose.forward(observations), kl_weight=kl_weight)

    distribution.variational_loss = variational_loss
    distribution.surrogate_posterior_kl_divergence_prior = vgp.surrogate_posterior_kl_divergence_prior
    return distribution


@keras.saving.register_keras_serializable(package="tfp_arch")
class VariationalGaussianProcess(keras.layers.Layer):
    """A layer whose output is a variational Gaussian process over its inputs, as `tfp.layers`'.

    The inputs are the index points; the output is a `tfd.TransformedDistribution` over a
    `tfd.VariationalGaussianProcess` (one per entry of `event_shape`) with event shape
    `(num_points, *event_shape)`. It carries TFP's two extra methods: `variational_loss(y, kl_weight)`
    (the negative ELBO of the observations `y`) and `surrogate_posterior_kl_divergence_prior()`.
    The trainable variables are TFP's: the inducing index points, the variational inducing
    observations' location and scale, the constant mean (unless `mean_fn` is given) and the
    unconstrained observation noise variance (through a softplus). The kernel comes from
    `kernel_provider.kernel`, read at every call, so that its variables can be trained.

    Args:
        num_inducing_points: number of inducing points.
        kernel_provider: a Keras layer with a `kernel` property returning a
            `tfp.math.psd_kernels.PositiveSemidefiniteKernel`; the layer's dtype is its dtype.
        event_shape: shape of the output for one index point (a batch of independent processes).
        inducing_index_points_initializer: initializer of the inducing index points,
            shape `(*event_shape, num_inducing_points, *feature_shape)`.
        unconstrained_observation_noise_variance_initializer: initializer of the unconstrained
            observation noise variance (TFP's default: constant -10), or None for no noise variable.
        variational_inducing_observations_scale_initializer: initializer of the scale, or None for
            `1e-5` times the identity.
        mean_fn: a callable from the index points to the mean, or None for a trainable constant.
        jitter: added to the diagonals of the kernel matrices.
        convert_to_tensor_fn: how the distribution becomes a tensor where one is needed (a
            `tfd.Distribution` method, its name, or any callable).
        name: the layer's name.
        **kwargs: passed to `keras.layers.Layer`.
    """

    def __init__(
        self,
        num_inducing_points: int,
        kernel_provider: keras.layers.Layer,
        event_shape: Any = (1,),
        inducing_index_points_initializer: Any = None,
        unconstrained_observation_noise_variance_initializer: Any = _NOISE_START,
        variational_inducing_observations_scale_initializer: Any = None,
        mean_fn: Callable[[Any], Any] | None = None,
        jitter: float = 1e-6,
        convert_to_tensor_fn: Any = tfd.Distribution.sample,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        if not hasattr(kernel_provider, "kernel"):
            raise invalid_argument(
                "kernel_provider", "expected a layer with a `kernel` property", type(kernel_provider).__name__
            )
        kwargs.setdefault("dtype", kernel_provider.dtype)
        super().__init__(name=name, **kwargs)
        self.num_inducing_points = positive_int("num_inducing_points", num_inducing_points)
        self.kernel_provider = kernel_provider
        self.event_shape = _event_shape(event_shape)
        self.inducing_index_points_initializer = _initializer(inducing_index_points_initializer)
        self.unconstrained_observation_noise_variance_initializer = _initializer(
            unconstrained_observation_noise_variance_initializer
        )
        self.variational_inducing_observations_scale_initializer = _initializer(
            variational_inducing_observations_scale_initializer
        )
        self.mean_fn = mean_fn
        self.jitter = float(jitter)
        self.convert_to_tensor_fn = deserialize_function(convert_to_tensor_fn)
        self._convert = convert_to_tensor_function(self.convert_to_tensor_fn)
        self.feature_ndims = int(kernel_provider.kernel.feature_ndims)

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        feature_shape = [int(size or 0) for size in input_shape[len(input_shape) - self.feature_ndims :]]
        dtype = self.dtype
        inducing = self.num_inducing_points
        if self.mean_fn is None:
            self.mean = self.add_weight(name="mean", shape=(), initializer="zeros", dtype=dtype)
        self.unconstrained_observation_noise_variance = None
        if self.unconstrained_observation_noise_variance_initializer is not None:
            self.unconstrained_observation_noise_variance = self.add_weight(
                name="observation_noise_variance",
                shape=(),
                dtype=dtype,
                initializer=self.unconstrained_observation_noise_variance_initializer,
            )
        self.inducing_index_points = self.add_weight(
            name="inducing_index_points",
            shape=(*self.event_shape, inducing, *feature_shape),
            dtype=dtype,
            initializer=self.inducing_index_points_initializer or "glorot_uniform",
        )
        self.variational_inducing_observations_loc = self.add_weight(
            name="variational_inducing_observations_loc",
            shape=(*self.event_shape, inducing),
            dtype=dtype,
            initializer="zeros",
        )
        scale_initializer = self.variational_inducing_observations_scale_initializer
        self.variational_inducing_observations_scale = self.add_weight(
            name="variational_inducing_observations_scale",
            shape=(*self.event_shape, inducing, inducing),
            dtype=dtype,
            initializer=scale_initializer or "zeros",
        )
        if scale_initializer is None:
            eyes = np.ones([*self.event_shape, 1, 1]) * np.eye(inducing)
            self.variational_inducing_observations_scale.assign(1e-5 * eyes)

    def _mean(self, index_points: Any) -> Any:
        if self.mean_fn is not None:
            return self.mean_fn(index_points)
        return tf.convert_to_tensor(self.mean)

    def call(self, inputs: Any) -> Any:
        """The variational Gaussian process at the index points `inputs`."""
        noise = 0.0
        if self.unconstrained_observation_noise_variance is not None:
            noise = tf.nn.softplus(tf.convert_to_tensor(self.unconstrained_observation_noise_variance))
        return _variational_gaussian_process(
            tf.cast(inputs, self.dtype),
            self.kernel_provider.kernel,
            tf.convert_to_tensor(self.inducing_index_points),
            tf.convert_to_tensor(self.variational_inducing_observations_loc),
            tf.convert_to_tensor(self.variational_inducing_observations_scale),
            self._mean,
            noise,
            self.jitter,
            self._convert,
        )

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return (*input_shape[: len(input_shape) - self.feature_ndims], *self.event_shape)

    def compute_output_spec(self, inputs: Any) -> keras.KerasTensor:
        return keras.KerasTensor(self.compute_output_shape(tuple(inputs.shape)), dtype=self.dtype)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "num_inducing_points": self.num_inducing_points,
            "kernel_provider": keras.saving.serialize_keras_object(self.kernel_provider),
            "event_shape": list(self.event_shape),
            "inducing_index_points_initializer": _serialize_initializer(self.inducing_index_points_initializer),
            "unconstrained_observation_noise_variance_initializer": _serialize_initializer(
                self.unconstrained_observation_noise_variance_initializer
            ),
            "variational_inducing_observations_scale_initializer": _serialize_initializer(
                self.variational_inducing_observations_scale_initializer
            ),
            "mean_fn": serialize_function(self, "mean_fn", self.mean_fn),
            "jitter": self.jitter,
            "convert_to_tensor_fn": serialize_function(self, "convert_to_tensor_fn", self.convert_to_tensor_fn),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> VariationalGaussianProcess:
        config = dict(config)
        config["kernel_provider"] = keras.saving.deserialize_keras_object(config["kernel_provider"])
        for name in (
            "inducing_index_points_initializer",
            "unconstrained_observation_noise_variance_initializer",
            "variational_inducing_observations_scale_initializer",
        ):
            value = config.get(name)
            config[name] = value if value is None or isinstance(value, str) else _deserialize(value)
        config["mean_fn"] = deserialize_function(config.get("mean_fn"))
        return cls(**config)
