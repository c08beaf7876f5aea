"""The `bnn` architecture: a Bayesian MLP of DenseVariational layers trained by variational Bayes."""

from tfp_arch_plugins.bnn.model import BayesianMLP

__all__ = ["BayesianMLP"]
