"""The `bnn` plugin: a Bayesian MLP (`bnn`) and a Bayesian CNN (`bcnn`) of variational layers."""

from tfp_arch.plugins.bnn.cnn import BayesianCNN
from tfp_arch.plugins.bnn.model import BayesianMLP

__all__ = ["BayesianCNN", "BayesianMLP"]
