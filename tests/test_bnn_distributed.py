"""Training under tf.distribute.MirroredStrategy on two logical CPU devices (in a fresh process,
since logical devices must be configured before TensorFlow initialises)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import json, os
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    import numpy as np
    from tfp_arch.layers.variational.dense import DenseVariational
    from tfp_arch.layers.kl.weight import KLWeightCallback
    from tfp_arch.plugins.bnn import BayesianMLP

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128, 3)).astype("float32")
    y = (x @ np.array([1.0, -1.0, 0.5]) + 0.1 * rng.standard_normal(128)).astype("float32")
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        model = BayesianMLP(hidden_units=[8], estimator="flipout")
        model.compile(keras.optimizers.Adam(0.01))
        layered = keras.Sequential([keras.Input((3,)), DenseVariational(8, activation="relu", prior="scale_mixture"),
                                    DenseVariational(1)])
        layered.compile(keras.optimizers.Adam(0.01), "mse")
    history = model.fit(x, y, epochs=5, batch_size=32, verbose=0)
    other = layered.fit(x, y, epochs=2, batch_size=32, verbose=0, callbacks=[KLWeightCallback(x)])
    print(json.dumps({
        "replicas": strategy.num_replicas_in_sync,
        "loss": history.history["loss"],
        "other_loss": other.history["loss"],
        "kl_weight": float(model.variational_layers[0].kl_weight_variable.numpy()),
        "rmse": model.evaluate_metrics(x, y, num_samples=20)["rmse"],
        "y_std": float(y.std()),
    }))
    """
)


@pytest.mark.slow
def test_fit_under_mirrored_strategy_on_two_logical_cpus() -> None:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["replicas"] == 2
    assert all(map(lambda v: v == v and abs(v) < 1e6, report["loss"] + report["other_loss"]))
    assert report["loss"][-1] < report["loss"][0]
    assert abs(report["kl_weight"] - 1 / 128) < 1e-7
    assert report["rmse"] < report["y_std"]
