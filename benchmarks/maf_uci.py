"""Density estimation on UCI data: tfp_arch's MAF against TFP on tf_keras and zuko (PyTorch).

Every implementation gets the same data (all columns, split 0, standardised on the training part),
the same flow (5 MADE transforms, 2 hidden layers of 100 ReLU units, order reversed between
transforms), the same budget (batch 100, Adam with learning rate 1e-3, a fixed number of epochs)
and 2 CPU threads. Reported per run: test log-likelihood (nats per example, standardised space),
training examples per second (epochs after the first, so tracing is not counted) and samples per
second (median of 3 timed draws after a warm-up draw).

Garbage is collected before each run, outside the timings, so that no run pays for the last one's.
Training rates are means over epochs 2..E, so an occasional stall inside `fit` (2-5 s, seen in about
one epoch in 50-100 with XLA on this machine) counts against the run it hits.

TFP on tf_keras runs twice: fed like tfp_arch (a shuffled tf.data pipeline, 32 steps per execution;
`tfp_tf_keras`) and as `tfb.AutoregressiveNetwork`'s docstring trains it (NumPy arrays, default
compile; `tfp_tf_keras_documented`).

Usage:
    python benchmarks/maf_uci.py [--quick] [--epochs N] [--seeds N] [--max-train N] [--datasets NAME ...]
                                 [--peers [NAME ...]] [--name NAME]

Requirements: benchmarks/requirements-maf.txt (torch, zuko), only for this script. PyTorch gets
`OMP_WAIT_POLICY=PASSIVE`: on a shared 2-core machine its spinning OpenMP threads otherwise slow
zuko down by two orders of magnitude.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "uci"
RESULTS = ROOT / "benchmarks" / "results"
DATASETS = ("power-plant", "protein-tertiary-structure")
THREADS = 2
TRANSFORMS, HIDDEN, BATCH, LR = 5, [100, 100], 100, 1e-3
SAMPLES = 10000
SAMPLE_REPEATS = 3


def load(name: str, max_train: int | None) -> tuple[np.ndarray, np.ndarray]:
    """All columns of a UCI folder, split 0, standardised with the training part's statistics."""
    folder = DATA / name
    data = np.loadtxt(folder / "data.txt")
    train = np.loadtxt(folder / "index_train_0.txt", dtype=int)
    test = np.loadtxt(folder / "index_test_0.txt", dtype=int)
    if max_train is not None and len(train) > max_train:
        train = np.random.default_rng(0).choice(train, max_train, replace=False)
    mean, std = data[train].mean(axis=0), data[train].std(axis=0)
    std[std == 0] = 1.0
    scaled = ((data - mean) / std).astype("float32")
    return scaled[train], scaled[test]


def _sample_rate(draw) -> float:
    """Samples per second: one warm-up draw, then the median of `SAMPLE_REPEATS` timed draws."""
    draw()
    times = []
    for _ in range(SAMPLE_REPEATS):
        start = time.perf_counter()
        draw()
        times.append(time.perf_counter() - start)
    return SAMPLES / float(np.median(times))


def _epoch_rate(times: list[float], n: int) -> float:
    later = times[1:] if len(times) > 1 else times
    return n * len(later) / sum(later)


def measure_keras_flow(model, x_train, x_test, epochs: int) -> dict[str, float]:
    """Fit a tfp_arch flow model (`maf`, `nsf`) and measure it: the three numbers of a run."""
    import keras

    timer = _KerasEpochTimer(keras.callbacks.Callback)
    model.fit(x_train, epochs=epochs, batch_size=BATCH, verbose=0, callbacks=[timer.callback])
    log_likelihood = model.evaluate_metrics(x_test)["log_likelihood_standardized"]
    sample_rate = _sample_rate(lambda: model.sample(SAMPLES, seed=1))
    return {"test_log_likelihood": log_likelihood, "train_examples_per_s": _epoch_rate(timer.times, len(x_train)),
            "samples_per_s": sample_rate}


def run_tfp_arch(x_train, x_test, epochs: int, seed: int) -> dict[str, float]:
    import keras

    from tfp_arch.plugins.maf import MaskedAutoregressiveFlowModel

    keras.utils.set_random_seed(seed)
    model = MaskedAutoregressiveFlowModel(num_transforms=TRANSFORMS, hidden_units=HIDDEN, seed=seed)
    return measure_keras_flow(model, x_train, x_test, epochs)


def _run_tf_keras(x_train, x_test, epochs: int, seed: int, documented: bool) -> dict[str, float]:
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
    timer = _KerasEpochTimer(tf_keras.callbacks.Callback)
    empty = np.zeros((len(x_train), 0), "float32")
    model.compile(optimizer=tf_keras.optimizers.Adam(LR), loss=lambda _, log_prob: -log_prob,
                  **({} if documented else {"steps_per_execution": 32}))
    if documented:
        model.fit(x_train, empty, batch_size=BATCH, epochs=epochs, shuffle=True, verbose=0, callbacks=[timer.callback])
    else:
        dataset = (tf.data.Dataset.from_tensor_slices((x_train, empty))
                   .shuffle(len(x_train), seed=seed).batch(BATCH).prefetch(tf.data.AUTOTUNE))
        model.fit(dataset, epochs=epochs, verbose=0, callbacks=[timer.callback])
    log_prob = tf.function(distribution.log_prob)
    log_likelihood = float(np.mean(np.concatenate(
        [log_prob(x_test[i:i + 4096]).numpy() for i in range(0, len(x_test), 4096)])))
    sample = tf.function(lambda: distribution.sample(SAMPLES, seed=seed))
    sample_rate = _sample_rate(lambda: sample().numpy())
    return {"test_log_likelihood": log_likelihood, "train_examples_per_s": _epoch_rate(timer.times, len(x_train)),
            "samples_per_s": sample_rate}


def run_tf_keras(x_train, x_test, epochs: int, seed: int) -> dict[str, float]:
    """TFP on tf_keras, fed like tfp_arch: a shuffled tf.data pipeline and 32 steps per execution."""
    return _run_tf_keras(x_train, x_test, epochs, seed, documented=False)


def run_tf_keras_documented(x_train, x_test, epochs: int, seed: int) -> dict[str, float]:
    """TFP on tf_keras as `tfb.AutoregressiveNetwork`'s docstring trains it: NumPy arrays, default compile."""
    return _run_tf_keras(x_train, x_test, epochs, seed, documented=True)


def measure_zuko_flow(flow, x_train, x_test, epochs: int) -> dict[str, float]:
    """Train a zuko flow with Adam in eager PyTorch and measure it: the three numbers of a run."""
    import torch

    optimizer = torch.optim.Adam(flow.parameters(), lr=LR)
    data = torch.from_numpy(x_train)
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        for batch in torch.randperm(len(data)).split(BATCH):
            loss = -flow().log_prob(data[batch]).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        times.append(time.perf_counter() - start)
    with torch.no_grad():
        log_likelihood = float(flow().log_prob(torch.from_numpy(x_test)).mean())
        sample_rate = _sample_rate(lambda: flow().sample((SAMPLES,)))
    return {"test_log_likelihood": log_likelihood, "train_examples_per_s": _epoch_rate(times, len(x_train)),
            "samples_per_s": sample_rate}


def run_zuko(x_train, x_test, epochs: int, seed: int) -> dict[str, float]:
    import torch
    import zuko

    torch.set_num_threads(THREADS)
    torch.manual_seed(seed)
    flow = zuko.flows.MAF(features=x_train.shape[1], context=0, transforms=TRANSFORMS, hidden_features=HIDDEN)
    return measure_zuko_flow(flow, x_train, x_test, epochs)


class _KerasEpochTimer:
    """Wall time of every epoch, for Keras 3 or tf_keras callbacks."""

    def __init__(self, base: type) -> None:
        self.times: list[float] = []
        timer = self

        class Callback(base):
            def on_epoch_begin(self, epoch, logs=None):
                timer._start = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                timer.times.append(time.perf_counter() - timer._start)

        self.callback = Callback()


PEERS = {"tfp_arch": run_tfp_arch, "tfp_tf_keras": run_tf_keras,
         "tfp_tf_keras_documented": run_tf_keras_documented, "zuko": run_zuko}
REFERENCES = [peer for peer in PEERS if peer != "tfp_arch"]


def _clean(value):
    """JSON-safe copy: non-finite floats (a diverged log-likelihood) become strings."""
    if isinstance(value, dict):
        return {key: _clean(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_clean(item) for item in value]
    if isinstance(value, float) and not np.isfinite(value):
        return str(value)
    return value


def _summary(values: list[float]) -> dict[str, float]:
    array = np.asarray(values, dtype=float)
    if not np.all(np.isfinite(array)):
        return {"mean": float(array.mean()), "sem": float("nan"), "std": float("nan"),
                "non_finite_runs": int(np.sum(~np.isfinite(array)))}
    sem = float(array.std(ddof=1) / np.sqrt(len(array))) if len(array) > 1 else float("nan")
    return {"mean": float(array.mean()), "sem": sem, "std": float(array.std(ddof=1)) if len(array) > 1 else 0.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 epoch-pair, 1 seed, 3000 training rows")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--max-train", type=int, default=None, help="subsample training rows (seeded)")
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=list(DATASETS))
    parser.add_argument("--name", default="maf_uci", help="result file benchmarks/results/NAME.json "
                        "(an absolute NAME writes NAME.json there instead)")
    parser.add_argument("--peers", nargs="*", choices=REFERENCES, default=REFERENCES,
                        help="references to run (none: `--peers` alone runs tfp_arch only)")
    args = parser.parse_args()
    if args.quick:
        args.epochs, args.seeds, args.max_train = 2, 1, 3000
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(THREADS)
    tf.config.threading.set_inter_op_parallelism_threads(THREADS)
    runs, summary = [], {}
    for name in args.datasets:
        x_train, x_test = load(name, args.max_train)
        summary[name] = {"dims": int(x_train.shape[1]), "n_train": len(x_train), "n_test": len(x_test)}
        peers = ["tfp_arch", *args.peers]
        per_peer: dict[str, list[dict[str, float]]] = {peer: [] for peer in peers}
        for seed in range(args.seeds):
            for peer in peers:
                gc.collect()
                result = PEERS[peer](x_train, x_test, args.epochs, seed)
                result.update(dataset=name, implementation=peer, seed=seed)
                runs.append(result)
                per_peer[peer].append(result)
                print(json.dumps(result), flush=True)
        for peer, results in per_peer.items():
            summary[name][peer] = {key: _summary([r[key] for r in results])
                                   for key in ("test_log_likelihood", "train_examples_per_s", "samples_per_s")}
        ours = summary[name]["tfp_arch"]
        summary[name]["ratios"] = {
            f"{key}_vs_{peer}": ours[key]["mean"] / summary[name][peer][key]["mean"]
            for peer in args.peers for key in ("train_examples_per_s", "samples_per_s")
        }
        summary[name]["log_likelihood_difference"] = {
            f"vs_{peer}": ours["test_log_likelihood"]["mean"] - summary[name][peer]["test_log_likelihood"]["mean"]
            for peer in args.peers
        }
    torch = __import__("torch") if "zuko" in args.peers else None
    output = {
        "benchmark": "maf_uci",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "config": {"datasets": list(args.datasets), "peers": list(args.peers), "split": 0, "epochs": args.epochs, "seeds": args.seeds,
                   "max_train": args.max_train, "transforms": TRANSFORMS, "hidden_units": HIDDEN,
                   "batch_size": BATCH, "learning_rate": LR, "samples_timed": SAMPLES, "threads": THREADS,
                   "order_between_transforms": "reversed", "quick": args.quick,
                   "compilation": "tfp_arch: plugin defaults (XLA on a single GPU only, steps_per_execution=32); "
                                  "tfp_tf_keras: tf_keras defaults (no XLA), tf.data and steps_per_execution=32; "
                                  "tfp_tf_keras_documented: NumPy arrays and default compile, as TFP's "
                                  "AutoregressiveNetwork docstring; zuko: eager",
                   "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
                   "sample_rate": f"{SAMPLES} samples per draw, median of {SAMPLE_REPEATS} draws after a warm-up",
                   "log_likelihood_space": "standardised on the training part (nats per example)",
                   "train_rate": "examples/s over epochs 2..E (epoch 1 includes tracing)"},
        "machine": {"platform": platform.platform(), "processor": platform.processor(), "cpus": os.cpu_count(),
                    "python": platform.python_version(), "tensorflow": tf.__version__, "torch": torch.__version__ if torch else None},
        "summary": summary,
        "runs": runs,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(_clean(output), indent=2) + "\n")
    print(json.dumps(_clean(summary), indent=2))


if __name__ == "__main__":
    main()
