"""Our variational convolutions with `data_format="channels_first"`: the channels-last layer on transposed inputs."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import pytest

from tfp_arch.layers import (
    Conv1DTransposeVariational,
    Conv1DVariational,
    Conv2DTransposeVariational,
    Conv2DVariational,
    Conv3DVariational,
)

CASES = [
    (Conv1DVariational, (3, 7, 2)),
    (Conv2DVariational, (3, 6, 5, 2)),
    (Conv3DVariational, (3, 4, 5, 4, 2)),
    (Conv1DTransposeVariational, (3, 7, 2)),
    (Conv2DTransposeVariational, (3, 4, 5, 2)),
]


@pytest.mark.parametrize("estimator", ["reparameterization", "local_reparameterization", "flipout"])
@pytest.mark.parametrize(("cls", "shape"), CASES)
def test_channels_first_equals_channels_last_on_transposed_inputs(cls, shape, estimator):
    kwargs = {"strides": 2, "padding": "same", "activation": "tanh", "estimator": estimator, "posterior_scale_init": 0.3}
    last = cls(4, 3, seed=5, **kwargs)
    first = cls(4, 3, seed=5, data_format="channels_first", **kwargs)
    x = np.random.default_rng(0).normal(size=shape).astype("float32")
    x_first = np.moveaxis(x, -1, 1)
    last.build(x.shape)
    first.build(x_first.shape)
    for a, b in zip(first.weights, last.weights, strict=True):
        a.assign(b.numpy())
    expected, outputs = last(x).numpy(), first(x_first).numpy()
    assert outputs.shape == tuple(first.compute_output_shape(x_first.shape))
    np.testing.assert_allclose(np.moveaxis(outputs, 1, -1), expected, atol=1e-5)
    np.testing.assert_allclose(float(first.losses[0]), float(last.losses[0]), rtol=1e-6)
    kernels, biases = last.sample_weights(1, [1, 2])
    np.testing.assert_allclose(
        np.moveaxis(first.call_with_weights(x_first, kernels[0], biases[0]).numpy(), 1, -1),
        last.call_with_weights(x, kernels[0], biases[0]).numpy(), atol=1e-5,
    )


@pytest.mark.slow
def test_channels_first_is_saved_in_the_config(tmp_path):
    model = keras.Sequential([keras.Input((2, 6, 6)), Conv2DVariational(3, 2, data_format="channels_first")])
    model.save(tmp_path / "model.keras")
    assert keras.models.load_model(tmp_path / "model.keras").layers[0].data_format == "channels_first"
