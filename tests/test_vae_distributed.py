"""The KL regulariser and the VAE under `tf.distribute.MirroredStrategy` on two logical CPU devices.

Logical devices must be configured before TensorFlow initialises, so the checks run in a fresh
Python process and report back as JSON. XLA is not used here: on logical CPU devices TensorFlow
cannot run a `jit_compile=True` train step under `MirroredStrategy` even for a plain `Dense`
model (variables of replica 1 are reached from device 0), and Keras' `jit_compile="auto"` turns
XLA off in a strategy scope.
"""

from __future__ import annotations

import textwrap

import pytest
from helpers import script_result

SCRIPT = textwrap.dedent(
    """
    import json, os
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    import numpy as np
    from tfp_arch.data import make_synthetic
    from tfp_arch.layers.kl.gaussian_penalty import GaussianKLPenalty
    from tfp_arch.plugins.vae import VariationalAutoencoder

    x = np.random.default_rng(0).normal(size=(16, 3)).astype("float32")

    def kl_model(jit):
        inputs = keras.Input((3,))
        h = keras.layers.Dense(4, kernel_initializer=keras.initializers.RandomNormal(stddev=0.7, seed=0),
                               bias_initializer=keras.initializers.RandomNormal(stddev=0.5, seed=1))(inputs)
        loc, raw = GaussianKLPenalty(kl_weight=0.5)([h[:, :2], h[:, 2:]])
        model = keras.Model(inputs, loc)
        model.compile(optimizer=keras.optimizers.SGD(0.1), jit_compile=jit)
        return model

    out = {}
    single = kl_model(False)
    before = single.predict(x, verbose=0)
    single_loss = single.fit(x, epochs=1, batch_size=16, shuffle=False, verbose=0).history["loss"][0]
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    out["replicas"] = strategy.num_replicas_in_sync
    for jit in (False,):
        with strategy.scope():
            mirrored = kl_model(jit)
        loss = mirrored.fit(x, epochs=1, batch_size=16, shuffle=False, verbose=0).history["loss"][0]
        out[f"loss_jit{jit}"] = [single_loss, loss]
        out[f"weights_diff_jit{jit}"] = max(
            float(np.max(np.abs(a - b))) for a, b in zip(single.get_weights(), mirrored.get_weights()))

    keras.utils.set_random_seed(0)
    data = make_synthetic("shapes", n=256, seed=1)
    with strategy.scope():
        vae = VariationalAutoencoder(data_shape=[16, 16, 1], latent_dim=3, hidden_units=[32], seed=0)
        vae.compile()
    history = vae.fit(data.x_train, epochs=2, batch_size=32, verbose=0).history
    out["vae_history"] = {key: [float(v) for v in values] for key, values in history.items()}
    out["vae_metrics"] = vae.evaluate_metrics(data.x_test)
    print("RESULT" + json.dumps(out))
    """
)


@pytest.fixture(scope="module")
def result():
    return script_result(SCRIPT)


@pytest.mark.slow
def test_two_replicas(result):
    assert result["replicas"] == 2


@pytest.mark.parametrize("jit", [False])
def test_kl_loss_and_update_match_a_single_device(result, jit):
    single, mirrored = result[f"loss_jit{jit}"]
    assert mirrored == pytest.approx(single, rel=1e-5)
    assert result[f"weights_diff_jit{jit}"] < 1e-5


@pytest.mark.slow
def test_vae_trains_under_mirrored_strategy_with_correctly_scaled_loss(result):
    history = result["vae_history"]
    for key in ("loss", "reconstruction", "kl", "elbo"):
        assert all(v == v and abs(v) < 1e6 for v in history[key])
    for loss, elbo, rec, kl in zip(history["loss"], history["elbo"], history["reconstruction"], history["kl"]):
        assert loss == pytest.approx(-elbo, rel=1e-4)
        assert elbo == pytest.approx(-rec - kl, rel=1e-4)
    assert result["vae_metrics"]["elbo"] < result["vae_metrics"]["log_likelihood"]
