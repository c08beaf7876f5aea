"""Channel layouts and output lengths of the variational convolutions.

TensorFlow's CPU convolutions take channels-last inputs only, so a layer with
`data_format="channels_first"` moves the channels last, convolves, and moves them back.
"""

from __future__ import annotations

import tensorflow as tf

__all__ = ["channels_first_to_last", "channels_last_to_first", "conv_output_length"]


def channels_first_to_last(x: tf.Tensor) -> tf.Tensor:
    """`(batch, channels, *spatial)` to `(batch, *spatial, channels)`."""
    rank = x.shape.rank
    return tf.transpose(x, [0, *range(2, rank), 1])


def channels_last_to_first(x: tf.Tensor) -> tf.Tensor:
    """`(batch, *spatial, channels)` to `(batch, channels, *spatial)`."""
    rank = x.shape.rank
    return tf.transpose(x, [0, rank - 1, *range(1, rank - 1)])


def conv_output_length(
    length: int | None, kernel_size: int, padding: str, stride: int, dilation: int = 1
) -> int | None:
    """The output length of a convolution along one axis (None for an unknown input length).

    Example:
        >>> conv_output_length(28, 3, "valid", 1), conv_output_length(28, 3, "same", 2)
        (26, 14)
    """
    if length is None:
        return None
    extent = dilation * (kernel_size - 1) + 1
    length = int(length) if padding == "same" else int(length) - extent + 1
    return -(-length // stride)
