"""Bayesian CNN against a deterministic CNN and MC dropout on MNIST, side by side in one run.

The data are the 10,000 images of `../shared/data/mnist` (grey levels in [0, 1]): images 0..7,999
train and 8,000..9,999 test (the VAE benchmark's split). Three networks of the same shape, two
blocks of 3x3 convolution ("same", ReLU) and 2x2 max pooling with 16 and 32 channels, then a
dense layer of 10 logits, trained for the same epochs (by default `BayesianCNN`'s default, 20), batch
size and learning-rate schedule (Adam, cosine decay from the peak to 0 over the run):

- `bcnn`: `BayesianCNN` with its defaults (mean-field posteriors, standard normal prior, Flipout,
  KL weight 1 / n), trained with `model.fit(x, y)`; predictions average 30 weight samples.
- `deterministic`: the same network with Keras layers.
- `mc_dropout`: the deterministic network with dropout (rate `--dropout`) after each pooling, kept
  on at prediction time; predictions average 30 dropout masks (Gal and Ghahramani 2016).

Reported per model: test accuracy, NLL (nats per example), expected calibration error (10 bins),
training seconds, and an out-of-distribution check: the mean predictive entropy (nats) on the test
digits, on the test digits rotated by 90 degrees and on uniform-noise images, with the AUROC of
entropy at telling each shifted set from the test digits (0.5: no better than chance). With
`--seeds N` every model is trained once per seed (seeds `--seed` .. `--seed` + N - 1, which also
seed the shuffling, the weight samples and the noise images); the table and the result file give
the mean and standard error over seeds of every metric, the targets are judged on the means, and
`runs` keeps every seed's values.

    python benchmarks/bnn_mnist.py                 # writes benchmarks/results/bnn_mnist.json
    python benchmarks/bnn_mnist.py --seeds 3       # seeds 0, 1, 2: every model trained once per seed
    python benchmarks/bnn_mnist.py --quick         # 2 epochs on 2,000 images, for a smoke test
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))

import tfp_arch  # noqa: E402
from harness import MNIST, Stopwatch, load_mnist, pipeline, print_table, summarize, write_result  # noqa: E402
from tfp_arch.plugins.bnn.metrics import classification_metrics, log_softmax, logsumexp  # noqa: E402


def deterministic_cnn(dropout: float = 0.0) -> keras.Model:
    layers: list[keras.layers.Layer] = [keras.Input((28, 28, 1))]
    for filters in (16, 32):
        layers += [keras.layers.Conv2D(filters, 3, padding="same", activation="relu"), keras.layers.MaxPooling2D(2)]
        if dropout:
            layers.append(keras.layers.Dropout(dropout))
    return keras.Sequential([*layers, keras.layers.Flatten(), keras.layers.Dense(10)])


def train_keras(model: keras.Model, x: np.ndarray, y: np.ndarray, epochs: int, batch_size: int, peak: float,
                seed: int = 0) -> float:
    steps = epochs * math.ceil(len(x) / batch_size)
    model.compile(keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(peak, steps)),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True), steps_per_execution=8)
    with Stopwatch() as watch:
        model.fit(pipeline(x, y, batch_size, seed=seed), epochs=epochs, verbose=0)
    return watch.seconds


def dropout_logits(model: keras.Model, x: np.ndarray, num_samples: int) -> np.ndarray:
    forward = tf.function(lambda inputs: model(inputs, training=True))
    return np.stack([np.concatenate([forward(x[i:i + 500]).numpy() for i in range(0, len(x), 500)])
                     for _ in range(num_samples)])


def predictive_entropy(logits: np.ndarray) -> np.ndarray:
    """Entropy (nats) of the sample-averaged class probabilities, per example."""
    log_probs = logsumexp(log_softmax(logits.astype(np.float64), axis=-1), axis=0) - np.log(len(logits))
    return -(np.exp(log_probs) * log_probs).sum(axis=-1)


def auroc(negatives: np.ndarray, positives: np.ndarray) -> float:
    """Probability that a positive scores above a negative (ties count one half)."""
    scores = np.concatenate([negatives, positives])
    ranks = np.empty(len(scores))
    ranks[np.argsort(scores, kind="mergesort")] = np.arange(1, len(scores) + 1)
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    ranks = (sums / counts)[inverse]
    u = ranks[len(negatives):].sum() - len(positives) * (len(positives) + 1) / 2
    return float(u / (len(negatives) * len(positives)))


def evaluate(logits: dict[str, np.ndarray], y_test: np.ndarray) -> dict[str, float]:
    result = classification_metrics(y_test, logits["digits"])
    entropies = {name: predictive_entropy(values) for name, values in logits.items()}
    for name, values in entropies.items():
        result[f"entropy_{name}"] = float(values.mean())
    for name in ("rotated", "noise"):
        result[f"auroc_{name}"] = auroc(entropies["digits"], entropies[name])
    return result


def shifted_sets(x_test: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """The test digits, the same digits rotated by 90 degrees and uniform-noise images (seeded)."""
    noise = np.random.default_rng(seed).uniform(size=x_test.shape).astype("float32")
    return {"digits": x_test, "rotated": np.rot90(x_test, k=1, axes=(1, 2)).copy(), "noise": noise}


def run_seed(seed: int, args: argparse.Namespace, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
             y_test: np.ndarray) -> dict[str, dict[str, float]]:
    """Train the three networks once with `seed` and evaluate them on the test and shifted images."""
    shifted = shifted_sets(x_test, seed)
    results = {}
    keras.utils.set_random_seed(seed)
    bcnn = tfp_arch.get("bcnn")(num_classes=10, learning_rate=args.learning_rate, seed=seed)
    with Stopwatch() as watch:
        bcnn.fit(x_train, y_train, epochs=args.epochs, batch_size=args.batch_size, verbose=0)
    results["bcnn"] = evaluate({k: bcnn.sample_logits(v, args.samples, seed=seed + 1) for k, v in shifted.items()}, y_test)
    results["bcnn"]["train_seconds"] = watch.seconds

    keras.utils.set_random_seed(seed)
    model = deterministic_cnn()
    seconds = train_keras(model, x_train, y_train, args.epochs, args.batch_size, args.learning_rate, seed)
    results["deterministic"] = evaluate({k: model.predict(v, verbose=0, batch_size=500)[None] for k, v in shifted.items()}, y_test)
    results["deterministic"]["train_seconds"] = seconds

    keras.utils.set_random_seed(seed)
    model = deterministic_cnn(args.dropout)
    seconds = train_keras(model, x_train, y_train, args.epochs, args.batch_size, args.learning_rate, seed)
    results["mc_dropout"] = evaluate({k: dropout_logits(model, v, args.samples) for k, v in shifted.items()}, y_test)
    results["mc_dropout"]["train_seconds"] = seconds
    return results


def targets_of(results: dict[str, dict[str, float]]) -> dict[str, bool]:
    """The benchmark's targets for the Bayesian CNN, on one value per model and metric."""
    b, d, m = results["bcnn"], results["deterministic"], results["mc_dropout"]
    return {
        "accuracy_within_0.5_points_of_deterministic": bool(b["accuracy"] >= d["accuracy"] - 0.005),
        "nll_lower_than_both": bool(b["nll"] < min(d["nll"], m["nll"])),
        "ece_lower_than_both": bool(b["ece"] < min(d["ece"], m["ece"])),
        "entropy_higher_on_rotated_and_noise_than_on_digits": bool(
            b["entropy_rotated"] > b["entropy_digits"] and b["entropy_noise"] > b["entropy_digits"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(MNIST))
    parser.add_argument("--epochs", type=int, default=tfp_arch.get("bcnn").default_epochs)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--dropout", type=float, default=0.25)
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0, help="the first seed")
    parser.add_argument("--seeds", type=int, default=1, help="number of seeds: seed, seed + 1, ...")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--output", default="bnn_mnist")
    args = parser.parse_args()
    data = load_mnist(args.data, "train=8000&binarize=none&task=classification")
    x_train, y_train, x_test, y_test = data.x_train, data.y_train, data.x_test, data.y_test
    if args.quick:
        x_train, y_train, x_test, y_test, args.epochs = x_train[:2000], y_train[:2000], x_test[:500], y_test[:500], 2

    seeds = list(range(args.seed, args.seed + args.seeds))
    runs = [run_seed(seed, args, x_train, y_train, x_test, y_test) for seed in seeds]
    results = {name: {metric: summarize([run[name][metric] for run in runs]) for metric in runs[0][name]}
               for name in runs[0]}
    print_table(results, tuple(results["bcnn"]), title="model")
    targets = targets_of({name: {metric: value["mean"] for metric, value in row.items()} for name, row in results.items()})
    print(targets)
    if not args.quick:
        path = write_result("bnn_mnist", {
            "settings": {**vars(args), "seed_list": seeds, "train_images": len(x_train), "test_images": len(x_test),
                         "network": "conv3x3(16)-pool-conv3x3(32)-pool-dense(10)",
                         "bcnn": "BayesianCNN defaults: mean-field, standard normal prior, flipout, KL weight 1/n"},
            "results": results, "targets": targets, "targets_on": "the means over seeds",
            "runs": dict(zip(map(str, seeds), runs)),
        }, args.output)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
