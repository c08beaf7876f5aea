"""tfp_arch's TFP-named layers on Keras 3 beside tfp.layers on tf_keras, trained in one run, interleaved.

Models:
- the five models of TFP's "Probabilistic Layers Regression" tutorial (cases 1-5), built by
  `examples/tfp_regression_tutorial.py`'s `build(case, keras, tfpl)` with (keras, tfp_arch.layers)
  and with (tf_keras, tfp.layers): the same code, the tutorial's data (150 points, seed 43) and
  150 held-out points from the same process;
- a `DenseFlipout` MNIST classifier (784-128-10, ReLU, KL divided by the training-set size through
  `kernel_divergence_fn`, softmax cross-entropy on the logits), trained on images 0..7,999 of
  `../shared/data/mnist` and tested on the other 2,000.

For every model and seed, ours and tf_keras' are trained one after the other (the order alternating
with the seed) at the same budget. Reported per model: the final training loss, the test metrics
(regression: NLL of the predictive mixture over 20 calls for the variational cases, RMSE of its mean;
MNIST: accuracy and NLL of the mean of 10 softmax draws) and the steady epoch time (median over the
epochs after the first, which includes tracing) with its ratio ours / tf_keras. A plain `Dense(1)`
regression with the squared error and no TFP layer, trained on the same data with each framework
(`baseline_plain_dense_mse`), gives the two frameworks' own epoch times: the share of a ratio that
is Keras 3's `fit` rather than the layers; at MNIST scale, `baseline_plain_dense_mnist` does the
same with the classifier's network made of plain `Dense` layers (784-128-10, same data, batch size,
optimizer and loss, no KL).

Usage:
    python benchmarks/tfp_layers_parity.py                       # writes benchmarks/results/tfp_layers_parity.json
    python benchmarks/tfp_layers_parity.py --seeds 3 --regression-epochs 300 --mnist-epochs 3
    python benchmarks/tfp_layers_parity.py --quick               # a smoke test, nothing written
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import (  # noqa: E402
    MNIST, epoch_timer, load_example, load_mnist, print_table, steady_median, summarize, tfp_frameworks, write_result,
)



def regression_run(tutorial: Any, case: int, keras_module: Any, tfpl: Any, epochs: int, seed: int) -> dict[str, float]:
    keras_module.utils.set_random_seed(seed)
    model, fit_kwargs = tutorial.build(case, keras_module, tfpl)
    timer = epoch_timer(keras_module.callbacks.Callback)
    result = {**tutorial.train(model, fit_kwargs, epochs, callbacks=[timer]), **tutorial.evaluate(model, case)}
    result["epoch_seconds"] = steady_median(timer.times)
    del result["seconds_per_epoch"]
    return result


def baseline_run(tutorial: Any, keras_module: Any, epochs: int, seed: int) -> dict[str, float]:
    """A plain `Dense(1)` with the squared error on the tutorial's data: the framework's own epoch time."""
    keras_module.utils.set_random_seed(seed)
    model = keras_module.Sequential([keras_module.layers.Dense(1)])
    model.compile(optimizer=keras_module.optimizers.Adam(learning_rate=0.01), loss="mse")
    timer = epoch_timer(keras_module.callbacks.Callback)
    model.fit(tutorial.x, tutorial.y, epochs=epochs, verbose=False, callbacks=[timer])
    return {"epoch_seconds": steady_median(timer.times)}


def mnist_baseline_run(data: tuple, keras_module: Any, epochs: int, seed: int, batch_size: int) -> dict[str, float]:
    """The MNIST network with plain `Dense` layers: the framework's own epoch time at MNIST scale."""
    x_train, y_train, _, _ = data
    keras_module.utils.set_random_seed(seed)
    model = keras_module.Sequential([
        keras_module.layers.InputLayer(input_shape=(784,)),
        keras_module.layers.Dense(128, activation="relu"),
        keras_module.layers.Dense(10),
    ])
    model.compile(optimizer=keras_module.optimizers.Adam(learning_rate=1e-3),
                  loss=keras_module.losses.SparseCategoricalCrossentropy(from_logits=True))
    timer = epoch_timer(keras_module.callbacks.Callback)
    history = model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size, verbose=0, callbacks=[timer])
    return {"final_loss": float(history.history["loss"][-1]), "epoch_seconds": steady_median(timer.times)}


def mnist_run(data: tuple, keras_module: Any, tfpl: Any, epochs: int, seed: int, batch_size: int) -> dict[str, float]:
    import tensorflow as tf
    import tensorflow_probability as tfp

    tfd = tfp.distributions
    x_train, y_train, x_test, y_test = data
    n = len(x_train)
    keras_module.utils.set_random_seed(seed)

    def divergence(q, p, _):
        return tfd.kl_divergence(q, p) / n

    model = keras_module.Sequential([
        keras_module.layers.InputLayer(input_shape=(784,)),
        tfpl.DenseFlipout(128, activation="relu", kernel_divergence_fn=divergence),
        tfpl.DenseFlipout(10, kernel_divergence_fn=divergence),
    ])
    model.compile(optimizer=keras_module.optimizers.Adam(learning_rate=1e-3),
                  loss=keras_module.losses.SparseCategoricalCrossentropy(from_logits=True))
    timer = epoch_timer(keras_module.callbacks.Callback)
    history = model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size, verbose=0, callbacks=[timer])
    probabilities = np.mean([tf.nn.softmax(model(x_test)).numpy() for _ in range(10)], axis=0)
    picked = np.clip(probabilities[np.arange(len(y_test)), y_test], 1e-12, None)
    return {"final_loss": float(history.history["loss"][-1]),
            "test_accuracy": float(np.mean(probabilities.argmax(axis=1) == y_test)),
            "test_nll": float(-np.mean(np.log(picked))),
            "epoch_seconds": steady_median(timer.times)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2, help="seeds 0, 1, ...")
    parser.add_argument("--regression-epochs", type=int, default=150)
    parser.add_argument("--mnist-epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128, help="MNIST batch size")
    parser.add_argument("--data", default=str(MNIST))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--output", default="tfp_layers_parity")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.regression_epochs, args.mnist_epochs = 1, 3, 2
    tutorial = load_example("tfp_regression_tutorial")
    frameworks = tfp_frameworks()
    mnist = load_mnist(args.data, "train=8000&binarize=none&task=classification")
    data = (mnist.x_train.reshape(len(mnist.x_train), -1).astype("float32"), mnist.y_train.astype("int64"),
            mnist.x_test.reshape(len(mnist.x_test), -1).astype("float32"), mnist.y_test.astype("int64"))
    if args.quick:
        data = (data[0][:1000], data[1][:1000], data[2][:300], data[3][:300])

    models = ["baseline_plain_dense_mse"] + [f"regression_case_{case}" for case in tutorial.CASES]
    models += ["baseline_plain_dense_mnist", "mnist_dense_flipout"]
    runs: dict[str, dict[str, list[dict[str, float]]]] = {model: {"ours": [], "tf_keras": []} for model in models}
    for seed in range(args.seeds):
        order = ["ours", "tf_keras"] if seed % 2 == 0 else ["tf_keras", "ours"]
        for model in models:
            for name in order:
                keras_module, tfpl = frameworks[name]
                if model == "baseline_plain_dense_mnist":
                    result = mnist_baseline_run(data, keras_module, args.mnist_epochs, seed, args.batch_size)
                elif model.startswith("baseline"):
                    result = baseline_run(tutorial, keras_module, args.regression_epochs, seed)
                elif model.startswith("regression"):
                    case = int(model.rsplit("_", 1)[1])
                    result = regression_run(tutorial, case, keras_module, tfpl, args.regression_epochs, seed)
                else:
                    result = mnist_run(data, keras_module, tfpl, args.mnist_epochs, seed, args.batch_size)
                runs[model][name].append(result)
                values = ", ".join(f"{k} {v:.4g}" for k, v in result.items())
                print(f"seed {seed} {model} {name}: {values}", flush=True)

    results: dict[str, Any] = {}
    for model, by_framework in runs.items():
        row: dict[str, Any] = {}
        for name, seeds in by_framework.items():
            row[name] = {metric: summarize([run[metric] for run in seeds]) for metric in seeds[0]}
        ratios = [ours["epoch_seconds"] / theirs["epoch_seconds"]
                  for ours, theirs in zip(by_framework["ours"], by_framework["tf_keras"], strict=True)]
        row["epoch_time_ratio_ours_over_tf_keras"] = summarize(ratios)
        results[model] = row
    table = {f"{model} {name}": {metric: value["mean"] for metric, value in row[name].items()}
             for model, row in results.items() for name in ("ours", "tf_keras")}
    columns = ("final_loss", "test_nll", "test_rmse", "test_accuracy", "epoch_seconds")
    print_table(table, columns, title="model")
    mean_ratios = {model: {"ratio": row["epoch_time_ratio_ours_over_tf_keras"]["mean"]}
                   for model, row in results.items()}
    print_table(mean_ratios,
                ("ratio",), title="epoch time ours / tf_keras")
    if not args.quick:
        path = write_result("tfp_layers_parity", {
            "settings": {**vars(args), "seed_list": list(range(args.seeds)), "train_images": len(data[0]),
                         "test_images": len(data[2]), "regression_points": {"train": 150, "test": 150},
                         "mnist_network": "784-DenseFlipout(128, relu)-DenseFlipout(10), KL / n",
                         "regression_models": "examples/tfp_regression_tutorial.py build(case, keras, tfpl)",
                         "interleaving": "per model: ours then tf_keras on even seeds, the reverse on odd seeds"},
            "results": results,
            "runs": runs,
        }, args.output)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
