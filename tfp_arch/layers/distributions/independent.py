"""Heads of independent coordinates: normal, logistic, Bernoulli and Poisson, as in `tfp.layers`."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import keras
import tensorflow as tf
from tensorflow_probability import distributions as tfd

from tfp_arch.layers.distributions.head import DistributionHead, event_shape_tuple
from tfp_arch.validation import non_negative_float, one_of

__all__ = [
    "SCALE_TRANSFORMS",
    "IndependentBernoulli",
    "IndependentLogistic",
    "IndependentNormal",
    "IndependentPoisson",
]

SCALE_TRANSFORMS = ("softplus", "identity")


def _event_size(event_shape: int | Sequence[int]) -> int:
    return math.prod(event_shape_tuple(event_shape))


def _reshaped(params: tf.Tensor, event_shape: tuple[int, ...]) -> tf.Tensor:
    shape = tf.concat([tf.shape(params)[:-1], tf.constant(event_shape, tf.int32)], axis=0)
    return tf.reshape(params, shape)


def _independent(
    params: Any,
    event_shape: int | Sequence[int],
    make: Callable[[tf.Tensor, tuple[int, ...]], tfd.Distribution],
    validate_args: bool,
) -> tfd.Independent:
    params = tf.convert_to_tensor(params)
    event_shape = event_shape_tuple(event_shape)
    return tfd.Independent(
        make(params, event_shape), reinterpreted_batch_ndims=len(event_shape), validate_args=validate_args
    )


class _IndependentHead(DistributionHead):
    """A head whose `new(params, event_shape, validate_args)` is an `Independent` over `event_shape`."""

    def layer_params_size(self) -> int:
        return self.params_size(self.event_shape)

    def distribution(self, params: Any) -> tfd.Independent:
        return self.new(params, self.event_shape, self.validate_args)

    def marginal(self, params: tf.Tensor) -> tfd.Distribution:
        return self.distribution(params).distribution


class _LocationScaleHead(_IndependentHead):
    """`prod(event_shape)` locations, then as many raw scales (TFP's layout).

    The scale is `transform(raw_scale) + min_scale`, with `transform` softplus (TFP's) or the
    identity (the parameters hold the scales themselves, for a model that computes them).
    """

    family: type[tfd.Distribution]

    def __init__(
        self,
        event_shape: int | Sequence[int] = (),
        convert_to_tensor_fn: Any = tfd.Distribution.sample,
        validate_args: bool = False,
        scale_transform: str = "softplus",
        min_scale: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(event_shape, convert_to_tensor_fn, validate_args, **kwargs)
        self.scale_transform = one_of("scale_transform", scale_transform, SCALE_TRANSFORMS)
        self.min_scale = non_negative_float("min_scale", min_scale)

    @staticmethod
    def params_size(event_shape: int | Sequence[int] = (), name: str | None = None) -> int:
        """The number of parameters of one distribution: `2 * prod(event_shape)`."""
        return 2 * _event_size(event_shape)

    @classmethod
    def new(
        cls,
        params: Any,
        event_shape: int | Sequence[int] = (),
        validate_args: bool = False,
        scale_transform: str = "softplus",
        min_scale: float = 0.0,
        name: str | None = None,
    ) -> tfd.Independent:
        """The distribution of `params`, as the TFP layer's `new` builds it (with the defaults)."""

        def make(p: tf.Tensor, shape: tuple[int, ...]) -> tfd.Distribution:
            loc, raw_scale = tf.split(p, 2, axis=-1)
            scale = _reshaped(raw_scale, shape)
            if scale_transform == "softplus":
                scale = tf.math.softplus(scale)
            if min_scale:
                scale = scale + min_scale
            return cls.family(loc=_reshaped(loc, shape), scale=scale, validate_args=validate_args)

        return _independent(params, event_shape, make, validate_args)

    def distribution(self, params: Any) -> tfd.Independent:
        return self.new(params, self.event_shape, self.validate_args, self.scale_transform, self.min_scale)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "scale_transform": self.scale_transform, "min_scale": self.min_scale}


@keras.saving.register_keras_serializable(package="tfp_arch")
class IndependentNormal(_LocationScaleHead):
    """Independent normals over `event_shape`, `Normal(loc, softplus(raw_scale))`: `tfp.layers.IndependentNormal`.

    The input holds `prod(event_shape)` locations, then as many raw scales (`params_size` is twice
    the event size). With the defaults there is no floor under the scale, as in TFP.

    Args:
        event_shape: shape of one event.
        convert_to_tensor_fn: the tensor that stands for the output (see `DistributionHead`).
        validate_args: passed to the TFP distributions.
        scale_transform: `"softplus"` (TFP's: `scale = softplus(raw_scale)`) or `"identity"` (the
            input holds the positive scales themselves).
        min_scale: a non-negative floor added to the transformed scale (0, TFP's, adds nothing).
        **kwargs: `keras.layers.Layer` arguments.

    Example:
        >>> head = IndependentNormal(1)
        >>> model = keras.Sequential([keras.layers.Dense(IndependentNormal.params_size(1)), head])
        >>> model.compile("adam", loss=tfp_arch.losses.NegativeLogLikelihood(head))
    """

    family = tfd.Normal


@keras.saving.register_keras_serializable(package="tfp_arch")
class IndependentLogistic(_LocationScaleHead):
    """Independent logistics, `Logistic(loc, softplus(raw_scale))`: `tfp.layers.IndependentLogistic`.

    The layout is `IndependentNormal`'s: `prod(event_shape)` locations, then as many raw scales.

    Args:
        event_shape: shape of one event.
        convert_to_tensor_fn: the tensor that stands for the output (see `DistributionHead`).
        validate_args: passed to the TFP distributions.
        scale_transform: `"softplus"` (TFP's) or `"identity"`, as `IndependentNormal`'s.
        min_scale: a non-negative floor added to the transformed scale, as `IndependentNormal`'s.
        **kwargs: `keras.layers.Layer` arguments.
    """

    family = tfd.Logistic


@keras.saving.register_keras_serializable(package="tfp_arch")
class IndependentBernoulli(_IndependentHead):
    """Independent Bernoullis with logits `params`: `tfp.layers.IndependentBernoulli`.

    Args:
        event_shape: shape of one event; the input holds `prod(event_shape)` logits.
        convert_to_tensor_fn: the tensor that stands for the output (see `DistributionHead`).
        sample_dtype: dtype of the samples (a dtype name); None for the dtype of the parameters.
        validate_args: passed to the TFP distributions.
        **kwargs: `keras.layers.Layer` arguments.
    """

    integer_support = True

    def __init__(
        self,
        event_shape: int | Sequence[int] = (),
        convert_to_tensor_fn: Any = tfd.Distribution.sample,
        sample_dtype: Any = None,
        validate_args: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(event_shape, convert_to_tensor_fn, validate_args, **kwargs)
        self.sample_dtype = None if sample_dtype is None else tf.as_dtype(sample_dtype).name

    @staticmethod
    def params_size(event_shape: int | Sequence[int] = (), name: str | None = None) -> int:
        """The number of parameters of one distribution: `prod(event_shape)`."""
        return _event_size(event_shape)

    @staticmethod
    def new(
        params: Any,
        event_shape: int | Sequence[int] = (),
        dtype: Any = None,
        validate_args: bool = False,
        name: str | None = None,
    ) -> tfd.Independent:
        """The distribution of `params`, as the TFP layer's `new` builds it (with its `logits` and `probs`)."""

        def make(p: tf.Tensor, shape: tuple[int, ...]) -> tfd.Distribution:
            return tfd.Bernoulli(logits=_reshaped(p, shape), dtype=dtype or p.dtype, validate_args=validate_args)

        distribution = _independent(params, event_shape, make, validate_args)
        distribution._logits = distribution.distribution._logits
        distribution._probs = distribution.distribution._probs
        distribution.logits = tfd.Bernoulli.logits
        distribution.probs = tfd.Bernoulli.probs
        return distribution

    def distribution(self, params: Any) -> tfd.Independent:
        return self.new(params, self.event_shape, self.sample_dtype, self.validate_args)

    def marginal(self, params: tf.Tensor) -> tfd.Distribution:
        return self.new(params, self.event_shape, validate_args=self.validate_args).distribution

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "sample_dtype": self.sample_dtype}


@keras.saving.register_keras_serializable(package="tfp_arch")
class IndependentPoisson(_IndependentHead):
    """Independent Poissons with log-rates `params`: `tfp.layers.IndependentPoisson`.

    Args:
        event_shape: shape of one event; the input holds `prod(event_shape)` log-rates.
        convert_to_tensor_fn: the tensor that stands for the output (see `DistributionHead`).
        validate_args: passed to the TFP distributions.
        **kwargs: `keras.layers.Layer` arguments.
    """

    integer_support = True

    @staticmethod
    def params_size(event_shape: int | Sequence[int] = (), name: str | None = None) -> int:
        """The number of parameters of one distribution: `prod(event_shape)`."""
        return _event_size(event_shape)

    @staticmethod
    def new(
        params: Any, event_shape: int | Sequence[int] = (), validate_args: bool = False, name: str | None = None
    ) -> tfd.Independent:
        """The distribution of `params`, as the TFP layer's `new` builds it."""

        def make(p: tf.Tensor, shape: tuple[int, ...]) -> tfd.Distribution:
            return tfd.Poisson(log_rate=_reshaped(p, shape), validate_args=validate_args)

        return _independent(params, event_shape, make, validate_args)
