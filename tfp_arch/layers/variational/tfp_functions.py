"""TFP's posterior, prior, tensor and divergence functions for the TFP-named variational layers, on Keras 3.

A TFP-named layer (`DenseFlipout`, `Convolution2DReparameterization`, ...) builds its kernel's and
bias's posterior and prior by calling `fn(dtype, shape, name, trainable, add_variable_fn)` once in
`build`, as `tfp.layers` does. `add_variable_fn` (`keras_add_variable_fn`) adds a Keras 3 weight to
the layer and returns the `tf.Variable` behind it, so a distribution built on it reads the variable
at every use and gradients reach it.

The defaults are those of `tfp.layers.util` (same names, arguments, variable names and numbers), as
objects that Keras can save: `default_mean_field_normal_fn(...)` and `default_loc_scale_fn(...)`
return configurable callables, and the other defaults are registered functions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp
from tensorflow_probability import distributions as tfd

__all__ = [
    "DEFAULT_BIAS_POSTERIOR_FN",
    "DEFAULT_KERNEL_POSTERIOR_FN",
    "LocScaleFn",
    "MeanFieldNormalFn",
    "ScaledKLDivergence",
    "default_loc_scale_fn",
    "default_mean_field_normal_fn",
    "default_multivariate_normal_fn",
    "draw_sample",
    "exact_kl_divergence",
    "keras_add_variable_fn",
]


class _KerasVariableRef(tf.Module):
    """A Keras variable as TFP sees a `tf.Variable`: a module with a dtype and a shape, read at each conversion."""

    def __init__(self, variable: keras.Variable) -> None:
        super().__init__(name=None)
        self._variable = variable

    @property
    def dtype(self) -> tf.DType:
        return tf.as_dtype(self._variable.dtype)

    @property
    def shape(self) -> tf.TensorShape:
        return tf.TensorShape(self._variable.shape)


tf.register_tensor_conversion_function(
    _KerasVariableRef, lambda ref, dtype=None, name=None, as_ref=False: tf.convert_to_tensor(ref._variable, dtype=dtype)
)


def keras_add_variable_fn(layer: keras.layers.Layer) -> Callable[..., Any]:
    """The `add_variable_fn` given to TFP-style posterior and prior functions: adds a Keras 3 weight.

    The returned function takes TFP's keywords (`name`, `shape`, `initializer`, `regularizer`,
    `constraint`, `dtype`, `trainable`), adds the weight with `layer.add_weight` (so the layer owns,
    trains, regularises and saves it) and returns the `tf.Variable` that holds its value: TFP's
    distributions keep a variable as a reference and read it at each use, whereas a Keras variable
    would be read once, when the distribution is built. A layer built while Keras traces an enclosing
    model (a subclassed model's first call) gets its variables later; it then receives a
    `tfp.util.DeferredTensor` that reads the Keras variable at each use.
    """

    def add_variable(
        name: str,
        shape: Sequence[int],
        initializer: Any = None,
        regularizer: Any = None,
        constraint: Any = None,
        dtype: Any = None,
        trainable: bool = True,
        **kwargs: Any,
    ) -> Any:
        variable = layer.add_weight(
            name=name,
            shape=tuple(int(d) for d in shape),
            initializer=initializer,
            regularizer=regularizer,
            constraint=constraint,
            dtype=None if dtype is None else tf.as_dtype(dtype).name,
            trainable=trainable,
            autocast=False,
        )
        value = variable.value
        if isinstance(value, tf.Variable):
            return value
        # Created inside a `StatelessScope` (a layer built while Keras traces an enclosing model): the
        # `tf.Variable` does not exist yet, so the distribution reads the Keras variable at each use.
        return tfp.util.DeferredTensor(_KerasVariableRef(variable), tf.identity)

    return add_variable


def _fresh(initializer: Any) -> Any:
    """A new instance of a Keras initializer: an unseeded Keras 3 initializer repeats its values, TFP's did not."""
    if isinstance(initializer, keras.initializers.Initializer):
        return type(initializer).from_config(initializer.get_config())
    return initializer


def _keras_initializer(initializer: Any) -> Any:
    """A TensorFlow or tf_keras initializer (`tf.random_normal_initializer`, ...) as the Keras 3 one of the
    same class and configuration, which saves with the model; anything else as it is."""
    if initializer is None or isinstance(initializer, (str, dict, keras.initializers.Initializer)):
        return initializer
    if hasattr(initializer, "get_config") and hasattr(keras.initializers, type(initializer).__name__):
        try:
            config = {"class_name": type(initializer).__name__, "config": initializer.get_config()}
            return keras.initializers.get(config)
        except (TypeError, ValueError):
            return initializer
    return initializer


def _serialize(value: Any) -> Any:
    return None if value is None else keras.saving.serialize_keras_object(value)


def _deserialize(value: Any) -> Any:
    return keras.saving.deserialize_keras_object(value) if isinstance(value, dict) else value


@keras.saving.register_keras_serializable(package="tfp_arch")
class LocScaleFn:
    """What `default_loc_scale_fn` returns: creates `loc` and `scale` from `(dtype, shape, name, trainable,
    add_variable_fn)`; `scale` is `eps + softplus(untransformed_scale)` read at each use (None when singular)."""

    def __init__(
        self,
        is_singular: bool = False,
        loc_initializer: Any = None,
        untransformed_scale_initializer: Any = None,
        loc_regularizer: Any = None,
        untransformed_scale_regularizer: Any = None,
        loc_constraint: Any = None,
        untransformed_scale_constraint: Any = None,
    ) -> None:
        self.is_singular = bool(is_singular)
        self.loc_initializer = _keras_initializer(_deserialize(loc_initializer)) or (
            keras.initializers.RandomNormal(stddev=0.1)
        )
        self.untransformed_scale_initializer = _keras_initializer(_deserialize(untransformed_scale_initializer)) or (
            keras.initializers.RandomNormal(mean=-3.0, stddev=0.1)
        )
        self.loc_regularizer = _deserialize(loc_regularizer)
        self.untransformed_scale_regularizer = _deserialize(untransformed_scale_regularizer)
        self.loc_constraint = _deserialize(loc_constraint)
        self.untransformed_scale_constraint = _deserialize(untransformed_scale_constraint)

    def loc_and_scale(
        self, dtype: Any, shape: Sequence[int], name: str, trainable: bool, add_variable_fn: Callable
    ) -> tuple[tf.Variable, Any]:
        """Create `name + "_loc"` (and `name + "_untransformed_scale"`) and return `loc, scale`."""
        dtype = tf.as_dtype(dtype)
        loc = add_variable_fn(
            name=name + "_loc",
            shape=shape,
            initializer=_fresh(self.loc_initializer),
            regularizer=self.loc_regularizer,
            constraint=self.loc_constraint,
            dtype=dtype,
            trainable=trainable,
        )
        if self.is_singular:
            return loc, None
        untransformed_scale = add_variable_fn(
            name=name + "_untransformed_scale",
            shape=shape,
            initializer=_fresh(self.untransformed_scale_initializer),
            regularizer=self.untransformed_scale_regularizer,
            constraint=self.untransformed_scale_constraint,
            dtype=dtype,
            trainable=trainable,
        )
        eps = np.finfo(dtype.as_numpy_dtype).eps
        scale = tfp.util.DeferredTensor(untransformed_scale, lambda x: eps + tf.nn.softplus(x))
        return loc, scale

    def __call__(self, dtype: Any, shape: Sequence[int], name: str, trainable: bool, add_variable_fn: Callable) -> Any:
        return self.loc_and_scale(dtype, shape, name, trainable, add_variable_fn)

    def get_config(self) -> dict[str, Any]:
        return {
            "is_singular": self.is_singular,
            "loc_initializer": _serialize(self.loc_initializer),
            "untransformed_scale_initializer": _serialize(self.untransformed_scale_initializer),
            "loc_regularizer": _serialize(self.loc_regularizer),
            "untransformed_scale_regularizer": _serialize(self.untransformed_scale_regularizer),
            "loc_constraint": _serialize(self.loc_constraint),
            "untransformed_scale_constraint": _serialize(self.untransformed_scale_constraint),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LocScaleFn:
        return cls(**config)


@keras.saving.register_keras_serializable(package="tfp_arch")
class MeanFieldNormalFn(LocScaleFn):
    """What `default_mean_field_normal_fn` returns: `Independent(Normal(loc, scale))` over the whole
    parameter, or `Independent(Deterministic(loc))` when singular."""

    def __call__(
        self, dtype: Any, shape: Sequence[int], name: str, trainable: bool, add_variable_fn: Callable
    ) -> tfd.Distribution:
        loc, scale = self.loc_and_scale(dtype, shape, name, trainable, add_variable_fn)
        dist = tfd.Deterministic(loc=loc) if scale is None else tfd.Normal(loc=loc, scale=scale)
        return tfd.Independent(dist, reinterpreted_batch_ndims=len(shape))


def default_loc_scale_fn(
    is_singular: bool = False,
    loc_initializer: Any = None,
    untransformed_scale_initializer: Any = None,
    loc_regularizer: Any = None,
    untransformed_scale_regularizer: Any = None,
    loc_constraint: Any = None,
    untransformed_scale_constraint: Any = None,
) -> LocScaleFn:
    """`tfp.layers.util.default_loc_scale_fn`: a function creating trainable `loc` and `scale`.

    The returned callable takes `(dtype, shape, name, trainable, add_variable_fn)`, creates the
    weights `name + "_loc"` and `name + "_untransformed_scale"` and returns `(loc, scale)` with
    `scale = eps + softplus(untransformed_scale)` (`eps` the dtype's machine epsilon), or
    `(loc, None)` when `is_singular`.

    Args:
        is_singular: no scale (a point mass).
        loc_initializer: initialiser of `loc`; None is TFP's `RandomNormal(stddev=0.1)`.
        untransformed_scale_initializer: initialiser of the untransformed scale; None is TFP's
            `RandomNormal(mean=-3, stddev=0.1)` (scales near 0.05).
        loc_regularizer, untransformed_scale_regularizer: Keras regularizers of the two weights.
        loc_constraint, untransformed_scale_constraint: Keras constraints of the two weights.

    Returns:
        A callable that Keras can save (its initialisers, regularizers and constraints must be;
        TensorFlow's initialisers such as `tf.random_normal_initializer` become Keras' own).
    """
    return LocScaleFn(
        is_singular,
        loc_initializer,
        untransformed_scale_initializer,
        loc_regularizer,
        untransformed_scale_regularizer,
        loc_constraint,
        untransformed_scale_constraint,
    )


def default_mean_field_normal_fn(
    is_singular: bool = False,
    loc_initializer: Any = None,
    untransformed_scale_initializer: Any = None,
    loc_regularizer: Any = None,
    untransformed_scale_regularizer: Any = None,
    loc_constraint: Any = None,
    untransformed_scale_constraint: Any = None,
) -> MeanFieldNormalFn:
    """`tfp.layers.util.default_mean_field_normal_fn`: a trainable mean-field normal posterior.

    The returned callable takes `(dtype, shape, name, trainable, add_variable_fn)` and returns
    `tfd.Independent(tfd.Normal(loc, scale), reinterpreted_batch_ndims=len(shape))` over weights
    created as in `default_loc_scale_fn`, or `Independent(Deterministic(loc))` when `is_singular`
    (the default posterior of the TFP-named layers' bias). The arguments are those of
    `default_loc_scale_fn`.

    Example:
        >>> fn = default_mean_field_normal_fn()
        >>> layer = keras.layers.Layer()
        >>> q = fn(tf.float32, [3, 2], "kernel_posterior", True, keras_add_variable_fn(layer))
        >>> q.event_shape, [w.name for w in layer.weights]
        (TensorShape([3, 2]), ['kernel_posterior_loc', 'kernel_posterior_untransformed_scale'])
    """
    return MeanFieldNormalFn(
        is_singular,
        loc_initializer,
        untransformed_scale_initializer,
        loc_regularizer,
        untransformed_scale_regularizer,
        loc_constraint,
        untransformed_scale_constraint,
    )


DEFAULT_KERNEL_POSTERIOR_FN = default_mean_field_normal_fn()
"""The layers' default `kernel_posterior_fn` (safe to share: every call creates new weights and initial values)."""

DEFAULT_BIAS_POSTERIOR_FN = default_mean_field_normal_fn(is_singular=True)
"""The layers' default `bias_posterior_fn`: a point estimate, `Independent(Deterministic(loc))`."""


@keras.saving.register_keras_serializable(package="tfp_arch")
def default_multivariate_normal_fn(
    dtype: Any, shape: Sequence[int], name: str, trainable: bool, add_variable_fn: Callable
) -> tfd.Distribution:
    """`tfp.layers.util.default_multivariate_normal_fn`: the standard normal prior over a parameter of `shape`.

    Returns `tfd.Independent(tfd.Normal(zeros(shape), 1), reinterpreted_batch_ndims=len(shape))`;
    creates no variable (`name`, `trainable` and `add_variable_fn` are unused).
    """
    del name, trainable, add_variable_fn
    dtype = tf.as_dtype(dtype)
    dist = tfd.Normal(loc=tf.zeros(shape, dtype), scale=dtype.as_numpy_dtype(1))
    return tfd.Independent(dist, reinterpreted_batch_ndims=len(shape))


@keras.saving.register_keras_serializable(package="tfp_arch")
def draw_sample(distribution: tfd.Distribution) -> tf.Tensor:
    """The default `*_posterior_tensor_fn`: `distribution.sample()` (TFP's `lambda d: d.sample()`)."""
    return distribution.sample()


@keras.saving.register_keras_serializable(package="tfp_arch")
def exact_kl_divergence(posterior: tfd.Distribution, prior: tfd.Distribution, sample: Any = None) -> tf.Tensor:
    """The default `*_divergence_fn`: `tfd.kl_divergence(posterior, prior)` (the sample is unused)."""
    del sample
    return tfd.kl_divergence(posterior, prior)


@keras.saving.register_keras_serializable(package="tfp_arch")
class ScaledKLDivergence:
    """`tfd.kl_divergence(q, p) * scale` as a divergence function that Keras can save.

    The saveable form of the common `kernel_divergence_fn=lambda q, p, _: tfd.kl_divergence(q, p) / n`:
    write `kernel_divergence_fn=ScaledKLDivergence(1 / n)`.

    Args:
        scale: the factor, usually one over the number of training examples.
    """

    def __init__(self, scale: float = 1.0) -> None:
        self.scale = float(scale)

    def __call__(self, posterior: tfd.Distribution, prior: tfd.Distribution, sample: Any = None) -> tf.Tensor:
        kl = tfd.kl_divergence(posterior, prior)
        return kl * tf.cast(self.scale, kl.dtype)

    def get_config(self) -> dict[str, Any]:
        return {"scale": self.scale}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ScaledKLDivergence:
        return cls(**config)
