"""The conformance kit fails, naming the rule, on architectures that break the contract."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from toy import ToyRegressor

from tfp_arch import Architecture
from tfp_arch.testing import RULES, ContractError, check_architecture


@keras.saving.register_keras_serializable(package="tfp_arch_kit_tests")
class Gaussian2D(Architecture):
    """A diagonal Gaussian density with learned mean and log-scale: log_prob in closed form."""

    architecture_name = "gaussian2d"
    summary = "Diagonal Gaussian density (kit test)."
    task = "unsupervised"
    default_data = "synthetic:two_moons#n=200"
    capabilities = ("density",)
    offset = 0.0

    def build(self, input_shape):
        self.loc = self.add_weight(shape=(input_shape[-1],), initializer="zeros", name="loc")
        self.log_scale = self.add_weight(shape=(input_shape[-1],), initializer="zeros", name="log_scale")

    def call(self, x, training=None):
        z = (x - self.loc) * tf.exp(-self.log_scale)
        return tf.reduce_sum(-0.5 * z**2 - self.log_scale - 0.5 * np.log(2 * np.pi), axis=-1) + self.offset

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        return -tf.reduce_mean(y_pred)

    def log_prob(self, x):
        return self(tf.constant(x, "float32")).numpy()

    def evaluate_metrics(self, x, y=None):
        return {"log_likelihood": float(np.mean(self.log_prob(x)))}


@keras.saving.register_keras_serializable(package="tfp_arch_kit_tests")
class Unnormalised(Gaussian2D):
    offset = 0.1


@keras.saving.register_keras_serializable(package="tfp_arch_kit_tests")
class UnusedWeight(ToyRegressor):
    def build(self, input_shape):
        super().build(input_shape)
        self.unused = self.add_weight(shape=(3,), initializer="ones", name="unused")


@keras.saving.register_keras_serializable(package="tfp_arch_kit_tests")
class NaNMetrics(ToyRegressor):
    def evaluate_metrics(self, x, y=None):
        return {**super().evaluate_metrics(x, y), "rmse": float("nan")}


@keras.saving.register_keras_serializable(package="tfp_arch_kit_tests")
class PrefixedMetrics(ToyRegressor):
    def evaluate_metrics(self, x, y=None):
        return {f"test_{k}": v for k, v in super().evaluate_metrics(x, y).items()}


@keras.saving.register_keras_serializable(package="tfp_arch_kit_tests")
class ArrayConfig(ToyRegressor):
    def get_config(self):
        return {**super().get_config(), "units": np.array([self.units])}


class PlotWithoutCapability(ToyRegressor):
    def plot(self, path, dataset=None):
        return path


class SampleDeclaredOnly(ToyRegressor):
    capabilities = ("sample",)


class PositionalSeed(ToyRegressor):
    capabilities = ("sample",)

    def sample(self, n, seed=None):
        return np.zeros((n, 1), "float32")


@keras.saving.register_keras_serializable(package="tfp_arch_kit_tests")
class WrongSampleShape(ToyRegressor):
    capabilities = ("sample",)

    def sample(self, n, *, seed=None):
        return np.zeros((n + 1, 1), "float32")


class NoSummary(ToyRegressor):
    summary = ""


class NotSerialisable(ToyRegressor):
    """Not registered with Keras: its saved file does not load."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.extra = keras.layers.Dense(1)

    def call(self, x, training=None):
        return super().call(x) + 0.0 * self.extra(x)


@pytest.mark.parametrize(("cls", "rule", "words"), [
    (NoSummary, "registry_metadata", "summary"),
    (PlotWithoutCapability, "capabilities", "'plot' is not declared"),
    (SampleDeclaredOnly, "capabilities", "'sample' is declared"),
    (PositionalSeed, "capabilities", "sample(n, *, seed=None"),
    (ArrayConfig, "get_config", "not plain"),
    (UnusedWeight, "gradients", "unused"),
    (NaNMetrics, "evaluate_metrics", "rmse=nan"),
    (PrefixedMetrics, "evaluate_metrics", "split prefix"),
    (WrongSampleShape, "sample", "shape (6, 1)"),
    (NotSerialisable, "save_load", "load failed"),
    (Unnormalised, "density", "integrates to 1.10"),
], ids=lambda v: v.__name__ if isinstance(v, type) else None)
def test_a_broken_architecture_fails_naming_the_rule(cls, rule, words):
    with pytest.raises(ContractError, match=f"rule `{rule}`") as caught:
        check_architecture(cls)
    assert caught.value.rule == rule and words in str(caught.value), str(caught.value)


@pytest.mark.slow
def test_a_correct_density_integrates_to_one():
    report = check_architecture(Gaussian2D)
    assert report["density"].startswith("ok") and report["sample"] == "skipped: not declared"
    assert abs(float(report["density"].split()[-1]) - 1.0) < 1e-3


@pytest.mark.slow
def test_rules_can_be_chosen_and_unknown_ones_are_refused():
    report = check_architecture(Gaussian2D, rules=("density",))
    assert report["gradients"] == "skipped: not requested" and report["density"].startswith("ok")
    assert set(report) == set(RULES)
    with pytest.raises(ValueError, match="Invalid value for argument `rules`"):
        check_architecture(Gaussian2D, rules=("speed",))
