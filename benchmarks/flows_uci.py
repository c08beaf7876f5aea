"""Neural spline flows on UCI density estimation: tfp_arch's maf and nsf against zuko's NSF and MAF.

Every model gets what `maf_uci.py` gives: all columns, split 0, standardised on the training part,
5 transforms with 2 hidden layers of 100 ReLU units, order reversed between transforms, batch 100,
Adam with learning rate 1e-3, a fixed number of epochs, 2 CPU threads. The spline flows use 8 bins
on [-5, 5] (zuko's defaults). Models: `maf` (tfp_arch), `nsf_autoregressive` and `nsf_coupling`
(tfp_arch's `nsf`), `zuko_nsf` (autoregressive) and `zuko_maf`. Reported per run: test
log-likelihood (nats per example, standardised space), training examples per second (epochs after
the first) and samples per second (median of 3 timed draws of 10,000 after a warm-up draw).

The summary states the issue's targets per data set: nsf's log-likelihood minus maf's (goal
>= 0.1) and minus zuko NSF's (goal >= -0.05), nsf's training rate over zuko NSF's (goal >= 3) and
its sampling rate over zuko NSF's (goal >= 1).

Usage:
    python benchmarks/flows_uci.py [--epochs N] [--seeds N] [--max-train N] [--datasets NAME ...]
                                   [--models NAME ...] [--output PATH]

Requirements: benchmarks/requirements-maf.txt (torch, zuko), only for the zuko models.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from common import RESULTS, machine  # noqa: E402
from maf_uci import (  # noqa: E402
    BATCH,
    DATASETS,
    HIDDEN,
    LR,
    SAMPLES,
    THREADS,
    TRANSFORMS,
    _clean,
    _summary,
    load,
    measure_keras_flow,
    measure_zuko_flow,
)

BINS, BOUND = 8, 5.0
KEYS = ("test_log_likelihood", "train_examples_per_s", "samples_per_s")


def _ours(coupling: bool | None):
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
        return measure_keras_flow(model, x_train, x_test, epochs)

    return run


def _zuko(kind: str):
    """A runner of zuko's `NSF` or `MAF` with the same budget."""

    def run(x_train, x_test, epochs: int, seed: int) -> dict[str, float]:
        import torch
        import zuko

        torch.set_num_threads(THREADS)
        torch.manual_seed(seed)
        common = {"features": x_train.shape[1], "context": 0, "transforms": TRANSFORMS, "hidden_features": HIDDEN}
        flow = zuko.flows.NSF(bins=BINS, **common) if kind == "nsf" else zuko.flows.MAF(**common)
        return measure_zuko_flow(flow, x_train, x_test, epochs)

    return run


MODELS = {
    "maf": _ours(None),
    "nsf_autoregressive": _ours(False),
    "nsf_coupling": _ours(True),
    "zuko_nsf": _zuko("nsf"),
    "zuko_maf": _zuko("maf"),
}


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--max-train", type=int, default=None, help="subsample training rows (seeded)")
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=list(DATASETS))
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    parser.add_argument("--output", type=Path, default=RESULTS / "flows_uci.json", help="result file (JSON)")
    args = parser.parse_args()
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(THREADS)
    tf.config.threading.set_inter_op_parallelism_threads(THREADS)
    runs, summary = [], {}
    for name in args.datasets:
        x_train, x_test = load(name, args.max_train)
        summary[name] = {"dims": int(x_train.shape[1]), "n_train": len(x_train), "n_test": len(x_test)}
        per_model: dict[str, list[dict[str, float]]] = {model: [] for model in args.models}
        for seed in range(args.seeds):
            for model in args.models:
                gc.collect()
                result = MODELS[model](x_train, x_test, args.epochs, seed)
                result.update(dataset=name, model=model, seed=seed)
                runs.append(result)
                per_model[model].append(result)
                print(json.dumps(result), flush=True)
        for model, results in per_model.items():
            summary[name][model] = {key: _summary([r[key] for r in results]) for key in KEYS}
        summary[name]["targets"] = _targets(summary[name])
    output = {
        "benchmark": "flows_uci",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "config": {"datasets": list(args.datasets), "models": list(args.models), "split": 0, "epochs": args.epochs,
                   "seeds": args.seeds, "max_train": args.max_train, "transforms": TRANSFORMS, "hidden_units": HIDDEN,
                   "bins": BINS, "bound": BOUND, "batch_size": BATCH, "learning_rate": LR,
                   "samples_timed": SAMPLES, "threads": THREADS, "order_between_transforms": "reversed",
                   "log_likelihood_space": "standardised on the training part (nats per example)",
                   "train_rate": "examples/s over epochs 2..E (epoch 1 includes tracing)"},
        "machine": machine(),
        "summary": summary,
        "runs": runs,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(_clean(output), indent=2) + "\n")
    print(json.dumps(_clean(summary), indent=2))


if __name__ == "__main__":
    main()
