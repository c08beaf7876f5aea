"""Mixture heads: a categorical mixture of components from another head, as `tfp.layers`' mixtures."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import keras
import tensorflow as tf
from tensorflow_probability import distributions as tfd

from tfp_arch.layers.distributions.head import DistributionHead, as_distribution_head, marginal_quantile, static_int
from tfp_arch.layers.distributions.independent import IndependentLogistic, IndependentNormal
from tfp_arch.layers.distributions.quantiles import bisect_quantile
from tfp_arch.layers.distributions.vector import OneHotCategorical

__all__ = ["CategoricalMixtureOfOneHotCategorical", "MixtureLogistic", "MixtureNormal", "MixtureSameFamily"]


def _component_params(params: tf.Tensor, num_components: int) -> tf.Tensor:
    shape = tf.concat([tf.shape(params)[:-1], [num_components, -1]], axis=0)
    return tf.reshape(params[..., num_components:], shape)


def _mixture(
    params: Any, num_components: int, component_layer: Callable[[tf.Tensor], tfd.Distribution]
) -> tfd.MixtureSameFamily:
    """TFP's layout: `num_components` mixture logits, then each component's parameters in turn."""
    params = tf.convert_to_tensor(params)
    build = component_layer.distribution if isinstance(component_layer, DistributionHead) else component_layer
    components = build(_component_params(params, num_components))
    mixture = tfd.Categorical(logits=params[..., :num_components])
    return tfd.MixtureSameFamily(mixture, components, validate_args=False)


class _MixtureHead(DistributionHead):
    """A mixture of `num_components` distributions of the head `component`, weighted by a categorical.

    The input holds `num_components` logits of the mixture weights, then `num_components` blocks of
    the component's parameters. Quantiles are the marginal quantiles of each coordinate, found by
    bisection on the mixture's CDF between the smallest and the largest component quantile (the
    mixture's quantile lies between them), to float precision; they need a component with quantiles.
    """

    def __init__(
        self,
        num_components: int,
        component: DistributionHead,
        convert_to_tensor_fn: Any = tfd.Distribution.sample,
        validate_args: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(component.event_shape, convert_to_tensor_fn, validate_args, **kwargs)
        self.num_components = static_int("num_components", num_components)
        self.component = component
        self.integer_support = component.integer_support

    def layer_params_size(self) -> int:
        return self.num_components * (1 + self.component.layer_params_size())

    def build(self, input_shape: Any) -> None:
        super().build(input_shape)
        self.component.build(tuple(input_shape[:-1]) + (self.num_components, self.component.layer_params_size()))

    def distribution(self, params: Any) -> tfd.MixtureSameFamily:
        return _mixture(params, self.num_components, self.component)

    def _quantile(self, params: tf.Tensor, q: tf.Tensor) -> tf.Tensor:
        axis = -1 - len(self.event_shape)
        marginal = self.component.marginal(_component_params(params, self.num_components))
        component_quantiles = marginal_quantile(marginal, tf.expand_dims(q, axis), self.integer_support)
        low = tf.reduce_min(component_quantiles, axis=axis)
        high = tf.reduce_max(component_quantiles, axis=axis)
        weights = tf.nn.softmax(params[..., : self.num_components])
        weights = tf.reshape(weights, tf.concat([tf.shape(weights), tf.ones([-axis - 1], tf.int32)], axis=0))

        def cdf(x: tf.Tensor) -> tf.Tensor:
            return tf.reduce_sum(weights * marginal.cdf(tf.expand_dims(x, axis)), axis=axis)

        if self.integer_support:
            low = low - 1
        return bisect_quantile(cdf, q, low, high, integer=self.integer_support)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["event_shape"]
        return {**config, "num_components": self.num_components}


@keras.saving.register_keras_serializable(package="tfp_arch")
class MixtureSameFamily(_MixtureHead):
    """A mixture of `num_components` distributions of another head: `tfp.layers.MixtureSameFamily`.

    Args:
        num_components: number of components.
        component_layer: a head of this package (for example `IndependentNormal(event_shape)`) that
            describes one component; it must be a head, not any callable, so that the layer saves.
        convert_to_tensor_fn: the tensor that stands for the output (see `DistributionHead`).
        validate_args: kept for TFP's signature; as in TFP, the mixture itself is not validated.
        **kwargs: `keras.layers.Layer` arguments.

    Example:
        >>> size = MixtureSameFamily.params_size(5, IndependentNormal.params_size(1))
        >>> head = MixtureSameFamily(5, IndependentNormal(1))
        >>> model = keras.Sequential([keras.layers.Dense(12, "relu"), keras.layers.Dense(size), head])
    """

    def __init__(
        self,
        num_components: int,
        component_layer: DistributionHead | dict[str, Any],
        convert_to_tensor_fn: Any = tfd.Distribution.sample,
        validate_args: bool = False,
        **kwargs: Any,
    ) -> None:
        component_layer = as_distribution_head("component_layer", component_layer)
        super().__init__(num_components, component_layer, convert_to_tensor_fn, validate_args, **kwargs)

    @staticmethod
    def params_size(num_components: int, component_params_size: int, name: str | None = None) -> int:
        """The number of parameters: `num_components * (1 + component_params_size)`."""
        component_size = static_int("component_params_size", component_params_size)
        return static_int("num_components", num_components) * (1 + component_size)

    @staticmethod
    def new(
        params: Any,
        num_components: int,
        component_layer: Callable[[tf.Tensor], Any],
        validate_args: bool = False,
        name: str | None = None,
    ) -> tfd.MixtureSameFamily:
        """The distribution of `params`, as the TFP layer's `new` builds it (the mixture is not validated)."""
        return _mixture(params, num_components, component_layer)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "component_layer": keras.saving.serialize_keras_object(self.component)}


class _MixtureOf(_MixtureHead):
    """A mixture whose component head is fixed by the class and configured by `event_shape`."""

    component_head: type[DistributionHead]

    def __init__(
        self,
        num_components: int,
        event_shape: int | Sequence[int] = (),
        convert_to_tensor_fn: Any = tfd.Distribution.sample,
        validate_args: bool = False,
        **kwargs: Any,
    ) -> None:
        component = self.component_head(event_shape, validate_args=validate_args)
        super().__init__(num_components, component, convert_to_tensor_fn, validate_args, **kwargs)

    @classmethod
    def params_size(cls, num_components: int, event_shape: int | Sequence[int] = (), name: str | None = None) -> int:
        """The number of parameters: `num_components * (1 + component params_size(event_shape))`."""
        return MixtureSameFamily.params_size(num_components, cls.component_head.params_size(event_shape))

    @classmethod
    def new(
        cls,
        params: Any,
        num_components: int,
        event_shape: int | Sequence[int] = (),
        validate_args: bool = False,
        name: str | None = None,
    ) -> tfd.MixtureSameFamily:
        """The distribution of `params`, as the TFP layer's `new` builds it."""
        component = cls.component_head(event_shape, validate_args=validate_args)
        return _mixture(params, num_components, component)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "event_shape": list(self.event_shape)}


@keras.saving.register_keras_serializable(package="tfp_arch")
class MixtureNormal(_MixtureOf):
    """A mixture of `IndependentNormal`s: `tfp.layers.MixtureNormal`.

    The input holds `num_components` logits, then for each component `prod(event_shape)` locations
    and as many raw scales (softplus, no floor). Quantiles come by bisection on the CDF (see
    `quantile`); the mean and standard deviation are the mixture's, in closed form.

    Args:
        num_components: number of components.
        event_shape: shape of one event.
        convert_to_tensor_fn: the tensor that stands for the output (see `DistributionHead`).
        validate_args: passed to the component distributions.
        **kwargs: `keras.layers.Layer` arguments.

    Example:
        >>> head = MixtureNormal(5, 1)
        >>> model = keras.Sequential([keras.layers.Dense(MixtureNormal.params_size(5, 1)), head])
        >>> model.compile("adam", loss=tfp_arch.losses.NegativeLogLikelihood(head))
    """

    component_head = IndependentNormal


@keras.saving.register_keras_serializable(package="tfp_arch")
class MixtureLogistic(_MixtureOf):
    """A mixture of `IndependentLogistic`s: `tfp.layers.MixtureLogistic`. Layout as `MixtureNormal`'s.

    Args:
        num_components: number of components.
        event_shape: shape of one event.
        convert_to_tensor_fn: the tensor that stands for the output (see `DistributionHead`).
        validate_args: passed to the component distributions.
        **kwargs: `keras.layers.Layer` arguments.
    """

    component_head = IndependentLogistic


@keras.saving.register_keras_serializable(package="tfp_arch")
class CategoricalMixtureOfOneHotCategorical(_MixtureHead):
    """A mixture of one-hot categoricals: `tfp.layers.CategoricalMixtureOfOneHotCategorical`.

    The input holds `num_components` mixture logits, then `num_components` blocks of `event_size`
    class logits. Targets are one-hot vectors; there are no quantiles.

    Args:
        event_size: number of classes.
        num_components: number of components.
        convert_to_tensor_fn: the tensor that stands for the output (see `DistributionHead`).
        sample_dtype: dtype of the samples (a dtype name); None for the dtype of the parameters.
        validate_args: kept for TFP's signature; as in TFP, the mixture is not validated.
        **kwargs: `keras.layers.Layer` arguments.
    """

    def __init__(
        self,
        event_size: int,
        num_components: int,
        convert_to_tensor_fn: Any = tfd.Distribution.sample,
        sample_dtype: Any = None,
        validate_args: bool = False,
        **kwargs: Any,
    ) -> None:
        component = OneHotCategorical(event_size, sample_dtype=sample_dtype)
        super().__init__(num_components, component, convert_to_tensor_fn, validate_args, **kwargs)

    @staticmethod
    def params_size(event_size: int, num_components: int, name: str | None = None) -> int:
        """The number of parameters: `num_components * (1 + event_size)`."""
        return MixtureSameFamily.params_size(num_components, OneHotCategorical.params_size(event_size))

    @staticmethod
    def new(
        params: Any,
        event_size: int,
        num_components: int,
        dtype: Any = None,
        validate_args: bool = False,
        name: str | None = None,
    ) -> tfd.MixtureSameFamily:
        """The distribution of `params`, as the TFP layer's `new` builds it."""
        return _mixture(params, num_components, OneHotCategorical(event_size, sample_dtype=dtype))

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "event_size": self.component.event_size,
            "sample_dtype": self.component.sample_dtype,
        }
