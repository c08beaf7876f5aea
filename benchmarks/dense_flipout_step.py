"""Milliseconds per compiled training step of the MNIST `DenseFlipout` classifier, ours beside tfp.layers'.

The network of `tfp_layers_parity.py`'s `mnist_dense_flipout` (784-128-10, ReLU, KL / n) at a fixed
batch of random inputs, built with `tfp_arch.layers` on Keras 3 and with `tfp.layers` on tf_keras, and
the same network of plain `Dense` layers in each framework. Each is timed in one `tf.function`
(no `fit`: no data pipeline, callbacks or metrics), in two forms:

- `step`: forward pass, cross-entropy plus the layers' KL losses, gradients, Adam update;
- `forward`: the forward pass alone, with weight draws (`training=True`).

It reports the minimum and the median over `--repeats` blocks of `--steps` calls, after a warm-up.
Nothing is written: this is the diagnosis behind the MNIST row of `tfp_layers_parity.json`.

Usage:
    python benchmarks/dense_flipout_step.py [--batch-size 128] [--steps 100] [--repeats 5]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np

TRAIN_SIZE = 8000


def _model(keras_module: Any, tfpl: Any, flipout: bool) -> Any:
    import tensorflow_probability as tfp

    def divergence(q: Any, p: Any, _: Any) -> Any:
        return tfp.distributions.kl_divergence(q, p) / TRAIN_SIZE

    if flipout:
        hidden = [tfpl.DenseFlipout(128, activation="relu", kernel_divergence_fn=divergence),
                  tfpl.DenseFlipout(10, kernel_divergence_fn=divergence)]
    else:
        hidden = [keras_module.layers.Dense(128, activation="relu"), keras_module.layers.Dense(10)]
    return keras_module.Sequential([keras_module.layers.InputLayer(input_shape=(784,)), *hidden])


def _functions(keras_module: Any, model: Any, x: Any, y: Any) -> dict[str, Callable[[], Any]]:
    import tensorflow as tf

    loss_fn = keras_module.losses.SparseCategoricalCrossentropy(from_logits=True)
    optimizer = keras_module.optimizers.Adam(learning_rate=1e-3)

    @tf.function
    def step(x: Any, y: Any) -> Any:
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
            if model.losses:
                loss = loss + tf.add_n(model.losses)
        variables = model.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
        return loss

    forward = tf.function(lambda x: model(x, training=True))
    return {"step": lambda: step(x, y).numpy(), "forward": lambda: forward(x).numpy()}


def _time(fn: Callable[[], Any], steps: int, repeats: int) -> tuple[float, float]:
    for _ in range(20):
        fn()
    blocks = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            fn()
        blocks.append((time.perf_counter() - start) / steps * 1e3)
    return min(blocks), float(np.median(blocks))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    import keras
    import tensorflow as tf
    import tensorflow_probability as tfp
    import tf_keras

    import tfp_arch.layers

    rng = np.random.default_rng(0)
    x = tf.constant(rng.random((args.batch_size, 784), dtype=np.float32))
    y = tf.constant(rng.integers(0, 10, args.batch_size).astype("int64"))
    frameworks = {"Keras 3": (keras, tfp_arch.layers), "tf_keras": (tf_keras, tfp.layers)}
    print(f"batch {args.batch_size}; ms per call: min / median of {args.repeats} blocks of {args.steps}")
    for flipout in (True, False):
        for name, (keras_module, tfpl) in frameworks.items():
            keras_module.utils.set_random_seed(0)
            functions = _functions(keras_module, _model(keras_module, tfpl, flipout), x, y)
            for form, fn in functions.items():
                low, median = _time(fn, args.steps, args.repeats)
                layer = "tfp_arch DenseFlipout" if name == "Keras 3" else "tfp.layers DenseFlipout"
                network = layer if flipout else "Dense"
                print(f"{network:24s} {name:9s} {form:8s} {low:7.3f} / {median:7.3f}", flush=True)


if __name__ == "__main__":
    main()
