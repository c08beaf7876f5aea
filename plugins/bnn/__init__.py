"""The `bnn` plugin: a Bayesian MLP (`bnn`) and a Bayesian CNN (`bcnn`) of variational layers.

The classes are imported on first use, so that importing `tfp_arch.plugins.bnn.declaration` (what `tfp-arch info`
reads) imports no TensorFlow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tfp_arch.lazy import lazy_attributes

if TYPE_CHECKING:
    from tfp_arch.plugins.bnn.cnn import BayesianCNN
    from tfp_arch.plugins.bnn.model import BayesianMLP

__all__ = ["BayesianCNN", "BayesianMLP"]

_CLASSES = {"BayesianCNN": "tfp_arch.plugins.bnn.cnn", "BayesianMLP": "tfp_arch.plugins.bnn.model"}

__getattr__ = lazy_attributes(__name__, _CLASSES)
