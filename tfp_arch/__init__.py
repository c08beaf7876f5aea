"""tfp_arch: variational Bayes deep learning architectures for Keras 3 on TensorFlow Probability."""

from tfp_arch.architecture import Architecture

__all__ = ["Architecture"]
