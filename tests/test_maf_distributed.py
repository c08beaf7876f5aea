"""The `maf` architecture trains under a MirroredStrategy over two logical CPU devices.

With TF 2.21 / Keras 3.15 on logical CPU devices, any Keras model (a single Dense layer too) fails
under MirroredStrategy with `steps_per_execution > 1` or with `jit_compile=True`, so this test uses
one step per execution without XLA; `jit_compile` is tested on one device in test_maf_model.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import numpy as np
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    from tfp_arch.plugins.maf import MaskedAutoregressiveFlowModel

    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(800, 3)).astype("float32") * [1.0, 2.0, 0.5]
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    assert strategy.num_replicas_in_sync == 2
    with strategy.scope():
        model = MaskedAutoregressiveFlowModel(num_transforms=2, hidden_units=[16], batch_norm=True)
        model.compile(steps_per_execution=1)
    history = model.fit(x, epochs=3, batch_size=100, verbose=0)
    loss = history.history["loss"]
    assert all(np.isfinite(loss)) and loss[-1] < loss[0], loss
    moving = model.flow.norms[0].moving_variance.numpy()
    assert not np.allclose(moving, 1.0), moving
    evaluated = model.evaluate(x, batch_size=100, verbose=0, return_dict=True)["loss"]
    direct = -float(np.mean(model.log_prob(x)))
    assert abs(evaluated - direct) < 1e-3 * abs(direct) + 1e-4, (evaluated, direct)
    assert np.isfinite(model.sample(10, seed=0)).all()
    print("OK")
    """
)


@pytest.mark.slow
def test_fit_under_mirrored_strategy_with_two_cpu_replicas():
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0 and "OK" in result.stdout, result.stderr[-3000:]
