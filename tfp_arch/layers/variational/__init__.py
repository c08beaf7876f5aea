"""Variational layers: weights with a posterior learned by variational inference; posteriors, priors, estimators.

Two families of layers share the estimators (`estimators.py`):
    our own (`DenseVariational`, `Conv2DVariational`, ...: `base.py`, `dense.py`, `conv.py`,
        `conv_transpose.py`), configured by plain values (`estimator=`, `posterior_family=`, `prior=`);
    TFP's names and hooks (`DenseFlipout`, `Convolution2DReparameterization`, ...: `tfp_base.py`,
        `tfp_dense.py`, `tfp_conv.py`), configured by TFP's functions (`tfp_functions.py`).
"""

from tfp_arch.layers.variational.base import VariationalLayer
from tfp_arch.layers.variational.conv import Conv1DVariational, Conv2DVariational, Conv3DVariational, ConvVariational
from tfp_arch.layers.variational.conv_transpose import (
    Conv1DTransposeVariational,
    Conv2DTransposeVariational,
    Conv3DTransposeVariational,
    ConvTransposeVariational,
)
from tfp_arch.layers.variational.dense import DenseVariational
from tfp_arch.layers.variational.tfp_base import TFPVariationalLayer
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
from tfp_arch.layers.variational.tfp_dense import DenseFlipout, DenseLocalReparameterization, DenseReparameterization
from tfp_arch.layers.variational.tfp_functions import (
    ScaledKLDivergence,
    default_loc_scale_fn,
    default_mean_field_normal_fn,
    default_multivariate_normal_fn,
)

__all__ = [
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
    "DenseFlipout",
    "DenseLocalReparameterization",
    "DenseReparameterization",
    "DenseVariational",
    "ScaledKLDivergence",
    "TFPVariationalLayer",
    "VariationalLayer",
    "default_loc_scale_fn",
    "default_mean_field_normal_fn",
    "default_multivariate_normal_fn",
]
