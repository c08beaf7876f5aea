"""Keras 3 initializers for TFP-style layers: `BlockwiseInitializer`, as `tfp.layers`'."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from tfp_arch.validation import invalid_argument

__all__ = ["BlockwiseInitializer"]


def _sizes(value: Any) -> list[int]:
    try:
        sizes = [int(size) for size in np.asarray(value).reshape(-1).tolist()]
    except (TypeError, ValueError):
        raise invalid_argument("sizes", "expected a sequence of non-negative integers", value) from None
    if any(size < 0 for size in sizes):
        raise invalid_argument("sizes", "expected a sequence of non-negative integers", value)
    return sizes


@keras.saving.register_keras_serializable(package="tfp_arch")
class BlockwiseInitializer(keras.initializers.Initializer):
    """An initializer that fills consecutive blocks of the last axis with other initializers.

    The block `i` of the last axis has `sizes[i]` entries and is filled by `initializers[i]`
    called on the shape with that last axis, as `tfp.layers.BlockwiseInitializer`: for example
    `BlockwiseInitializer(["glorot_uniform", keras.initializers.Constant(0.5413)], sizes=[n, n])`
    starts the location half of a posterior's parameters at random and the scale half at a
    constant.

    Args:
        initializers: Keras initializers (names, configs or instances), one per block.
        sizes: the size of each block (ints or an int tensor); they must add up to the last axis.
        validate_args: kept for TFP's signature; the sizes are always checked.

    Example:
        >>> init = BlockwiseInitializer(["zeros", "ones"], sizes=[2, 1])
        >>> init((2, 3)).numpy().tolist()
        [[0.0, 0.0, 1.0], [0.0, 0.0, 1.0]]
    """

    def __init__(self, initializers: list[Any], sizes: Any, validate_args: bool = False) -> None:
        self.initializers = [keras.initializers.get(initializer) for initializer in initializers]
        self.sizes = _sizes(sizes)
        if len(self.sizes) != len(self.initializers):
            raise invalid_argument("sizes", f"expected one size per initializer ({len(self.initializers)})", self.sizes)
        self.validate_args = bool(validate_args)

    def __call__(self, shape: Any, dtype: Any = None) -> Any:
        shape = [int(size) for size in shape]
        if not shape or sum(self.sizes) != shape[-1]:
            raise invalid_argument(
                "sizes", f"expected sizes adding up to the last axis of the shape {tuple(shape)}", self.sizes
            )
        dtype = dtype or keras.config.floatx()
        blocks = [
            tf.convert_to_tensor(initializer(shape=(*shape[:-1], size), dtype=dtype))
            for initializer, size in zip(self.initializers, self.sizes, strict=True)
        ]
        return tf.concat(blocks, axis=-1)

    def get_config(self) -> dict[str, Any]:
        return {
            "initializers": [keras.initializers.serialize(initializer) for initializer in self.initializers],
            "sizes": list(self.sizes),
            "validate_args": self.validate_args,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> BlockwiseInitializer:
        return cls(
            initializers=[keras.initializers.deserialize(item) for item in config.get("initializers", [])],
            sizes=config.get("sizes", []),
            validate_args=config.get("validate_args", False),
        )
