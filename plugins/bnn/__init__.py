"""The `bnn` plugin: a Bayesian MLP (`bnn`) and a Bayesian CNN (`bcnn`) of variational layers.

The classes are imported on first use, so that importing `tfp_arch.plugins.bnn.declaration` (what `tfp-arch info`
reads) imports no TensorFlow.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tfp_arch.plugins.bnn.cnn import BayesianCNN
    from tfp_arch.plugins.bnn.model import BayesianMLP

__all__ = ["BayesianCNN", "BayesianMLP"]

_CLASSES = {"BayesianCNN": "tfp_arch.plugins.bnn.cnn", "BayesianMLP": "tfp_arch.plugins.bnn.model"}


def __getattr__(name: str) -> Any:
    if name in _CLASSES:
        value = getattr(importlib.import_module(_CLASSES[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
