"""Keras 3 probabilistic layers built on TensorFlow Probability."""

from tfp_arch.layers.distributions.gaussian_process import VariationalGaussianProcess
from tfp_arch.layers.distributions.head import DistributionHead
from tfp_arch.layers.distributions.independent import (
    IndependentBernoulli,
    IndependentLogistic,
    IndependentNormal,
    IndependentPoisson,
)
from tfp_arch.layers.distributions.lambda_layer import DistributionLambda
from tfp_arch.layers.distributions.latent import GaussianLatent
from tfp_arch.layers.distributions.mixture import (
    CategoricalMixtureOfOneHotCategorical,
    MixtureLogistic,
    MixtureNormal,
    MixtureSameFamily,
)
from tfp_arch.layers.distributions.vector import (
    Categorical,
    MultivariateNormalTriL,
    OneHotCategorical,
)
from tfp_arch.layers.flows.autoregressive import MaskedAutoregressiveTransform
from tfp_arch.layers.flows.autoregressive_transform import AutoregressiveTransform
from tfp_arch.layers.flows.batch_norm import FlowBatchNormalization
from tfp_arch.layers.flows.coupling import CouplingTransform
from tfp_arch.layers.flows.flow import Flow, MaskedAutoregressiveFlow
from tfp_arch.layers.flows.made import (
    MADE,
    autoregressive_degrees,
    autoregressive_masks,
)
from tfp_arch.layers.flows.nsf import NeuralSplineFlow, coupling_mask
from tfp_arch.layers.flows.spline import RationalQuadraticSplineTransformer
from tfp_arch.layers.flows.transformers import AffineTransformer, ElementwiseTransformer
from tfp_arch.layers.initializers import BlockwiseInitializer
from tfp_arch.layers.kl.add_loss import KLDivergenceAddLoss
from tfp_arch.layers.kl.gaussian_penalty import GaussianKLPenalty
from tfp_arch.layers.kl.regularizer import KLDivergenceRegularizer
from tfp_arch.layers.kl.warmup import KLWarmup
from tfp_arch.layers.kl.weight import (
    KLWeightCallback,
    KLWeighted,
    KLWeightSchedule,
    kl_weighted_layers,
    set_kl_weight,
)
from tfp_arch.layers.variational.base import VariationalLayer
from tfp_arch.layers.variational.conv import (
    Conv1DVariational,
    Conv2DVariational,
    Conv3DVariational,
    ConvVariational,
)
from tfp_arch.layers.variational.conv_transpose import (
    Conv1DTransposeVariational,
    Conv2DTransposeVariational,
    Conv3DTransposeVariational,
    ConvTransposeVariational,
)
from tfp_arch.layers.variational.convert import dense_to_variational, to_variational
from tfp_arch.layers.variational.dense import DenseVariational
from tfp_arch.layers.variational.tfp_conv import (
    Conv1DFlipout,
    Conv1DReparameterization,
    Conv2DFlipout,
    Conv2DReparameterization,
    Conv3DFlipout,
    Conv3DReparameterization,
    Convolution1DFlipout,
    Convolution1DReparameterization,
    Convolution2DFlipout,
    Convolution2DReparameterization,
    Convolution3DFlipout,
    Convolution3DReparameterization,
)
from tfp_arch.layers.variational.tfp_dense import (
    DenseFlipout,
    DenseLocalReparameterization,
    DenseReparameterization,
)
from tfp_arch.layers.variational.tfp_functions import (
    ScaledKLDivergence,
    default_loc_scale_fn,
    default_mean_field_normal_fn,
    default_multivariate_normal_fn,
)
from tfp_arch.layers.variational.variable import VariableLayer
from tfp_arch.layers.weight_norm import WeightNorm

__all__ = [
    "MADE",
    "AffineTransformer",
    "AutoregressiveTransform",
    "BlockwiseInitializer",
    "Categorical",
    "CategoricalMixtureOfOneHotCategorical",
    "Conv1DFlipout",
    "Conv1DReparameterization",
    "Conv1DTransposeVariational",
    "Conv1DVariational",
    "Conv2DFlipout",
    "Conv2DReparameterization",
    "Conv2DTransposeVariational",
    "Conv2DVariational",
    "Conv3DFlipout",
    "Conv3DReparameterization",
    "Conv3DTransposeVariational",
    "Conv3DVariational",
    "ConvTransposeVariational",
    "ConvVariational",
    "Convolution1DFlipout",
    "Convolution1DReparameterization",
    "Convolution2DFlipout",
    "Convolution2DReparameterization",
    "Convolution3DFlipout",
    "Convolution3DReparameterization",
    "CouplingTransform",
    "DenseFlipout",
    "DenseLocalReparameterization",
    "DenseReparameterization",
    "DenseVariational",
    "DistributionHead",
    "DistributionLambda",
    "ElementwiseTransformer",
    "Flow",
    "FlowBatchNormalization",
    "GaussianKLPenalty",
    "GaussianLatent",
    "IndependentBernoulli",
    "IndependentLogistic",
    "IndependentNormal",
    "IndependentPoisson",
    "KLDivergenceAddLoss",
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
    "ScaledKLDivergence",
    "VariableLayer",
    "VariationalGaussianProcess",
    "VariationalLayer",
    "WeightNorm",
    "autoregressive_degrees",
    "autoregressive_masks",
    "coupling_mask",
    "default_loc_scale_fn",
    "default_mean_field_normal_fn",
    "default_multivariate_normal_fn",
    "dense_to_variational",
    "kl_weighted_layers",
    "set_kl_weight",
    "to_variational",
]
