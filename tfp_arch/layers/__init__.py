"""Keras 3 probabilistic layers built on TensorFlow Probability."""

from tfp_arch.layers.flow import MaskedAutoregressiveFlow
from tfp_arch.layers.made import MADE, autoregressive_degrees, autoregressive_masks
from tfp_arch.layers.maf import FlowBatchNormalization, autoregressive_inverse, maf_bijector

__all__ = [
    "MADE",
    "FlowBatchNormalization",
    "MaskedAutoregressiveFlow",
    "autoregressive_degrees",
    "autoregressive_inverse",
    "autoregressive_masks",
    "maf_bijector",
]
