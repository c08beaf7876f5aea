"""Helpers shared by the tests: strict JSON and folder snapshots (CLI tests), Monte Carlo gradient checks."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

__all__ = ["max_gradient_z_score", "snapshot", "strict_json"]


def _reject_constant(name: str) -> None:
    raise ValueError(f"not strict JSON: {name}")


def strict_json(text: str) -> Any:
    """`json.loads` that rejects NaN, Infinity and -Infinity, as strict JSON parsers do."""
    return json.loads(text, parse_constant=_reject_constant)


def snapshot(root: Path) -> set[str]:
    """Every path under `root` (files and folders, hidden ones included), relative to it."""
    return {str(path.relative_to(root)) for path in root.rglob("*")}


def max_gradient_z_score(layer: Any, x: Any, variables: list, analytic: Any, count: int) -> float:
    """The largest z-score of Monte Carlo gradients against their expectation `analytic`.

    Draws `count` gradients of `sum(layer(x) ** 2)` with respect to `variables` (flattened and
    concatenated) in one compiled loop, and returns `max |mean - analytic| / standard error` over
    the coordinates: an unbiased estimator stays below about 4.5 for a few hundred coordinates.
    """
    import numpy as np
    import tensorflow as tf

    @tf.function
    def draws(n: tf.Tensor) -> tf.Tensor:
        array = tf.TensorArray(tf.float32, size=n)
        for i in tf.range(n):
            with tf.GradientTape() as tape:
                value = tf.reduce_sum(tf.square(layer(x)))
            array = array.write(i, tf.concat([tf.reshape(g, [-1]) for g in tape.gradient(value, variables)], 0))
        return array.stack()

    samples = draws(tf.constant(count)).numpy().astype(np.float64)
    standard_error = samples.std(axis=0) / math.sqrt(len(samples)) + 1e-12
    return float(np.max(np.abs(samples.mean(axis=0) - np.ravel(analytic)) / standard_error))


def layer_draws(layer: Any, x: Any, count: int) -> Any:
    """`count` stochastic outputs of `layer` for the first example of `x`, stacked, as float64."""
    import numpy as np
    import tensorflow as tf

    @tf.function
    def draw() -> Any:
        array = tf.TensorArray(tf.float32, size=count)
        for i in tf.range(count):
            array = array.write(i, layer(x)[0])
        return array.stack()

    return draw().numpy().astype(np.float64)


def script_result(script: str, timeout: int = 300) -> Any:
    """Run `script` in a fresh Python (no GPU, quiet TensorFlow) and return the JSON after its last
    `RESULT` line; fail with the end of its stderr when it exits non-zero or prints no result."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=timeout)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT")]
    assert proc.returncode == 0 and lines, proc.stderr[-3000:]
    return json.loads(lines[-1][len("RESULT"):])


def assign_random_posterior(layer: Any, seed: int) -> Any:
    """Give a built variational layer with two output units random posterior means and scales
    (means N(0, 0.7), scales around 0.6 for the kernel and 0.4 for the bias); returns the generator."""
    import numpy as np

    from tfp_arch.layers.variational.posteriors import inverse_softplus

    rng = np.random.default_rng(seed)
    kernel_shape = layer._kernel_shape
    layer.assign_posterior(
        kernel_loc=rng.normal(0.0, 0.7, kernel_shape), kernel_rho=inverse_softplus(0.6) + rng.normal(0.0, 0.4, kernel_shape),
        bias_loc=rng.normal(0.0, 0.7, 2), bias_rho=inverse_softplus(0.4) + rng.normal(0.0, 0.4, 2),
    )
    return rng


def train_toy(arguments: list[str], stop_after_first_epoch: bool = False) -> Any:
    """`tfp-arch train toy ARGUMENTS` through click's test runner (the `toy` architecture registered);
    with `stop_after_first_epoch`, interrupted (KeyboardInterrupt, exit 130) once the first epoch's
    checkpoint is written."""
    import pytest
    from click.testing import CliRunner

    from tfp_arch.cli.main import main
    from tfp_arch.runs.callbacks import RunCheckpoint

    command = ["train", "toy", *arguments]
    if not stop_after_first_epoch:
        return CliRunner().invoke(main, command)
    original = RunCheckpoint.on_epoch_end

    def stop_after_first(self: Any, epoch: int, logs: Any = None) -> None:
        original(self, epoch, logs)
        if epoch == 0:
            raise KeyboardInterrupt()

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(RunCheckpoint, "on_epoch_end", stop_after_first)
        return CliRunner().invoke(main, command)
