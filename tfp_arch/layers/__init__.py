"""Keras 3 probabilistic layers built on TensorFlow Probability."""

from tfp_arch.layers.flow import MaskedAutoregressiveFlow
from tfp_arch.layers.kl_regularizer import KLDivergenceRegularizer
from tfp_arch.layers.latent import GaussianLatent, gaussian_distribution, gaussian_scale, scale_params_size
from tfp_arch.layers.made import MADE, autoregressive_degrees, autoregressive_masks
from tfp_arch.layers.maf import FlowBatchNormalization, autoregressive_inverse, maf_bijector
from tfp_arch.layers.warmup import KLWarmup

__all__ = [
    "MADE",
    "FlowBatchNormalization",
    "GaussianLatent",
    "KLDivergenceRegularizer",
    "KLWarmup",
    "MaskedAutoregressiveFlow",
    "autoregressive_degrees",
    "autoregressive_inverse",
    "autoregressive_masks",
    "gaussian_distribution",
    "gaussian_scale",
    "maf_bijector",
    "scale_params_size",
]
