"""Seconds per epoch of `Architecture.fit`'s default feeding against Keras' plain array path.

The same architecture and data are trained four ways, interleaved, in one run:
  - default: `model.fit(x, y)` as a user gets it (tf.data pipeline, steps_per_execution from compile);
  - default + XLA: the same, compiled with `jit_compile=True`;
  - tf.data only: the same pipeline with steps_per_execution=1;
  - keras arrays: `keras.Model.fit` on NumPy arrays with steps_per_execution=1 (Keras' generic path).

Usage: python benchmarks/fit_feeding.py [--architecture bnn] [--data SPEC] [--epochs N] [--repeats N]
"""

from __future__ import annotations

import argparse
import statistics

import keras

import tfp_arch
from harness import UCI, Stopwatch, print_table, write_result
from tfp_arch.runs import prepare_data

WINE = UCI / "wine-quality-red"


def _seconds_per_epoch(model, x, y, epochs: int, batch_size: int, plain: bool) -> float:
    fit = (lambda **kw: keras.Model.fit(model, x, y, **kw)) if plain else (lambda **kw: model.fit(x, y, **kw))
    fit(epochs=1, batch_size=batch_size, verbose=0)
    with Stopwatch() as watch:
        fit(epochs=epochs, batch_size=batch_size, verbose=0)
    return watch.seconds / epochs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--architecture", default="bnn")
    parser.add_argument("--data", default=f"uci:{WINE}#split=0" if WINE.is_dir() else None)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    cls = tfp_arch.get(args.architecture)
    dataset = prepare_data(cls, args.data)
    x, y = dataset.x_train, dataset.y_train
    variants = {
        "default": ({}, False),
        "default + XLA": ({"jit_compile": True}, False),
        "tf.data only": ({"steps_per_execution": 1}, False),
        "keras arrays": ({"steps_per_execution": 1}, True),
    }
    times = {name: [] for name in variants}
    for _ in range(args.repeats):
        for name, (compile_kwargs, plain) in variants.items():
            keras.utils.set_random_seed(0)
            model = cls(**cls.hyperparameters_for(dataset))
            model.compile(**compile_kwargs)
            model.adapt(x, y)
            times[name].append(_seconds_per_epoch(model, x, y, args.epochs, args.batch_size, plain))
    medians = {name: statistics.median(values) for name, values in times.items()}
    result = {
        "architecture": args.architecture,
        "data": dataset.name,
        "train_examples": int(len(x)),
        "batch_size": args.batch_size,
        "epochs_timed": args.epochs,
        "repeats": args.repeats,
        "median_seconds_per_epoch": medians,
        "speedup_of_default_over_keras_arrays": medians["keras arrays"] / medians["default"],
        "samples_seconds_per_epoch": times,
    }
    path = write_result("fit_feeding", result)
    print_table({name: {"ms / epoch": 1000 * value, "speed-up over keras arrays": medians["keras arrays"] / value}
                 for name, value in medians.items()}, ("ms / epoch", "speed-up over keras arrays"), title="feeding")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
