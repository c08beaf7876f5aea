"""TFP's tutorial "Probabilistic Layers VAE", ported to Keras 3 by renaming.

The model code below is the tutorial's, with `tfp.layers` renamed `tfp_arch.layers` and `tf_keras`
(`tf.keras` in the tutorial) renamed `keras`. `build_vae(tfk, tfpl)` holds it once and is called with
either pair of modules, so that the full mode trains the tf_keras original beside the port on the
same data, at the same budget, and prints both results. The lines that differ from TFP's, and why:

- `tfkl.InputLayer(input_shape)` (twice) where the tutorial writes `tfkl.InputLayer(input_shape=...)`:
  Keras 3 renamed that argument `shape`; given by position, the one line serves both Kerases.
- `tfk.optimizers.Adam` where the tutorial writes `tf.optimizers.Adam`: in TensorFlow 2.21
  `tf.optimizers` is Keras 3's, which a tf_keras model cannot use; each model takes its own.
- The data: `tensorflow_datasets` is not used (no network). The MNIST images come from the IDX file
  in `/work/shared/data/mnist` (images 0..7,999 train, 8,000..9,999 test, as `benchmarks/vae_mnist.py`),
  binarised at random on each pass by the tutorial's own `_preprocess`.
- The budget: the tutorial trains 15 epochs on 60,000 images; here `--epochs` (default 2) on
  `--train-size` images (default all 8,000), and `--quick` trains one epoch on 64 images and tests
  on 64 (what the tests run; the original is not trained).

Everything else (`MultivariateNormalTriL(..., activity_regularizer=KLDivergenceRegularizer(prior))`,
`IndependentBernoulli(input_shape, tfd.Bernoulli.logits)`, `decoder(encoder.outputs[0])`, the loss
`lambda x, rv_x: -rv_x.log_prob(x)`) runs unchanged.

Run: `python examples/tfp_vae_tutorial.py [--quick] [--epochs E] [--train-size N] [--data FOLDER]`
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

tfd = tfp.distributions

MNIST = Path("/work/shared/data/mnist")


def build_vae(tfk, tfpl):
    """The tutorial's encoder, decoder and VAE, in the Keras `tfk` with the layers `tfpl`."""
    tfkl = tfk.layers
    input_shape = (28, 28, 1)
    encoded_size = 16
    base_depth = 32

    prior = tfd.Independent(tfd.Normal(loc=tf.zeros(encoded_size), scale=1), reinterpreted_batch_ndims=1)

    encoder = tfk.Sequential([
        tfkl.InputLayer(input_shape),
        tfkl.Lambda(lambda x: tf.cast(x, tf.float32) - 0.5),
        tfkl.Conv2D(base_depth, 5, strides=1, padding='same', activation=tf.nn.leaky_relu),
        tfkl.Conv2D(base_depth, 5, strides=2, padding='same', activation=tf.nn.leaky_relu),
        tfkl.Conv2D(2 * base_depth, 5, strides=1, padding='same', activation=tf.nn.leaky_relu),
        tfkl.Conv2D(2 * base_depth, 5, strides=2, padding='same', activation=tf.nn.leaky_relu),
        tfkl.Conv2D(4 * encoded_size, 7, strides=1, padding='valid', activation=tf.nn.leaky_relu),
        tfkl.Flatten(),
        tfkl.Dense(tfpl.MultivariateNormalTriL.params_size(encoded_size), activation=None),
        tfpl.MultivariateNormalTriL(
            encoded_size,
            activity_regularizer=tfpl.KLDivergenceRegularizer(prior)),
    ])

    decoder = tfk.Sequential([
        tfkl.InputLayer([encoded_size]),
        tfkl.Reshape([1, 1, encoded_size]),
        tfkl.Conv2DTranspose(2 * base_depth, 7, strides=1, padding='valid', activation=tf.nn.leaky_relu),
        tfkl.Conv2DTranspose(2 * base_depth, 5, strides=1, padding='same', activation=tf.nn.leaky_relu),
        tfkl.Conv2DTranspose(2 * base_depth, 5, strides=2, padding='same', activation=tf.nn.leaky_relu),
        tfkl.Conv2DTranspose(base_depth, 5, strides=1, padding='same', activation=tf.nn.leaky_relu),
        tfkl.Conv2DTranspose(base_depth, 5, strides=2, padding='same', activation=tf.nn.leaky_relu),
        tfkl.Conv2DTranspose(base_depth, 5, strides=1, padding='same', activation=tf.nn.leaky_relu),
        tfkl.Conv2D(filters=1, kernel_size=5, strides=1, padding='same', activation=None),
        tfkl.Flatten(),
        tfpl.IndependentBernoulli(input_shape, tfd.Bernoulli.logits),
    ])

    vae = tfk.Model(inputs=encoder.inputs, outputs=decoder(encoder.outputs[0]))

    negloglik = lambda x, rv_x: -rv_x.log_prob(x)  # noqa: E731
    vae.compile(optimizer=tfk.optimizers.Adam(learning_rate=1e-3), loss=negloglik)
    return vae, encoder, decoder, prior


def _preprocess(image):
    image = tf.cast(image, tf.float32)  # The IDX images are already scaled to the unit interval.
    image = image < tf.random.uniform(tf.shape(image))  # Randomly binarize.
    return image, image


def datasets(
    folder: Path, train_size: int | None, seed: int, test_size: int | None = None
) -> tuple[tf.data.Dataset, tf.data.Dataset]:
    """The tutorial's pipelines over the IDX images: batches of 256, binarised at random on each pass."""
    from tfp_arch.data import load_data

    data = load_data(f"idx:{folder}#train=8000&binarize=none")
    x_train, x_test = data.x_train[:train_size], data.x_test[:test_size]
    tf.random.set_seed(seed)
    train = tf.data.Dataset.from_tensor_slices(x_train).map(_preprocess).batch(256).prefetch(tf.data.AUTOTUNE)
    train = train.shuffle(int(10e3), seed=seed)
    test = tf.data.Dataset.from_tensor_slices(x_test).map(_preprocess).batch(256).prefetch(tf.data.AUTOTUNE)
    return train, test


def train_and_evaluate(tfk, tfpl, name: str, args: argparse.Namespace) -> dict:
    """Train the tutorial's VAE with one Keras and report its test loss (negative ELBO, nats per image)."""
    tfk.utils.set_random_seed(args.seed)
    train, test = datasets(args.data, args.train_size, args.seed, args.test_size)
    epochs, seed = args.epochs, args.seed
    vae, encoder, decoder, prior = build_vae(tfk, tfpl)
    start = time.perf_counter()
    history = vae.fit(train, epochs=epochs, verbose=0)
    seconds = time.perf_counter() - start
    test_loss = float(vae.evaluate(test, verbose=0))
    x = next(iter(test))[0][:10]
    xhat = vae(x)
    assert isinstance(xhat, tfd.Distribution)
    xtilde = decoder(prior.sample(10, seed=seed))
    result = {
        "name": name,
        "train_loss": float(history.history["loss"][-1]),
        "test_loss": test_loss,
        "seconds_per_epoch": seconds / epochs,
        "reconstruction_mean_shape": tuple(xhat.mean().shape),
        "generated_sample_shape": tuple(xtilde.sample().shape),
    }
    print(
        f"{name}: train loss {result['train_loss']:.2f}, test loss (negative ELBO) {test_loss:.2f} nats, "
        f"{result['seconds_per_epoch']:.1f} s per epoch"
    )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one epoch on 64 images; the tf_keras original is not run")
    parser.add_argument("--epochs", type=int, default=2, help="epochs of each model (full mode)")
    parser.add_argument("--train-size", type=int, default=None, help="training images (default: all 8,000)")
    parser.add_argument("--data", type=Path, default=MNIST, help="folder of the MNIST IDX files")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not any(args.data.glob("t10k-images-idx3-ubyte*")):
        print(f"skipped: no MNIST IDX images in {args.data} (give --data FOLDER)", file=sys.stderr)
        return 0
    import keras

    from tfp_arch import layers as tfp_arch_layers

    args.test_size = None
    if args.quick:
        args.train_size, args.test_size, args.epochs = 64, 64, 1
    ours = train_and_evaluate(keras, tfp_arch_layers, "keras 3 + tfp_arch.layers", args)
    if args.quick:
        return 0 if np.isfinite(ours["test_loss"]) else 1
    try:
        import tf_keras
    except ImportError:
        print("skipped the tf_keras original: tf_keras is not installed", file=sys.stderr)
        return 0
    theirs = train_and_evaluate(tf_keras, tfp.layers, "tf_keras + tfp.layers (original)", args)
    print(f"test loss difference (port - original): {ours['test_loss'] - theirs['test_loss']:+.2f} nats")
    return 0


if __name__ == "__main__":
    sys.exit(main())
