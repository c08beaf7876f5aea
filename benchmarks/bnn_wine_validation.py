"""Settings of the bnn architecture compared on validation splits of the wine training parts.

The test parts of the UCI splits are never touched: each training part of
`../shared/data/uci/wine-quality-red` (splits 0-5 by default) is cut 80/20 (seed 1000 + split) into a
fitting and a validation part. Every setting trains `BayesianMLP(hidden_units=[50])` with Adam on the
fitting part (`model.fit(x, y)` on raw arrays; the model standardises them) and reports validation
RMSE and log-likelihood (100 weight samples, original units) at a few epochs, mean over splits.
The base setting is the plugin's UCI default: heteroscedastic likelihood, local reparameterisation,
standard normal prior, ReLU, batch 32, learning rate 1e-3.

Usage:
    python benchmarks/bnn_wine_validation.py [--settings NAME ...] [--splits N] [--epochs N]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from bnn_uci import DATA, load_split  # noqa: E402
from common import write_result  # noqa: E402

BASE = {"likelihood": "heteroscedastic"}
SETTINGS = {
    "base": {},
    "prior empirical_bayes": {"prior": "empirical_bayes"},
    "prior normal 0.5": {"prior": "normal", "prior_scale": 0.5},
    "prior normal 2.0": {"prior": "normal", "prior_scale": 2.0},
    "prior scale_mixture": {"prior": "scale_mixture"},
    "activation tanh": {"activation": "tanh"},
    "activation elu": {"activation": "elu"},
    "activation silu": {"activation": "silu"},
    "activation gelu": {"activation": "gelu"},
    "activation softplus": {"activation": "softplus"},
    "batch 16": {"batch_size": 16},
    "batch 64": {"batch_size": 64},
    "batch 64, learning rate 2e-3": {"batch_size": 64, "learning_rate": 2e-3},
}
TRAINING_KEYS = ("batch_size", "learning_rate")


def fit_and_validation(split: int) -> tuple[np.ndarray, ...]:
    """The fitting and validation parts of one wine training part (its test part is not loaded)."""
    x, y, _, _ = load_split("wine-quality-red", split)
    order = np.random.default_rng(1000 + split).permutation(len(x))
    cut = int(0.8 * len(x))
    return x[order[:cut]], y[order[:cut]], x[order[cut:]], y[order[cut:]]


def run_setting(setting: dict, split: int, checkpoints: list[int]) -> dict[int, tuple[float, float]]:
    """Validation (RMSE, log-likelihood) of one setting on one split at each checkpoint epoch."""
    import keras

    from tfp_arch_plugins.bnn import BayesianMLP

    x, y, x_val, y_val = fit_and_validation(split)
    training = {key: setting[key] for key in TRAINING_KEYS if key in setting}
    keras.utils.set_random_seed(split)
    model = BayesianMLP(hidden_units=[50], **BASE, **{k: v for k, v in setting.items() if k not in TRAINING_KEYS})
    model.compile(optimizer=keras.optimizers.Adam(training.get("learning_rate", 1e-3)))
    scores: dict[int, tuple[float, float]] = {}

    class Checkpoints(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch + 1 in checkpoints:
                metrics = model.evaluate_metrics(x_val, y_val, seed=0)
                scores[epoch + 1] = (metrics["rmse"], metrics["log_likelihood"])

    model.fit(x, y, epochs=max(checkpoints), batch_size=training.get("batch_size", 32), verbose=0,
              callbacks=[Checkpoints()])
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", nargs="+", choices=list(SETTINGS), default=list(SETTINGS))
    parser.add_argument("--splits", type=int, default=6)
    parser.add_argument("--epochs", type=int, nargs="+", default=[40, 100], help="checkpoint epochs")
    args = parser.parse_args()
    if not (DATA / "wine-quality-red").is_dir():
        raise SystemExit(f"wine-quality-red not found under {DATA}")
    checkpoints = sorted(args.epochs)
    results = {}
    for name in args.settings:
        started = time.perf_counter()
        per_split = {split: run_setting(SETTINGS[name], split, checkpoints) for split in range(args.splits)}
        means = {epoch: [float(np.mean([per_split[s][epoch][i] for s in per_split])) for i in (0, 1)]
                 for epoch in checkpoints}
        results[name] = {"setting": SETTINGS[name], "mean": means,
                         "per_split": {s: {e: list(v) for e, v in scores.items()} for s, scores in per_split.items()}}
        summary = "  ".join(f"{e}: RMSE {m[0]:.4f} LL {m[1]:.4f}" for e, m in means.items())
        print(f"{name:<32} {summary}  ({time.perf_counter() - started:.0f} s)", flush=True)
    path = write_result("bnn_wine_validation", {
        "protocol": __doc__.split("\n\n")[1].replace("\n", " "),
        "base": {**BASE, "hidden_units": [50], "batch_size": 32, "learning_rate": 1e-3},
        "splits": args.splits,
        "format": "epoch: [validation RMSE, validation log-likelihood]",
        "results": results,
    })
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
