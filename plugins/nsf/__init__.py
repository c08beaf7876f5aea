"""The `nsf` architecture plugin: a neural spline flow for density estimation.

The classes are imported on first use, so that importing `tfp_arch.plugins.nsf.declaration` (what `tfp-arch info`
reads) imports no TensorFlow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tfp_arch.lazy import lazy_attributes

if TYPE_CHECKING:
    from tfp_arch.plugins.nsf.model import NeuralSplineFlowModel

__all__ = ["NeuralSplineFlowModel"]

_CLASSES = {"NeuralSplineFlowModel": "tfp_arch.plugins.nsf.model"}

__getattr__ = lazy_attributes(__name__, _CLASSES)
