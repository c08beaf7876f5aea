"""A small architecture used by the tests: Gaussian regression with a learned noise scale."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

import tfp_arch

__all__ = ["ToyRegressor"]


@keras.saving.register_keras_serializable(package="tfp_arch_tests")
class ToyRegressor(tfp_arch.Architecture):
    """y ~ Normal(f(x), softplus(g(x))) with a one-hidden-layer net; no standardisation."""

    architecture_name = "toy"
    summary = "Heteroscedastic Gaussian regression with a small deterministic net (test architecture)."
    task = "supervised"
    default_data = "synthetic:gap_regression#n=200"
    default_epochs = 2
    default_batch_size = 16

    def __init__(self, units: int = 8, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.hidden = keras.layers.Dense(units, activation="tanh")
        self.head = keras.layers.Dense(2)

    def call(self, x, training=None):
        return self.head(self.hidden(x))

    def _distribution(self, outputs):
        return tfp.distributions.Normal(outputs[..., 0], tf.nn.softplus(outputs[..., 1]) + 1e-3)

    def negative_log_likelihood(self, x, y, y_pred):
        return -self._distribution(y_pred).log_prob(tf.reshape(y, [-1]))

    def evaluate_metrics(self, x, y=None):
        outputs = self.predict(x, verbose=0)
        distribution = self._distribution(tf.constant(outputs))
        y = np.reshape(y, [-1])
        return {
            "rmse": float(np.sqrt(np.mean((outputs[:, 0] - y) ** 2))),
            "log_likelihood": float(tf.reduce_mean(distribution.log_prob(y))),
        }

    def get_config(self):
        return {**super().get_config(), "units": self.units}
