"""Sampling throughput side by side: tfp_arch's maf against nsf (autoregressive and coupling) per dimension.

Every model has the architecture of `flows_uci.py` (5 transforms of 2 hidden layers of 100 ReLU
units, order reversed between transforms; 8 bins on [-5, 5] for the splines), is built and adapted
on synthetic data of `D` correlated Gaussian columns (seeded; no training: sampling costs the same
for any weights) and draws 10,000 samples per timed call through `model.sample`, on 2 CPU threads.
After one warm-up draw per model (which traces), the models are timed in interleaved rounds (every
round draws once from each model, in turn), so that a change in the machine's load reaches all of
them alike; a model's rate is `10,000 / median seconds` over the rounds. Reported per `D`: samples/s
of each model and the ratios of the spline flows' rates over maf's.

Usage:
    python benchmarks/flows_sampling.py [--dims D ...] [--rounds N] [--samples N] [--models NAME ...]
                                        [--output PATH]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from harness import Stopwatch, limit_threads, print_table, write_result  # noqa: E402

THREADS = 2
TRANSFORMS, HIDDEN, BINS, BOUND = 5, [100, 100], 8, 5.0
MODELS = ("maf", "nsf_autoregressive", "nsf_coupling")
SPLINES = ("nsf_autoregressive", "nsf_coupling")


def synthetic(dims: int, rows: int = 2000, seed: int = 0) -> np.ndarray:
    """`rows` draws of a `dims`-variate Gaussian with a seeded random covariance, float32."""
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(dims, dims)) / np.sqrt(dims)
    return (rng.normal(size=(rows, dims)) @ mixing + rng.normal(size=dims)).astype("float32")


def build(name: str, data: np.ndarray, seed: int = 0):
    """The model `name`, built and adapted on `data` (untrained)."""
    from tfp_arch.plugins.maf import MaskedAutoregressiveFlowModel
    from tfp_arch.plugins.nsf import NeuralSplineFlowModel

    common = {"num_transforms": TRANSFORMS, "hidden_units": HIDDEN, "seed": seed}
    if name == "maf":
        model = MaskedAutoregressiveFlowModel(**common)
    else:
        model = NeuralSplineFlowModel(coupling=name == "nsf_coupling", bins=BINS, bound=BOUND, **common)
    model.adapt(data)
    return model


def measure(dims: int, models: list[str], rounds: int, samples: int) -> dict:
    """Median seconds and samples/s of every model at `dims`, over interleaved rounds after a warm-up."""
    data = synthetic(dims)
    built = {name: build(name, data) for name in models}
    compile_seconds = {}
    for name, model in built.items():
        with Stopwatch() as watch:
            model.sample(samples, seed=1)
        compile_seconds[name] = watch.seconds
    times: dict[str, list[float]] = {name: [] for name in models}
    for round_index in range(rounds):
        for name, model in built.items():
            gc.collect()
            with Stopwatch() as watch:
                model.sample(samples, seed=round_index + 2)
            times[name].append(watch.seconds)
    result = {"dims": dims}
    for name in models:
        median = float(np.median(times[name]))
        result[name] = {"samples_per_s": samples / median, "median_seconds": median, "seconds": times[name],
                        "first_draw_seconds": compile_seconds[name]}
    if "maf" in models:
        for name in SPLINES:
            if name in models:
                result[f"{name}_over_maf"] = result[name]["samples_per_s"] / result["maf"]["samples_per_s"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", type=int, nargs="+", default=[5, 10, 20])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--samples", type=int, default=10000)
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--output", type=Path, default=None, help="result file (default: results/flows_sampling.json)")
    args = parser.parse_args()
    limit_threads(THREADS)
    results = []
    for dims in args.dims:
        result = measure(dims, args.models, args.rounds, args.samples)
        print(json.dumps({key: value for key, value in result.items() if not isinstance(value, dict)}), flush=True)
        results.append(result)
    rows = {}
    for result in results:
        row = {f"{name} samples/s": result[name]["samples_per_s"] for name in args.models}
        row.update({f"{name} / maf": result[f"{name}_over_maf"] for name in SPLINES if f"{name}_over_maf" in result})
        rows[f"D={result['dims']}"] = row
    columns = list(next(iter(rows.values())))
    print_table(rows, columns, title="D")
    config = {"dims": args.dims, "models": args.models, "rounds": args.rounds, "samples": args.samples,
              "transforms": TRANSFORMS, "hidden_units": HIDDEN, "bins": BINS, "bound": BOUND, "threads": THREADS,
              "data": "synthetic correlated Gaussian, 2,000 rows (adapt only, untrained models)",
              "rate": "samples / median seconds of the timed draws (interleaved rounds, after one warm-up draw)"}
    path = write_result("flows_sampling", {"config": config, "results": results}, args.output)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
