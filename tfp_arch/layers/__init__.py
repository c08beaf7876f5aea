"""Keras 3 probabilistic layers built on TensorFlow Probability."""

from tfp_arch.layers.conv_variational import Conv1DVariational, Conv2DVariational, Conv3DVariational, ConvVariational
from tfp_arch.layers.convert import dense_to_variational, to_variational
from tfp_arch.layers.dense_variational import DenseVariational
from tfp_arch.layers.distribution_head import DistributionHead
from tfp_arch.layers.estimators import ESTIMATORS
from tfp_arch.layers.flow import MaskedAutoregressiveFlow
from tfp_arch.layers.independent_heads import (
    IndependentBernoulli,
    IndependentLogistic,
    IndependentNormal,
    IndependentPoisson,
)
from tfp_arch.layers.kl_regularizer import KLDivergenceRegularizer
from tfp_arch.layers.kl_weight import KLWeightCallback, set_kl_weight
from tfp_arch.layers.latent import (
    GaussianLatent,
    gaussian_distribution,
    gaussian_scale,
    scale_params_size,
)
from tfp_arch.layers.made import DEFAULT_LOG_SCALE_BOUND, MADE, autoregressive_degrees, autoregressive_masks, soft_clip
from tfp_arch.layers.maf import (
    FlowBatchNormalization,
    autoregressive_forward,
    autoregressive_inverse,
    maf_bijector,
)
from tfp_arch.layers.mixture_heads import (
    CategoricalMixtureOfOneHotCategorical,
    MixtureLogistic,
    MixtureNormal,
    MixtureSameFamily,
)
from tfp_arch.layers.noise import next_seed, random_signs, standard_normal
from tfp_arch.layers.posteriors import POSTERIORS
from tfp_arch.layers.priors import PRIORS
from tfp_arch.layers.variational import VariationalLayer
from tfp_arch.layers.vector_heads import MultivariateNormalTriL, OneHotCategorical
from tfp_arch.layers.warmup import KLWarmup

__all__ = [
    "DEFAULT_LOG_SCALE_BOUND",
    "ESTIMATORS",
    "MADE",
    "POSTERIORS",
    "PRIORS",
    "CategoricalMixtureOfOneHotCategorical",
    "Conv1DVariational",
    "Conv2DVariational",
    "Conv3DVariational",
    "ConvVariational",
    "DenseVariational",
    "DistributionHead",
    "FlowBatchNormalization",
    "GaussianLatent",
    "IndependentBernoulli",
    "IndependentLogistic",
    "IndependentNormal",
    "IndependentPoisson",
    "KLDivergenceRegularizer",
    "KLWeightCallback",
    "KLWarmup",
    "MaskedAutoregressiveFlow",
    "MixtureLogistic",
    "MixtureNormal",
    "MixtureSameFamily",
    "MultivariateNormalTriL",
    "OneHotCategorical",
    "VariationalLayer",
    "autoregressive_degrees",
    "autoregressive_forward",
    "autoregressive_inverse",
    "autoregressive_masks",
    "dense_to_variational",
    "gaussian_distribution",
    "gaussian_scale",
    "maf_bijector",
    "next_seed",
    "random_signs",
    "scale_params_size",
    "set_kl_weight",
    "soft_clip",
    "standard_normal",
    "to_variational",
]
