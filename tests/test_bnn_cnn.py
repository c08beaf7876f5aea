"""The Bayesian CNN (`bcnn`): sampled predictions agree with the network, it learns, and it is repeatable."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import pytest

import tfp_arch
from tfp_arch.plugins.bnn import BayesianCNN


def test_sampled_logits_follow_the_network_and_repeat_with_the_seed() -> None:
    """With posterior scales near zero, every weight sample is the posterior mean, so the batched
    sampler and the layers' own call must give the same logits."""
    model = BayesianCNN(num_classes=3, filters=[4], dense_units=[5], posterior_scale_init=1e-6)
    x = np.random.default_rng(0).uniform(size=(6, 8, 8, 1)).astype("float32")
    model.adapt(x, np.zeros(6))
    logits = model.sample_logits(x, num_samples=2, seed=3)
    np.testing.assert_allclose(logits[0], model(x).numpy(), atol=1e-4)
    np.testing.assert_allclose(logits[1], logits[0], atol=1e-4)
    wide = BayesianCNN(num_classes=3, filters=[4], posterior_scale_init=0.5)
    wide.adapt(x, np.zeros(6))
    first, again = wide.sample_logits(x, 4, seed=1), wide.sample_logits(x, 4, seed=1)
    np.testing.assert_array_equal(first, again)
    assert np.abs(first[0] - first[1]).max() > 1e-2
    assert float(wide.variational_layers[0].kl_weight_variable) == pytest.approx(1 / 6)


@pytest.mark.slow
def test_learns_the_embedded_shapes_and_reports_classification_metrics() -> None:
    keras.utils.set_random_seed(0)
    data = tfp_arch.load_data("synthetic:shapes_classification#n=1200")
    model = tfp_arch.get("bcnn")(**BayesianCNN.hyperparameters_for(data), filters=[8, 16], seed=0)
    assert model.num_classes == 4
    model.fit(data.x_train, data.y_train, epochs=6, verbose=0)
    metrics = model.evaluate_metrics(data.x_test, data.y_test, num_samples=10)
    assert set(metrics) == {"accuracy", "nll", "ece"}
    assert metrics["accuracy"] > 0.8 and metrics["nll"] < np.log(4) / 2


@pytest.mark.slow
def test_invalid_arguments_name_the_argument() -> None:
    with pytest.raises(ValueError, match="`filters`"):
        BayesianCNN(filters=[8, 0])
    with pytest.raises(ValueError, match="`estimator`"):
        BayesianCNN(posterior_family="multivariate_normal_tril")


@pytest.mark.slow
def test_automatic_posterior_scales_are_a_tenth_of_each_layers_he_scale() -> None:
    """The default initial posterior scale follows each layer's fan-in (3x3x1 = 9 inputs for the
    convolution, 4x4x4 = 64 flattened features for the dense output), and survives `get_config`."""
    model = BayesianCNN(num_classes=3, filters=[4])
    x = np.zeros((2, 8, 8, 1), "float32")
    model.adapt(x, np.zeros(2))
    for layer, fan_in in zip(model.variational_layers, (9, 64)):
        scale = layer.family.loc_and_scale()[1].numpy()
        np.testing.assert_allclose(scale, 0.1 * np.sqrt(2.0 / fan_in), rtol=1e-5)
    assert BayesianCNN.from_config(model.get_config()).posterior_scale_init is None
    fixed = BayesianCNN(num_classes=3, filters=[4], posterior_scale_init=0.03)
    fixed.adapt(x, np.zeros(2))
    np.testing.assert_allclose(fixed.variational_layers[1].family.loc_and_scale()[1].numpy(), 0.03, rtol=1e-5)
    with pytest.raises(ValueError, match="`posterior_scale_init`"):
        BayesianCNN(posterior_scale_init=0.0)
