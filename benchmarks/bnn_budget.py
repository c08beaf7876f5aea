"""The default training budget of `bnn` chosen on validation cuts: fixed epochs against a minimum of steps.

`tfp-arch train bnn` without `--epochs` trains `max(40, min(1000, ceil(min_steps / steps_per_epoch)))`
epochs (`tfp_arch.budget`). This benchmark compares budgets of `min_steps` (0 is the protocol's 40
epochs) on validation cuts only: each training set is cut 80/20 (seed 1000 + split) into a fitting
and a validation part. The cases span 200 to 20,000 fitting rows and signal-to-noise ratios
(variance of the function over the noise variance) from 1 to 1,000: Friedman's first function
(`friedman1_snrS@N`: N fitting rows, 10 uniform inputs, 5 unused; the function's variance is about
24) and the training parts of the visible UCI sets (their test parts are never loaded). The model
is `BayesianMLP` with the defaults `tfp-arch train bnn` uses for regression data and 50 hidden units,
trained with `model.fit(x, y, epochs=...)`; the validation RMSE, log-likelihood (100 weight samples)
and 90% coverage, and the training seconds, are means over the splits.

Usage:
    python benchmarks/bnn_budget.py [--settings NAME ...] [--cases CASE ...] [--splits N] [--name NAME]
"""

from __future__ import annotations

import argparse
import math
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from harness import UCI, Stopwatch, cut, load_uci, print_table, read_result, require, write_result  # noqa: E402

CASES = [
    "friedman1_snr1000@200", "friedman1_snr1000@700", "friedman1_snr1000@2000", "friedman1_snr30@700",
    "friedman1_snr1@200", "friedman1_snr1@2000", "friedman1_snr1000@20000", "bostonHousing", "wine-quality-red",
    "power-plant",
]
SETTINGS = {"40 epochs": 0, "5,000 steps": 5_000, "20,000 steps (default)": 20_000, "40,000 steps": 40_000}
SEARCHES = ("early stop: best weights", "early stop: refit", "early stop: refit, >= 40 epochs")
MAX_EPOCHS = {"40,000 steps": 2_000}
FRIEDMAN_VARIANCE = 24.0


def friedman1(n: int, snr: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`n` rows of Friedman's first function with Gaussian noise of variance `24 / snr`."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(size=(n, 10))
    f = 10 * np.sin(np.pi * x[:, 0] * x[:, 1]) + 20 * (x[:, 2] - 0.5) ** 2 + 10 * x[:, 3] + 5 * x[:, 4]
    noise = math.sqrt(FRIEDMAN_VARIANCE / snr) * rng.standard_normal(n)
    return x.astype("float32"), (f + noise).astype("float32")


def fit_and_validation(case: str, split: int) -> tuple[np.ndarray, ...]:
    """The fitting and validation parts of one case (a UCI set's test part is not loaded)."""
    name, _, size = case.partition("@")
    if name.startswith("friedman1_snr"):
        x, y = friedman1(int(size) * 5 // 4, float(name.removeprefix("friedman1_snr")), seed=split)
    else:
        data = load_uci(name, split)
        x, y = data.x_train, data.y_train
    fit, val = cut(len(x), 0.8, seed=1000 + split)
    return x[fit], y[fit], x[val], y[val]


def run(case: str, split: int, min_steps: int, max_epochs: int) -> dict[str, float]:
    import keras

    from tfp_arch.budget import epochs_for
    from tfp_arch.plugins.bnn import BayesianMLP

    x, y, x_val, y_val = fit_and_validation(case, split)
    epochs = epochs_for(len(x), BayesianMLP.default_batch_size, BayesianMLP.default_epochs, min_steps, max_epochs)
    keras.utils.set_random_seed(split)
    model = BayesianMLP(hidden_units=[50], likelihood="heteroscedastic")
    with Stopwatch() as watch:
        model.fit(x, y, epochs=epochs, verbose=0)
    metrics = model.evaluate_metrics(x_val, y_val, seed=0)
    return {**{k: float(metrics[k]) for k in ("rmse", "log_likelihood", "coverage_90")}, "epochs": epochs,
            "train_seconds": watch.seconds, "fit_rows": len(x)}


def search(case: str, split: int, validation_fraction: float, patience_fraction: float) -> dict[str, dict]:
    """Both early-stopping settings from one search on a cut of the fitting rows (`tfp_arch.budget_search`).

    The search trains on the cut for at most the 20,000-step rule's epochs and keeps the weights of the
    epoch with the best held-out log-likelihood (`early stop: best weights`); a new model then trains
    on every fitting row for that many epochs (`early stop: refit`, whose seconds include the search's),
    or for at least the protocol's 40 epochs (`early stop: refit, >= 40 epochs`).
    """
    import keras

    from tfp_arch.budget import search_plan
    from tfp_arch.budget_search import search_epochs
    from tfp_arch.plugins.bnn import BayesianMLP

    x, y, x_val, y_val = fit_and_validation(case, split)
    plan = search_plan(len(x), BayesianMLP.default_batch_size, BayesianMLP.default_epochs,
                       BayesianMLP.min_training_steps, BayesianMLP.max_default_epochs,
                       validation_fraction=validation_fraction, patience_fraction=patience_fraction)

    def make():
        return BayesianMLP(hidden_units=[50], likelihood="heteroscedastic")

    if plan is None:  # too few rows to cut, or a cap of 40 epochs: the default is the steps rule
        plain = run(case, split, BayesianMLP.min_training_steps, BayesianMLP.max_default_epochs)
        return {name: {**plain, "best_epoch": None, "epochs_searched": 0} for name in SEARCHES}

    with Stopwatch() as watch:
        model, record = search_epochs(make, x, y, plan, BayesianMLP.default_batch_size, seed=split)
    best = {**model.evaluate_metrics(x_val, y_val, seed=0)}
    keras.utils.set_random_seed(split)
    refit = make()
    with Stopwatch() as refit_watch:
        refit.fit(x, y, epochs=record["best_epoch"], verbose=0)
    again = refit.evaluate_metrics(x_val, y_val, seed=0)
    floor = max(record["best_epoch"], BayesianMLP.default_epochs)
    floored, floor_seconds = again, refit_watch.seconds
    if floor != record["best_epoch"]:
        keras.utils.set_random_seed(split)
        refit = make()
        with Stopwatch() as floor_watch:
            refit.fit(x, y, epochs=floor, verbose=0)
        floored, floor_seconds = refit.evaluate_metrics(x_val, y_val, seed=0), floor_watch.seconds
    common = {"best_epoch": record["best_epoch"], "epochs_searched": record["epochs_searched"], "fit_rows": len(x)}
    keys = ("rmse", "log_likelihood", "coverage_90")
    return {
        SEARCHES[0]: {**{k: float(best[k]) for k in keys}, "epochs": record["epochs_searched"],
                      "train_seconds": watch.seconds, **common},
        SEARCHES[1]: {**{k: float(again[k]) for k in keys}, "epochs": record["best_epoch"],
                      "train_seconds": watch.seconds + refit_watch.seconds, **common},
        SEARCHES[2]: {**{k: float(floored[k]) for k in keys}, "epochs": floor,
                      "train_seconds": watch.seconds + floor_seconds, **common},
    }


def summarise(name: str, case: str, per_split: list[dict]) -> dict:
    mean = {k: float(np.mean([m[k] for m in per_split])) for k in per_split[0]
            if all(m[k] is not None for m in per_split)}
    print(f"{name:<24} {case:<26} RMSE {mean['rmse']:.4f}  LL {mean['log_likelihood']:.4f}  "
          f"cov90 {mean['coverage_90']:.3f}  epochs {mean['epochs']:.0f}  ({mean['train_seconds']:.0f} s)", flush=True)
    return {"mean": mean, "per_split": per_split}


def main() -> None:
    from tfp_arch.plugins.bnn import BayesianMLP

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", nargs="+", choices=[*SETTINGS, "early stop"], default=list(SETTINGS)[::2])
    parser.add_argument("--validation-fraction", type=float, default=0.2, help="the early-stopping search's cut")
    parser.add_argument("--patience-fraction", type=float, default=0.2,
                        help="the search's patience, as a fraction of its most epochs")
    parser.add_argument("--cases", nargs="+", default=CASES)
    parser.add_argument("--splits", type=int, default=1)
    parser.add_argument("--name", default="bnn_budget", help="result file in benchmarks/results (cases are merged)")
    args = parser.parse_args()
    if any(not case.startswith("friedman") for case in args.cases):
        require(UCI)
    document = read_result(args.name)
    results = document.setdefault("results", {})
    if "early stop" in args.settings:
        setting = {"validation_fraction": args.validation_fraction, "patience_fraction": args.patience_fraction,
                   "min_steps": BayesianMLP.min_training_steps, "max_epochs": BayesianMLP.max_default_epochs}
        entries = [results.setdefault(name, {"setting": setting, "cases": {}}) for name in SEARCHES]
        for case in args.cases:
            runs = [search(case, split, args.validation_fraction, args.patience_fraction)
                    for split in range(args.splits)]
            for name, entry in zip(SEARCHES, entries, strict=True):
                entry["setting"] = setting
                entry["cases"][case] = summarise(name, case, [run[name] for run in runs])
            document.update({"protocol": __doc__.split("\n\n")[1].replace("\n", " "), "splits": args.splits})
            path = write_result("bnn_budget", document, args.name)
    for name in (s for s in args.settings if s in SETTINGS):
        entry = results.setdefault(name, {"setting": {"min_steps": SETTINGS[name]}, "cases": {}})
        max_epochs = MAX_EPOCHS.get(name, BayesianMLP.max_default_epochs)
        entry["setting"]["max_epochs"] = max_epochs
        for case in args.cases:
            per_split = [run(case, split, SETTINGS[name], max_epochs) for split in range(args.splits)]
            mean = {k: float(np.mean([m[k] for m in per_split])) for k in per_split[0]}
            entry["cases"][case] = {"mean": mean, "per_split": per_split}
            print(f"{name:<24} {case:<26} RMSE {mean['rmse']:.4f}  LL {mean['log_likelihood']:.4f}  "
                  f"cov90 {mean['coverage_90']:.3f}  epochs {mean['epochs']:.0f}  ({mean['train_seconds']:.0f} s)",
                  flush=True)
            document.update({"protocol": __doc__.split("\n\n")[1].replace("\n", " "), "splits": args.splits})
            path = write_result("bnn_budget", document, args.name)
    for case in args.cases:
        print(f"{case}: validation means over the splits")
        print_table({name: results[name]["cases"][case]["mean"] for name in results if case in results[name]["cases"]},
                    ("rmse", "log_likelihood", "coverage_90", "epochs", "train_seconds"), title="setting")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
