"""Settings of the bnn architecture compared on validation cuts of several UCI sets at once.

The test parts of the UCI splits are never touched: each training part (splits 0..S-1) is cut 80/20
(seed 1000 + split) into a fitting and a validation part. Every setting trains `BayesianMLP` with the
protocol's width and epochs on the fitting part (`model.fit(x, y)` on raw arrays, as a user would) and
reports validation RMSE, log-likelihood (100 weight samples, original units) and 90% coverage. Besides
the five sets at full size, `@N` cases train on a random N-row subset of the fitting part of a set
(seed 2000 + split), so that defaults are also chosen for data sizes the project has no set of
(a few hundred rows), and Friedman's first function (smooth, non-linear, noise 1) stands for the small
UCI sets that are not in ../shared/data. The reference `tf_keras` row is `tfp.layers.DenseVariational`
as TFP's regression tutorial trains it (Adam 0.01), with the same network, posterior initialisation
and prior; "tf_keras tutorial" uses the tutorial's own posterior and prior functions.

The settings: `default` (the peak learning rate 0.4/sqrt(steps) within [1e-3, 0.02] with cosine decay,
posterior scales capped at 0.006 per step, beta-NLL with beta 0.5), the previous release's constant 1e-3,
a constant 1e-2, the budget rule with scales at the means' rate, a fixed 0.02 peak, and beta-NLL's beta
(`variance_weighting`) at 0 (the ELBO itself, the default before beta-NLL) and 1. Results written before
beta-NLL (`bnn_validation.json`) have the ELBO as their `default`; `bnn_validation_variance_weighting.json`
compares the three betas. Also tried on these cuts and
not kept: smaller batches on small data (wider intervals), priors scaled by 1/sqrt(fan-in) and
empirical-Bayes priors (no gain), KL warm-up and tempered KL weights (no gain in fit at 300 rows),
initial scales 0.6/sqrt(n) (no change in calibration).

Usage:
    python benchmarks/bnn_validation.py [--settings NAME ...] [--cases CASE ...] [--splits N]
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from bnn_uci import train_tf_keras  # noqa: E402
from harness import (  # noqa: E402
    UCI, Stopwatch, cut, load_uci, print_table, require, subsample, uci_protocol, write_result,
)

CASES = [
    "wine-quality-red", "bostonHousing", "power-plant", "naval-propulsion-plant", "protein-tertiary-structure",
    "power-plant@300", "protein-tertiary-structure@300", "naval-propulsion-plant@1000", "friedman1@300", "friedman1",
]
LARGE = ("power-plant", "naval-propulsion-plant", "protein-tertiary-structure")
SETTINGS = {
    "default": {},
    "lr 1e-3 constant": {"learning_rate": 1e-3, "decay": False, "scale_learning_rate_ratio": 1.0},
    "lr 1e-2 constant": {"learning_rate": 1e-2, "decay": False, "scale_learning_rate_ratio": 1.0},
    "budget rule, scale ratio 1": {"scale_learning_rate_ratio": 1.0},
    "lr 2e-2 cosine, scale ratio 0.3": {"learning_rate": 2e-2, "scale_learning_rate_ratio": 0.3},
    "ELBO (variance_weighting 0)": {"variance_weighting": 0.0},
    "variance_weighting 1": {"variance_weighting": 1.0},
}
REFERENCES = {
    "tf_keras Adam 0.01": {"likelihood": "heteroscedastic", "posterior_scale_init": 0.02, "noise_scale_init": 1.0,
                           "min_scale": 1e-3, "learning_rate": 1e-2, "batch_size": 32},
    "tf_keras tutorial": {"tutorial": True, "learning_rate": 1e-2, "batch_size": 32},
}
TRAINING_KEYS = ("batch_size", "decay")


def friedman1(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Friedman's (1991) first function of 10 uniform inputs (5 unused), noise standard deviation 1.

    A smooth, strongly non-linear, low-noise problem like the small UCI sets (yacht, energy,
    concrete) that are not in ../shared/data.
    """
    rng = np.random.default_rng(seed)
    x = rng.uniform(size=(n, 10))
    f = 10 * np.sin(np.pi * x[:, 0] * x[:, 1]) + 20 * (x[:, 2] - 0.5) ** 2 + 10 * x[:, 3] + 5 * x[:, 4]
    return x.astype("float32"), (f + rng.standard_normal(n)).astype("float32")


def load_case(name: str, split: int) -> tuple[np.ndarray, np.ndarray]:
    """The training part of split `split` of a UCI set, or 2,000 rows of a synthetic problem."""
    if name == "friedman1":
        return friedman1(2000, seed=split)
    data = load_uci(name, split)
    return data.x_train, data.y_train


def case_protocol(name: str) -> dict[str, int]:
    return {"n_hidden": 50, "n_epochs": 40} if name == "friedman1" else uci_protocol(name)


def fit_and_validation(case: str, split: int) -> tuple[np.ndarray, ...]:
    """The fitting and validation parts of one training part (its test part is not loaded)."""
    name, _, size = case.partition("@")
    x, y = load_case(name, split)
    fit, val = cut(len(x), 0.8, seed=1000 + split)
    if size:
        fit = fit[subsample(len(fit), int(size), seed=2000 + split)]
    return x[fit], y[fit], x[val], y[val]


def run_setting(setting: dict, case: str, split: int) -> dict[str, float]:
    """Validation metrics of one setting on one split of one case."""
    import keras

    from tfp_arch.plugins.bnn import BayesianMLP

    parts = fit_and_validation(case, split)
    settings = case_protocol(case.partition("@")[0])
    keras.utils.set_random_seed(split)
    if "tf_keras" in setting:
        peer = REFERENCES[setting["tf_keras"]]
        metrics, _ = train_tf_keras(parts, settings["n_hidden"], peer, settings["n_epochs"], seed=split, tuned=True)
        return {k: metrics[k] for k in ("rmse", "log_likelihood", "coverage_90")}
    cls = BayesianMLP
    if "decay" in setting:
        cls = type("BayesianMLPVariant", (BayesianMLP,), {"decay_learning_rate": setting["decay"]})
    arguments = {"likelihood": "heteroscedastic", "hidden_units": [settings["n_hidden"]]}
    arguments.update({k: v for k, v in setting.items() if k not in TRAINING_KEYS})
    model = cls(**arguments)
    batch_size = setting.get("batch_size", 32)
    model.fit(parts[0], parts[1], epochs=settings["n_epochs"], batch_size=batch_size, verbose=0)
    metrics = model.evaluate_metrics(parts[2], parts[3], seed=0)
    return {k: metrics[k] for k in ("rmse", "log_likelihood", "coverage_90")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", nargs="+", choices=[*SETTINGS, *REFERENCES], default=[*SETTINGS, *REFERENCES])
    parser.add_argument("--cases", nargs="+", default=CASES)
    parser.add_argument("--splits", type=int, default=3)
    parser.add_argument("--large-splits", type=int, default=1,
                        help="splits of the full-size sets with over 5,000 training rows (power, naval, protein)")
    parser.add_argument("--name", default="bnn_validation", help="result file name in benchmarks/results")
    args = parser.parse_args()
    require(UCI)
    results: dict[str, dict] = {}
    for name in args.settings:
        setting = SETTINGS.get(name, {"tf_keras": name})
        results[name] = {"setting": setting, "cases": {}}
        for case in args.cases:
            splits = args.large_splits if case in LARGE else args.splits
            with Stopwatch() as watch:
                per_split = [run_setting(setting, case, split) for split in range(splits)]
            mean = {k: float(np.mean([m[k] for m in per_split])) for k in per_split[0]}
            results[name]["cases"][case] = {"mean": mean, "per_split": per_split}
            print(f"{name:<32} {case:<32} RMSE {mean['rmse']:.4f}  LL {mean['log_likelihood']:.4f}  "
                  f"cov90 {mean['coverage_90']:.3f}  ({watch.seconds:.0f} s)", flush=True)
        path = write_result("bnn_validation", {"protocol": __doc__.split("\n\n")[1].replace("\n", " "),
                                               "splits": args.splits, "large_splits": args.large_splits,
                                               "results": results}, args.name)
    for case in args.cases:
        print(f"{case}: validation means over the splits")
        print_table({name: results[name]["cases"][case]["mean"] for name in results},
                    ("rmse", "log_likelihood", "coverage_90"), title="setting")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
