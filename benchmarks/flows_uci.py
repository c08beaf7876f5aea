"""Neural spline flows on UCI density estimation: tfp_arch's maf and nsf against zuko's NSF and MAF.

Every model gets the same data (all columns, split 0, standardised on the training part), 5
transforms with 2 hidden layers of 100 ReLU units, order reversed between transforms, batch 100,
Adam with learning rate 1e-3, a fixed number of epochs, 2 CPU threads. The spline flows use 8 bins
on [-5, 5] (zuko's defaults). Models: `maf` (tfp_arch), `nsf_autoregressive` and `nsf_coupling`
(tfp_arch's `nsf`), `zuko_nsf` (autoregressive) and `zuko_maf`; also `tfp_tf_keras` and
`tfp_tf_keras_documented`, TFP's `AutoregressiveNetwork` + `MaskedAutoregressiveFlow` on tf_keras fed
like tfp_arch (tf.data, 32 steps per execution) and as that docstring trains it (NumPy arrays,
default compile), which `maf_uci.py` runs beside `maf`. Reported per run: test log-likelihood (nats
per example, standardised space), training examples per second (epochs after the first) and samples
per second (median of 3 timed draws of 10,000 after a warm-up draw). Garbage is collected before each
run, outside the timings.

The summary states the issue's targets per data set: nsf's log-likelihood minus maf's (goal
>= 0.1) and minus zuko NSF's (goal >= -0.05), nsf's training rate over zuko NSF's (goal >= 3) and
its sampling rate over zuko NSF's (goal >= 1).

Usage:
    python benchmarks/flows_uci.py [--epochs N] [--seeds N] [--max-train N] [--datasets NAME ...]
                                   [--models NAME ...] [--output PATH]

Requirements: benchmarks/requirements-maf.txt (torch, zuko), only for the zuko models. PyTorch gets
`OMP_WAIT_POLICY=PASSIVE`: on a shared 2-core machine its spinning OpenMP threads otherwise slow
zuko down by two orders of magnitude.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
from pathlib import Path
from typing import Callable, Mapping

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
from harness import (  # noqa: E402
    Stopwatch, epoch_timer, limit_threads, load_uci, median_seconds, pipeline, print_table, standardise, steady_rate,
    subsample, summarize, write_result,
)

DATASETS = ("power-plant", "protein-tertiary-structure")
THREADS = 2
TRANSFORMS, HIDDEN, BATCH, LR = 5, [100, 100], 100, 1e-3
SAMPLES, SAMPLE_REPEATS = 10000, 3
BINS, BOUND = 8, 5.0
KEYS = ("test_log_likelihood", "train_examples_per_s", "samples_per_s")
CONFIG = {"split": 0, "transforms": TRANSFORMS, "hidden_units": HIDDEN, "batch_size": BATCH, "learning_rate": LR,
          "samples_timed": SAMPLES, "threads": THREADS, "order_between_transforms": "reversed",
          "log_likelihood_space": "standardised on the training part (nats per example)",
          "train_rate": "examples/s over epochs 2..E (epoch 1 includes tracing)"}

Runner = Callable[[np.ndarray, np.ndarray, int, int], dict[str, float]]


def load(name: str, max_train: int | None) -> tuple[np.ndarray, np.ndarray]:
    """All columns of a UCI set, split 0 (at most `max_train` training rows, seed 0), standardised on
    the training part."""
    data = load_uci(name, split=0).as_unsupervised()
    x_train = data.x_train[subsample(len(data.x_train), max_train, seed=0)]
    x_train, x_test, _, _ = standardise(x_train, data.x_test)
    return x_train, x_test


def _measured(log_likelihood: float, epoch_times: list[float], n_train: int, draw: Callable) -> dict[str, float]:
    sample_rate = SAMPLES / median_seconds(draw, SAMPLE_REPEATS, warmup=True)
    return {"test_log_likelihood": log_likelihood, "train_examples_per_s": steady_rate(epoch_times, n_train),
            "samples_per_s": sample_rate}


def _ours(coupling: bool | None) -> Runner:
    """A runner of tfp_arch's `maf` (coupling None) or `nsf` (autoregressive or coupling)."""

    def run(x_train, x_test, epochs: int, seed: int) -> dict[str, float]:
        import keras

        from tfp_arch.plugins.maf import MaskedAutoregressiveFlowModel
        from tfp_arch.plugins.nsf import NeuralSplineFlowModel

        keras.utils.set_random_seed(seed)
        common = {"num_transforms": TRANSFORMS, "hidden_units": HIDDEN, "seed": seed}
        if coupling is None:
            model = MaskedAutoregressiveFlowModel(**common)
        else:
            model = NeuralSplineFlowModel(coupling=coupling, bins=BINS, bound=BOUND, **common)
        timer = epoch_timer()
        model.fit(x_train, epochs=epochs, batch_size=BATCH, verbose=0, callbacks=[timer])
        log_likelihood = model.evaluate_metrics(x_test)["log_likelihood_standardized"]
        return _measured(log_likelihood, timer.times, len(x_train), lambda: model.sample(SAMPLES, seed=1))

    return run


def _tfp_tf_keras(documented: bool) -> Runner:
    """A runner of TFP's masked autoregressive flow on tf_keras, fed like tfp_arch or as documented."""

    def run(x_train, x_test, epochs: int, seed: int) -> dict[str, float]:
        import tensorflow as tf
        import tensorflow_probability as tfp
        import tf_keras

        tfb, tfd = tfp.bijectors, tfp.distributions
        tf_keras.utils.set_random_seed(seed)
        dims = x_train.shape[1]
        steps = []
        for index in range(TRANSFORMS):
            network = tfb.AutoregressiveNetwork(params=2, hidden_units=HIDDEN, activation="relu")
            steps.append(tfb.MaskedAutoregressiveFlow(shift_and_log_scale_fn=network))
            if index < TRANSFORMS - 1:
                steps.append(tfb.Permute(list(reversed(range(dims)))))
        distribution = tfd.TransformedDistribution(
            tfd.MultivariateNormalDiag(loc=tf.zeros(dims)), tfb.Chain(list(reversed(steps)))
        )
        inputs = tf_keras.layers.Input(shape=(dims,), dtype=tf.float32)
        model = tf_keras.Model(inputs, distribution.log_prob(inputs))
        timer = epoch_timer(tf_keras.callbacks.Callback)
        empty = np.zeros((len(x_train), 0), "float32")
        model.compile(optimizer=tf_keras.optimizers.Adam(LR), loss=lambda _, log_prob: -log_prob,
                      **({} if documented else {"steps_per_execution": 32}))
        if documented:
            model.fit(x_train, empty, batch_size=BATCH, epochs=epochs, shuffle=True, verbose=0, callbacks=[timer])
        else:
            model.fit(pipeline(x_train, empty, BATCH, seed), epochs=epochs, verbose=0, callbacks=[timer])
        log_prob = tf.function(distribution.log_prob)
        log_likelihood = float(np.mean(np.concatenate(
            [log_prob(x_test[i:i + 4096]).numpy() for i in range(0, len(x_test), 4096)])))
        sample = tf.function(lambda: distribution.sample(SAMPLES, seed=seed))
        return _measured(log_likelihood, timer.times, len(x_train), lambda: sample().numpy())

    return run


def _zuko(kind: str) -> Runner:
    """A runner of zuko's `NSF` or `MAF`, trained with Adam in eager PyTorch on the same budget."""

    def run(x_train, x_test, epochs: int, seed: int) -> dict[str, float]:
        import torch
        import zuko

        torch.set_num_threads(THREADS)
        torch.manual_seed(seed)
        common = {"features": x_train.shape[1], "context": 0, "transforms": TRANSFORMS, "hidden_features": HIDDEN}
        flow = zuko.flows.NSF(bins=BINS, **common) if kind == "nsf" else zuko.flows.MAF(**common)
        optimizer = torch.optim.Adam(flow.parameters(), lr=LR)
        data = torch.from_numpy(x_train)
        times = []
        for _ in range(epochs):
            with Stopwatch() as watch:
                for batch in torch.randperm(len(data)).split(BATCH):
                    loss = -flow().log_prob(data[batch]).mean()
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
            times.append(watch.seconds)
        with torch.no_grad():
            log_likelihood = float(flow().log_prob(torch.from_numpy(x_test)).mean())
            return _measured(log_likelihood, times, len(x_train), lambda: flow().sample((SAMPLES,)))

    return run


MODELS: dict[str, Runner] = {
    "maf": _ours(None),
    "nsf_autoregressive": _ours(False),
    "nsf_coupling": _ours(True),
    "zuko_nsf": _zuko("nsf"),
    "zuko_maf": _zuko("maf"),
    "tfp_tf_keras": _tfp_tf_keras(documented=False),
    "tfp_tf_keras_documented": _tfp_tf_keras(documented=True),
}
SPLINE_COMPARISON = ("maf", "nsf_autoregressive", "nsf_coupling", "zuko_nsf", "zuko_maf")


def flow_summary(values: list[float]) -> dict[str, float]:
    """`summarize(values)` with `sem`, the name the flow results have always given the standard error."""
    summary = summarize(values)
    return {**summary, "sem": summary["stderr"]}


def run(datasets: list[str], models: Mapping[str, str], seeds: int, epochs: int, max_train: int | None,
        label: str = "model") -> tuple[list[dict], dict[str, dict]]:
    """Train and measure every model on every data set for seeds 0..seeds-1.

    Args:
        datasets: UCI set names.
        models: the name a result gives each model (its `label`), mapped to a key of `MODELS`.
        seeds: how many seeds.
        epochs: epochs of every run.
        max_train: at most this many training rows (seeded subsample), or None for all.
        label: the key that names the model in each run's record.

    Returns:
        Every run's record, and per data set its sizes and per model the summaries of `KEYS`.
    """
    limit_threads(THREADS)
    runs, summary = [], {}
    for name in datasets:
        x_train, x_test = load(name, max_train)
        summary[name] = {"dims": int(x_train.shape[1]), "n_train": len(x_train), "n_test": len(x_test)}
        per_model: dict[str, list[dict[str, float]]] = {model: [] for model in models}
        for seed in range(seeds):
            for model, key in models.items():
                gc.collect()
                result = MODELS[key](x_train, x_test, epochs, seed)
                result.update({"dataset": name, label: model, "seed": seed})
                runs.append(result)
                per_model[model].append(result)
                print(json.dumps(result), flush=True)
        for model, results in per_model.items():
            summary[name][model] = {key: flow_summary([r[key] for r in results]) for key in KEYS}
    return runs, summary


def _targets(summary: dict) -> dict[str, float]:
    """The issue's goals as measured differences and ratios of means (only for models that ran)."""
    mean = {model: {key: summary[model][key]["mean"] for key in KEYS} for model in MODELS if model in summary}
    out = {}
    for nsf in ("nsf_autoregressive", "nsf_coupling"):
        if nsf not in mean:
            continue
        if "maf" in mean:
            out[f"{nsf}_log_likelihood_minus_maf"] = mean[nsf]["test_log_likelihood"] - mean["maf"]["test_log_likelihood"]
        if "zuko_nsf" in mean:
            zuko = mean["zuko_nsf"]
            out[f"{nsf}_log_likelihood_minus_zuko_nsf"] = mean[nsf]["test_log_likelihood"] - zuko["test_log_likelihood"]
            out[f"{nsf}_train_rate_over_zuko_nsf"] = mean[nsf]["train_examples_per_s"] / zuko["train_examples_per_s"]
            out[f"{nsf}_sample_rate_over_zuko_nsf"] = mean[nsf]["samples_per_s"] / zuko["samples_per_s"]
    return out


def print_summary(summary: dict, models: list[str]) -> None:
    """One table per data set: the models' summaries of `KEYS`."""
    for name, measured in summary.items():
        print(f"{name} ({measured['dims']}-D, {measured['n_train']} training rows)")
        print_table({model: measured[model] for model in models}, KEYS, title="model")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--max-train", type=int, default=None, help="subsample training rows (seeded)")
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=list(DATASETS))
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(SPLINE_COMPARISON))
    parser.add_argument("--output", type=Path, default=None, help="result file (default: results/flows_uci.json)")
    args = parser.parse_args()
    runs, summary = run(args.datasets, {model: model for model in args.models}, args.seeds, args.epochs,
                        args.max_train)
    for measured in summary.values():
        measured["targets"] = _targets(measured)
    config = {"datasets": list(args.datasets), "models": list(args.models), "epochs": args.epochs,
              "seeds": args.seeds, "max_train": args.max_train, "bins": BINS, "bound": BOUND, **CONFIG}
    path = write_result("flows_uci", {"config": config, "summary": summary, "runs": runs}, args.output)
    print_summary(summary, args.models)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
