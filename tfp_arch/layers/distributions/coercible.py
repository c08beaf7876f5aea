"""Tensor-coercible TFP distributions: what a distribution layer returns from `call`.

A distribution layer's output must serve two kinds of reader in a Keras 3 model: the user, who wants
the distribution (`model(x).mean()`, `.log_prob(y)`, a loss `lambda y, rv: -rv.log_prob(y)`), and the
next layer, `predict` or a metric, which want a tensor. `coercible(distribution, fn)` returns the
same distribution, of a subclass of its own class (so `isinstance`, `tfd.kl_divergence` and every
method behave as before) that is also a tensor: `tf.convert_to_tensor(d)` is `fn(d)`, computed once
and cached, as in `tfp.layers`. Keras 3 lets such an object through where it checks for tensors
(`tf.is_tensor` is True through TensorFlow's `is_tensor_like` protocol, `shape` and `dtype` are the
tensor's), so a loss receives the distribution itself, while a `Dense` after it, `np.asarray`, and
`predict` see `fn(d)`. Out of a `tf.function` (the step of `predict`) the distribution comes back
as itself, holding the `fn(d)` computed inside the function (see `_CoercibleSpec`). Out of a
function traced for a SavedModel (`model.export`, `keras.export.ExportArchive`,
`tf.saved_model.save`), it leaves as the tensor `fn(d)` (see `_ExportedSpec`), so the SavedModel's
`serve` returns what `predict` returns.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from tfp_arch import _private_api
from tfp_arch.validation import invalid_argument

__all__ = ["TensorCoercible", "coercible", "convert_to_tensor_function", "is_distribution"]

tfd = tfp.distributions


class TensorCoercible:
    """Mixin of a distribution that converts to the tensor `convert_to_tensor_fn(self)`.

    The conversion is computed on first use and cached, so every reader of one output (a loss, a
    test-points function, the next layer) sees the same draw, as in `tfp.layers`.
    """

    convert_to_tensor_fn: Callable[[Any], Any] = staticmethod(tfd.Distribution.sample)

    def is_tensor_like(self) -> bool:
        """TensorFlow's marker: `tf.is_tensor` is True, so Keras passes the distribution on unchanged."""
        return True

    def _coerced_value(self) -> tf.Tensor:
        value = self.__dict__.get("_tfp_arch_value")
        if value is None:
            value = tf.convert_to_tensor(type(self).convert_to_tensor_fn(self))
            self.__dict__["_tfp_arch_value"] = value
        return value

    @property
    def shape(self) -> tf.TensorShape:
        """Shape of the tensor the distribution converts to."""
        if type(self).convert_to_tensor_fn in _BATCH_EVENT_SHAPED:
            return self.batch_shape.concatenate(self.event_shape)  # type: ignore[attr-defined]
        return self._coerced_value().shape

    @property
    def ndim(self) -> int:
        """Rank of the tensor the distribution converts to."""
        return self.shape.rank

    def numpy(self) -> np.ndarray:
        """The tensor the distribution converts to, as a NumPy array (eager mode)."""
        return np.asarray(self._coerced_value())

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return np.asarray(self._coerced_value(), dtype=dtype)


_BATCH_EVENT_SHAPED = (tfd.Distribution.sample, tfd.Distribution.mean, tfd.Distribution.mode)


def _convert(value: TensorCoercible, dtype: Any = None, name: str | None = None, as_ref: bool = False) -> tf.Tensor:
    tensor = value._coerced_value()
    if dtype is not None and tf.as_dtype(dtype) != tensor.dtype:
        return tf.cast(tensor, dtype)
    return tensor


tf.register_tensor_conversion_function(TensorCoercible, _convert)


_private_api.register_dispatchable_type(TensorCoercible)


@tf.experimental.dispatch_for_api(tf.cast, {"x": TensorCoercible})
def _cast(x: TensorCoercible, dtype: Any, name: str | None = None) -> tf.Tensor:
    """`tf.cast` of a distribution output: its tensor, cast; refused (one line) inside a Keras loss.

    A Keras loss casts `y_pred` to its own dtype (float32 by default); a float64 distribution would
    reach a lambda loss as its sample, which has no `log_prob`.
    """
    if _private_api.in_keras_loss_call():
        dtype_name = tf.as_dtype(x.dtype).name  # type: ignore[attr-defined]
        raise TypeError(
            f"A {dtype_name} distribution output reached a Keras loss of another dtype, which casts it to a tensor "
            "(a lambda loss then has no `rv.log_prob`): use `loss=tfp_arch.losses.NegativeLogLikelihood()`."
        )
    return tf.cast(x._coerced_value(), dtype, name=name)


def convert_to_tensor_function(convert_to_tensor_fn: Any) -> Callable[[Any], Any]:
    """`convert_to_tensor_fn` as TFP's layers take it, as a function of a distribution.

    Args:
        convert_to_tensor_fn: a callable of a distribution (`tfd.Distribution.sample`,
            `lambda d: d.sample(5)`), a property (`tfd.Bernoulli.logits`), or the name of a method
            or property of the distribution (`"mean"`, `"logits"`).
    """
    if isinstance(convert_to_tensor_fn, property) and convert_to_tensor_fn.fget is not None:
        return _named_function(convert_to_tensor_fn.fget.__name__)
    if isinstance(convert_to_tensor_fn, str):
        return _named_function(convert_to_tensor_fn)
    if callable(convert_to_tensor_fn):
        return convert_to_tensor_fn
    raise invalid_argument(
        "convert_to_tensor_fn",
        "expected a callable of a distribution or the name of one of its methods",
        convert_to_tensor_fn,
    )


@functools.cache
def _named_function(name: str) -> Callable[[Any], Any]:
    method = getattr(tfd.Distribution, name, None)
    if callable(method):
        return method

    def attribute(distribution: Any) -> Any:
        value = getattr(distribution, name, None)
        if (value is None or isinstance(value, property)) and isinstance(distribution, tfd.Independent):
            return attribute(distribution.distribution)
        if value is None:
            raise AttributeError(f"`convert_to_tensor_fn={name!r}`: the distribution {distribution} has no `{name}`")
        return value() if callable(value) else value

    attribute.__name__ = name
    return attribute


class _CoercibleSpec(tf.TypeSpec):
    """The type spec of a coercible distribution: its own class's spec, and the tensor it converts to.

    A distribution output that crosses a `tf.function` boundary (the step function of `predict`)
    comes back as the same class, with the tensor computed inside the function as its conversion:
    `predict` returns that tensor, even for a distribution TFP cannot rebuild outside the function
    graph (a variational Gaussian process, whose kernel holds tensors of that graph).
    """

    def __init__(self, distribution_spec: Any, value_spec: Any, value_type: type) -> None:
        self._distribution_spec = distribution_spec
        self._value_spec = value_spec
        self._coercible_type = value_type

    @property
    def value_type(self) -> type:
        return self._coercible_type

    def _serialize(self) -> tuple[Any, ...]:
        return (self._distribution_spec, self._value_spec, self._coercible_type)

    @property
    def _component_specs(self) -> tuple[Any, Any]:
        return (self._distribution_spec, self._value_spec)

    def _to_components(self, value: Any) -> tuple[Any, Any]:
        return (_as_base(value), value._coerced_value())

    def _from_components(self, components: tuple[Any, Any]) -> Any:
        distribution, value = components
        distribution.__class__ = self._coercible_type
        distribution.__dict__["_tfp_arch_value"] = value
        return distribution


class _ExportedSpec(tf.TypeSpec):
    """The type spec of a distribution output in Keras' export: the tensor it converts to, and only that.

    A SavedModel records the type of each output of its functions, and TensorFlow cannot record a
    distribution's; a function traced for export (`model.export`, `ExportArchive.add_endpoint`)
    or `tf.saved_model.save` therefore returns `convert_to_tensor_fn(d)`, as a `tfp.layers` output
    leaves any `tf.function`.
    """

    def __init__(self, value_spec: Any) -> None:
        self._value_spec = value_spec

    @property
    def value_type(self) -> type:
        return tf.Tensor

    def _serialize(self) -> tuple[Any, ...]:
        return (self._value_spec,)

    @property
    def _component_specs(self) -> Any:
        return self._value_spec

    def _to_components(self, value: Any) -> Any:
        return value._coerced_value()

    def _from_components(self, components: Any) -> Any:
        return components


def _as_base(distribution: Any) -> Any:
    """`distribution` as an instance of the TFP class it extends (same state, no cached tensor)."""
    base = type(distribution).__mro__[2]
    view: Any = object.__new__(base)
    view.__dict__.update({k: v for k, v in distribution.__dict__.items() if k != "_tfp_arch_value"})
    return view


def _coercible_type_spec(distribution: Any) -> tf.TypeSpec:
    value = distribution._coerced_value()
    if _private_api.in_saved_model_export():
        return _ExportedSpec(tf.type_spec_from_value(value))
    return _CoercibleSpec(_as_base(distribution)._type_spec, tf.type_spec_from_value(value), type(distribution))


_CLASS_NUMBERS = itertools.count(1)


@functools.cache
def _coercible_class(cls: type, fn: Callable[[Any], Any]) -> type:
    """The subclass of `cls` whose instances convert through `fn`.

    It is created under a name of its own in this module, so that TFP's metaclasses give it a
    `CompositeTensor` type spec of its own (registered as `tfp_arch....Normal_1_ACTTypeSpec`, never
    in place of TFP's), and a distribution output crosses a `tf.function` boundary (`predict`) as
    itself; TFP skips a class named `TransformedDistribution` in TFP's module, and registers its
    spec under `tfp.distributions.<name>`. The name users see (`repr`) is then the class's own.
    """
    unique = f"{cls.__name__}_{next(_CLASS_NUMBERS)}"
    attributes = {"convert_to_tensor_fn": staticmethod(fn), "__module__": __name__, "__qualname__": unique}
    subclass = type(unique, (TensorCoercible, cls), attributes)
    subclass.__name__ = subclass.__qualname__ = cls.__name__
    if issubclass(cls, tf.__internal__.CompositeTensor):
        subclass._type_spec = property(_coercible_type_spec)  # type: ignore[attr-defined]
    return subclass


def coercible(distribution: Any, convert_to_tensor_fn: Any = tfd.Distribution.sample) -> Any:
    """`distribution`, made tensor-coercible through `convert_to_tensor_fn` (see the module docstring).

    Args:
        distribution: a `tfd.Distribution`; anything else is returned unchanged (a tensor, for
            a `make_distribution_fn` that returns one).
        convert_to_tensor_fn: see `convert_to_tensor_function`.
    """
    if not isinstance(distribution, tfd.Distribution):
        return distribution
    fn = convert_to_tensor_function(convert_to_tensor_fn)
    base = type(distribution).__mro__[2] if isinstance(distribution, TensorCoercible) else type(distribution)
    result = distribution.copy()
    result.__class__ = _coercible_class(base, fn)
    for attribute in ("logits", "probs", "_logits", "_probs"):
        if attribute in distribution.__dict__:
            result.__dict__[attribute] = distribution.__dict__[attribute]
    return result


def is_distribution(value: Any) -> bool:
    """Whether `value` is a TFP distribution (a distribution layer's output)."""
    return isinstance(value, tfd.Distribution)
