"""The arguments shared by TFP's KL layers: checking, saving and loading them."""

from __future__ import annotations

from typing import Any

import tensorflow as tf
import tensorflow_probability as tfp

from tfp_arch.layers.distributions.saving import (
    deserialize_distribution,
    deserialize_function,
    serialize_distribution,
    serialize_function,
)
from tfp_arch.validation import invalid_argument

__all__ = ["KLArguments"]

tfd = tfp.distributions


class KLArguments:
    """`distribution_b`, `use_exact_kl`, `test_points_reduce_axis`, `test_points_fn`, `weight` (TFP's).

    `distribution_b` is a distribution (saved as its class and parameters when these are constants)
    or a callable of no arguments returning one (saved when registered with Keras); `test_points_fn`
    is `tf.convert_to_tensor` or a registered callable.
    """

    def _set_kl_arguments(
        self,
        distribution_b: Any,
        use_exact_kl: bool,
        test_points_reduce_axis: Any,
        test_points_fn: Any,
        weight: Any,
    ) -> None:
        distribution_b = deserialize_distribution(distribution_b)
        if not (isinstance(distribution_b, tfd.Distribution) or callable(distribution_b)):
            raise invalid_argument(
                "distribution_b", "expected a distribution or a callable of no arguments returning one", distribution_b
            )
        self.distribution_b = distribution_b
        self.use_exact_kl = bool(use_exact_kl)
        if isinstance(test_points_reduce_axis, list):
            test_points_reduce_axis = tuple(test_points_reduce_axis)
        self.test_points_reduce_axis = test_points_reduce_axis
        test_points_fn = tf.convert_to_tensor if test_points_fn == "convert_to_tensor" else deserialize_function(test_points_fn)
        if not callable(test_points_fn):
            raise invalid_argument("test_points_fn", "expected a callable of a distribution", test_points_fn)
        self.test_points_fn = test_points_fn
        self.weight = None if weight is None else float(weight)

    def _kl_config(self, owner: Any) -> dict[str, Any]:
        if isinstance(self.distribution_b, tfd.Distribution):
            distribution_b = serialize_distribution(owner, "distribution_b", self.distribution_b)
        else:
            distribution_b = serialize_function(owner, "distribution_b", self.distribution_b)
        if self.test_points_fn is tf.convert_to_tensor:
            test_points_fn: Any = "convert_to_tensor"
        else:
            test_points_fn = serialize_function(owner, "test_points_fn", self.test_points_fn)
        axis = self.test_points_reduce_axis
        return {
            "distribution_b": distribution_b,
            "use_exact_kl": self.use_exact_kl,
            "test_points_reduce_axis": list(axis) if isinstance(axis, tuple) else axis,
            "test_points_fn": test_points_fn,
            "weight": self.weight,
        }
