"""The base class's defaults under a MirroredStrategy of two logical CPU devices (in a subprocess)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCRIPT = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {tests!r})
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import numpy as np
    from toy import ToyRegressor

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    x = np.random.default_rng(0).normal(size=(128, 1)).astype("float32")
    y = 2 * x[:, 0]
    with strategy.scope():
        model = ToyRegressor()
    history = model.fit(x, y, epochs=3, verbose=0)
    print(strategy.num_replicas_in_sync, model.steps_per_execution, history.history["loss"][-1] < history.history["loss"][0])
    """
)


@pytest.mark.slow
def test_default_fit_trains_under_mirrored_strategy():
    code = SCRIPT.format(tests=str(Path(__file__).parent))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["2", "1", "True"]
