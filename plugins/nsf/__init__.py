"""The `nsf` architecture plugin: a neural spline flow for density estimation."""

from tfp_arch.plugins.nsf.model import NeuralSplineFlowModel

__all__ = ["NeuralSplineFlowModel"]
