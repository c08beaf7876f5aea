"""Heads over vectors with dependent coordinates: one-hot categorical (and its integer-label form,
`Categorical`) and full-covariance normal."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf
from tensorflow_probability import distributions as tfd

from tfp_arch.layers.distributions.head import DistributionHead, static_int
from tfp_arch.layers.distributions.latent import gaussian_scale

__all__ = ["Categorical", "MultivariateNormalTriL", "OneHotCategorical"]


class _VectorHead(DistributionHead):
    """A head whose events are vectors of `event_size` entries; configured by `event_size` as in TFP."""

    def __init__(
        self,
        event_size: int,
        convert_to_tensor_fn: Any = tfd.Distribution.sample,
        validate_args: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__((static_int("event_size", event_size),), convert_to_tensor_fn, validate_args, **kwargs)

    @property
    def event_size(self) -> int:
        return self.event_shape[0]

    def layer_params_size(self) -> int:
        return self.params_size(self.event_size)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["event_shape"]
        return {**config, "event_size": self.event_size}


@keras.saving.register_keras_serializable(package="tfp_arch")
class OneHotCategorical(_VectorHead):
    """A one-hot categorical over `event_size` classes with logits `params`: `tfp.layers.OneHotCategorical`.

    Targets are one-hot vectors. Its events are not ordered, so it has no `quantile`.

    Args:
        event_size: number of classes.
        convert_to_tensor_fn: the tensor that stands for the output (see `DistributionHead`).
        sample_dtype: dtype of the samples (a dtype name); None for the dtype of the parameters.
        validate_args: passed to the TFP distribution.
        **kwargs: `keras.layers.Layer` arguments.

    Example:
        >>> head = OneHotCategorical(10)
        >>> model = keras.Sequential([keras.layers.Dense(OneHotCategorical.params_size(10)), head])
        >>> model.compile("adam", loss=tfp_arch.losses.NegativeLogLikelihood(head))
    """

    def __init__(
        self,
        event_size: int,
        convert_to_tensor_fn: Any = tfd.Distribution.sample,
        sample_dtype: Any = None,
        validate_args: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(event_size, convert_to_tensor_fn, validate_args, **kwargs)
        self.sample_dtype = None if sample_dtype is None else tf.as_dtype(sample_dtype).name

    @staticmethod
    def params_size(event_size: int, name: str | None = None) -> int:
        """The number of parameters of one distribution: `event_size` logits."""
        return static_int("event_size", event_size)

    @staticmethod
    def new(
        params: Any, event_size: int, dtype: Any = None, validate_args: bool = False, name: str | None = None
    ) -> tfd.OneHotCategorical:
        """The distribution of `params`, as the TFP layer's `new` builds it."""
        params = tf.convert_to_tensor(params)
        return tfd.OneHotCategorical(logits=params, dtype=dtype or params.dtype, validate_args=validate_args)

    def distribution(self, params: Any) -> tfd.OneHotCategorical:
        return self.new(params, self.event_size, self.sample_dtype, self.validate_args)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "sample_dtype": self.sample_dtype}


@keras.saving.register_keras_serializable(package="tfp_arch")
class Categorical(DistributionHead):
    """A categorical over `num_classes` classes with logits `params`, whose targets are integer labels.

    `OneHotCategorical` with labels `0 .. num_classes - 1` in place of one-hot vectors (tfp.layers has
    no such layer): `tfd.Categorical(logits=params)`, event shape `()`. Its negative log-likelihood is
    Keras' `SparseCategoricalCrossentropy(from_logits=True)`. Labels are not ordered, so it has no
    `quantile`, and a categorical has no `mean`.

    Args:
        num_classes: number of classes.
        convert_to_tensor_fn: the tensor that stands for the output (see `DistributionHead`).
        validate_args: passed to the TFP distribution.
        **kwargs: `keras.layers.Layer` arguments.

    Example:
        >>> head = Categorical(10)
        >>> model = keras.Sequential([keras.layers.Dense(Categorical.params_size(10)), head])
        >>> model.compile("adam", loss=tfp_arch.losses.NegativeLogLikelihood(head))
    """

    def __init__(
        self,
        num_classes: int,
        convert_to_tensor_fn: Any = tfd.Distribution.sample,
        validate_args: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__((), convert_to_tensor_fn, validate_args, **kwargs)
        self.num_classes = static_int("num_classes", num_classes)

    @staticmethod
    def params_size(num_classes: int, name: str | None = None) -> int:
        """The number of parameters of one distribution: `num_classes` logits."""
        return static_int("num_classes", num_classes)

    @staticmethod
    def new(params: Any, num_classes: int, validate_args: bool = False) -> tfd.Categorical:
        """The distribution of `params`: `tfd.Categorical(logits=params)`."""
        return tfd.Categorical(logits=tf.convert_to_tensor(params), validate_args=validate_args)

    def layer_params_size(self) -> int:
        return self.num_classes

    def distribution(self, params: Any) -> tfd.Categorical:
        return self.new(params, self.num_classes, self.validate_args)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["event_shape"]
        return {**config, "num_classes": self.num_classes}


@keras.saving.register_keras_serializable(package="tfp_arch")
class MultivariateNormalTriL(_VectorHead):
    """A normal with full covariance `L L^T`: `tfp.layers.MultivariateNormalTriL`.

    The input holds the `event_size` locations, then the `event_size (event_size + 1) / 2` entries of
    `L` in `tfp.math.fill_triangular`'s layout, with `softplus(.) + 1e-5` on the diagonal: the
    `tfb.FillScaleTriL(diag_shift=1e-5)` of TFP's layer. Quantiles are those of each coordinate's
    normal marginal.

    Args:
        event_size: dimension of the vector.
        convert_to_tensor_fn: the tensor that stands for the output (see `DistributionHead`).
        validate_args: passed to the TFP distribution.
        **kwargs: `keras.layers.Layer` arguments, `activity_regularizer` included (it receives the
            output distribution, as a `KLDivergenceRegularizer` expects).
    """

    @staticmethod
    def params_size(event_size: int, name: str | None = None) -> int:
        """The number of parameters of one distribution: `event_size + event_size (event_size + 1) / 2`."""
        event_size = static_int("event_size", event_size)
        return event_size + event_size * (event_size + 1) // 2

    @staticmethod
    def new(
        params: Any, event_size: int, validate_args: bool = False, name: str | None = None
    ) -> tfd.MultivariateNormalTriL:
        """The distribution of `params`, as the TFP layer's `new` builds it."""
        params = tf.convert_to_tensor(params)
        event_size = static_int("event_size", event_size)
        scale_tril = gaussian_scale(params[..., event_size:], "normal_tril", min_scale=1e-5)
        return tfd.MultivariateNormalTriL(
            loc=params[..., :event_size], scale_tril=scale_tril, validate_args=validate_args
        )

    def distribution(self, params: Any) -> tfd.MultivariateNormalTriL:
        return self.new(params, self.event_size, self.validate_args)

    def marginal(self, params: tf.Tensor) -> tfd.Normal:
        distribution = self.distribution(params)
        return tfd.Normal(distribution.mean(), distribution.stddev(), validate_args=self.validate_args)
