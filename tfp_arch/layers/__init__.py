"""Keras 3 probabilistic layers built on TensorFlow Probability."""
