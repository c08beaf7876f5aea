"""Keras 3 probabilistic layers built on TensorFlow Probability."""

from tfp_arch.layers.distributions.head import DistributionHead
from tfp_arch.layers.distributions.independent import (
    IndependentBernoulli,
    IndependentLogistic,
    IndependentNormal,
    IndependentPoisson,
)
from tfp_arch.layers.distributions.latent import (
    GaussianLatent,
    gaussian_distribution,
    gaussian_scale,
    scale_params_size,
)
from tfp_arch.layers.distributions.mixture import (
    CategoricalMixtureOfOneHotCategorical,
    MixtureLogistic,
    MixtureNormal,
    MixtureSameFamily,
)
from tfp_arch.layers.distributions.vector import Categorical, MultivariateNormalTriL, OneHotCategorical
from tfp_arch.layers.flows.autoregressive import MaskedAutoregressiveTransform
from tfp_arch.layers.flows.batch_norm import FlowBatchNormalization
from tfp_arch.layers.flows.coupling import CouplingTransform
from tfp_arch.layers.flows.flow import Flow, MaskedAutoregressiveFlow
from tfp_arch.layers.flows.made import MADE, autoregressive_degrees, autoregressive_masks
from tfp_arch.layers.flows.nsf import NeuralSplineFlow, coupling_mask
from tfp_arch.layers.flows.spline import RationalQuadraticSplineTransformer
from tfp_arch.layers.flows.transformers import (
    DEFAULT_LOG_SCALE_BOUND,
    AffineTransformer,
    ElementwiseTransformer,
    get_transformer,
    soft_clip,
)
from tfp_arch.layers.kl.regularizer import KLDivergenceRegularizer
from tfp_arch.layers.kl.warmup import KLWarmup
from tfp_arch.layers.kl.weight import KLWeightCallback, KLWeighted, KLWeightSchedule, kl_weighted_layers, set_kl_weight
from tfp_arch.layers.noise import next_seed, random_signs, standard_normal
from tfp_arch.layers.variational.base import VariationalLayer
from tfp_arch.layers.variational.conv import Conv1DVariational, Conv2DVariational, Conv3DVariational, ConvVariational
from tfp_arch.layers.variational.conv_transpose import (
    Conv1DTransposeVariational,
    Conv2DTransposeVariational,
    Conv3DTransposeVariational,
    ConvTransposeVariational,
)
from tfp_arch.layers.variational.convert import dense_to_variational, to_variational
from tfp_arch.layers.variational.dense import DenseVariational
from tfp_arch.layers.variational.estimators import ESTIMATORS
from tfp_arch.layers.variational.posteriors import POSTERIORS
from tfp_arch.layers.variational.priors import PRIORS

__all__ = [
    "DEFAULT_LOG_SCALE_BOUND",
    "ESTIMATORS",
    "MADE",
    "POSTERIORS",
    "PRIORS",
    "AffineTransformer",
    "Categorical",
    "CategoricalMixtureOfOneHotCategorical",
    "Conv1DTransposeVariational",
    "Conv1DVariational",
    "Conv2DTransposeVariational",
    "Conv2DVariational",
    "Conv3DTransposeVariational",
    "Conv3DVariational",
    "ConvTransposeVariational",
    "ConvVariational",
    "CouplingTransform",
    "DenseVariational",
    "DistributionHead",
    "ElementwiseTransformer",
    "Flow",
    "FlowBatchNormalization",
    "GaussianLatent",
    "IndependentBernoulli",
    "IndependentLogistic",
    "IndependentNormal",
    "IndependentPoisson",
    "KLDivergenceRegularizer",
    "KLWeightCallback",
    "KLWeightSchedule",
    "KLWeighted",
    "KLWarmup",
    "MaskedAutoregressiveFlow",
    "MaskedAutoregressiveTransform",
    "MixtureLogistic",
    "MixtureNormal",
    "MixtureSameFamily",
    "MultivariateNormalTriL",
    "NeuralSplineFlow",
    "OneHotCategorical",
    "RationalQuadraticSplineTransformer",
    "VariationalLayer",
    "autoregressive_degrees",
    "autoregressive_masks",
    "coupling_mask",
    "dense_to_variational",
    "gaussian_distribution",
    "gaussian_scale",
    "get_transformer",
    "kl_weighted_layers",
    "next_seed",
    "random_signs",
    "scale_params_size",
    "set_kl_weight",
    "soft_clip",
    "standard_normal",
    "to_variational",
]
