"""Gradient clipping for the maf architecture, compared on validation cuts of the five UCI sets.

The test parts are never loaded. The training part of split 0 of each UCI set (all columns, inputs
and target: density estimation, as in `flows_uci.py`) is cut by a seeded permutation (seed 1000)
into 90% for fitting and 10% for validation. `maf` gets `flows_uci.py`'s budget (5 transforms of
2 x 100 ReLU units, batch 100, Adam with learning rate 1e-3, 20 epochs), is trained with plain
`model.fit` on the raw fitting rows (it standardises them itself) and is scored on the validation
rows in its own standardised space. Seeds 0, 1, 2 seed Keras (weights and shuffling).

Settings (each an optimiser given to `compile`; nothing else changes):
    default: plain `Adam(1e-3)`, the optimiser `maf` used before gradient clipping was considered.
    clip 1, clip 5, clip 20: `Adam(1e-3, global_clipnorm=c)`, the global gradient norm clipped at c.
    median clip: an AutoClip-style rule that needs no per-data-set constant: the global gradient norm
        is clipped at 5 times the median of the last 100 steps' (already clipped) global norms; the
        100-step history starts empty (+inf), so nothing is clipped in the first 50 steps, and a
        non-finite norm is not recorded.

Reported per set, setting and seed: the validation log-likelihood (mean over validation rows, nats,
standardised space), the worst 0.1% per-row log-likelihood (the rows' 0.001 quantile) and the worst
row, whether training diverged (an epoch's mean training loss non-finite, or above the previous
epoch's by more than 10 times max(|previous|, 1 nat), both in the standardised space), and the
median seconds per epoch after the first (on a shared machine under `nice`: a rough cost, not a
benchmark of speed). Summaries: the mean over seeds per set and setting, and its difference from
`default`.

Outcome (`results/maf_validation.json`, 3 seeds): no setting was adopted. No run diverged, `default`
included, and no validation row collapsed (worst row -77 nats, protein's validation part holds one
row 47 standard deviations out), so there was no divergence to remove; and every setting fell below
`default` by more than 0.02 nats on some set (clip 1: power, wine, naval; clip 5: wine -0.021, naval;
clip 20: naval; median clip: boston -0.039 +/- 0.23). Seed-to-seed noise is far above 0.02 nats on
boston, naval and protein (paired standard errors 0.2-7 nats). The protein collapse of `flows_uci.py`
(seed 2) is not a training divergence either: its epoch losses stay near -2.2 to -2.7 nats, and the
final weights give one test row (column 6 at 51 standard deviations) -1.6e7 nats.

Usage:
    python benchmarks/maf_validation.py [--datasets NAME ...] [--seeds N] [--epochs N]
                                        [--settings NAME ...] [--output PATH]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
from pathlib import Path
from typing import Any, Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from flows_uci import BATCH, HIDDEN, LR, THREADS, TRANSFORMS, flow_summary  # noqa: E402
from harness import (  # noqa: E402
    UCI, cut, epoch_timer, limit_threads, load_uci, print_table, require, steady_median, write_result,
)

DATASETS = ("bostonHousing", "wine-quality-red", "power-plant", "naval-propulsion-plant",
            "protein-tertiary-structure")
VALIDATION_FRACTION, CUT_SEED = 0.1, 1000
WORST_QUANTILE = 0.001
JUMP = 10.0
MEDIAN_FACTOR, MEDIAN_WINDOW = 5.0, 100
KEYS = ("val_log_likelihood", "worst_0.1%", "worst_row", "diverged", "seconds_per_epoch")


def median_clip_adam(learning_rate: float, factor: float = MEDIAN_FACTOR, window: int = MEDIAN_WINDOW):
    """Adam clipping the global gradient norm at `factor` x the median of the last `window` norms."""
    import keras
    from keras import ops

    class MedianClipAdam(keras.optimizers.Adam):
        def build(self, variables):
            super().build(variables)
            self._recent_norms = self.add_variable(
                shape=(window,), initializer=keras.initializers.Constant(float("inf")), name="recent_norms"
            )

        def _clip_gradients(self, grads):
            norm = ops.sqrt(sum(ops.sum(ops.square(g)) for g in grads if g is not None))
            threshold = factor * ops.sort(self._recent_norms)[window // 2]
            scale = ops.where(norm > threshold, threshold / norm, ops.ones_like(norm))
            recorded = ops.where(ops.isfinite(norm), ops.minimum(norm, threshold), threshold)
            history = ops.concatenate([self._recent_norms[1:], ops.reshape(recorded, (1,))])
            self._recent_norms.assign(history)
            return [g * ops.cast(scale, g.dtype) if g is not None else g for g in grads]

    return MedianClipAdam(learning_rate)


def _adam(global_clipnorm: float | None) -> Callable[[], Any]:
    def make():
        import keras

        return keras.optimizers.Adam(LR, global_clipnorm=global_clipnorm)

    return make


SETTINGS: dict[str, Callable[[], Any]] = {
    "default": _adam(None),
    "clip 1": _adam(1.0),
    "clip 5": _adam(5.0),
    "clip 20": _adam(20.0),
    "median clip": lambda: median_clip_adam(LR),
}


def fit_and_validation(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The fitting and validation rows (raw units, all columns) of split 0's training part."""
    x = load_uci(name, split=0).as_unsupervised().x_train
    validation, fit = cut(len(x), VALIDATION_FRACTION, seed=CUT_SEED)
    return x[fit], x[validation]


def diverged(standardised_nll: list[float]) -> bool:
    """Whether an epoch's mean training loss was non-finite or rose by more than `JUMP` x max(|previous|, 1)."""
    losses = np.asarray(standardised_nll, dtype="float64")
    if not np.isfinite(losses).all():
        return True
    rises = losses[1:] - losses[:-1]
    return bool((rises > JUMP * np.maximum(np.abs(losses[:-1]), 1.0)).any())


def run_one(setting: str, x_fit: np.ndarray, x_val: np.ndarray, epochs: int, seed: int) -> dict[str, Any]:
    """Train `maf` with one setting and seed; its validation scores, divergence and epoch seconds."""
    import keras

    from tfp_arch.plugins.maf import MaskedAutoregressiveFlowModel

    keras.utils.set_random_seed(seed)
    model = MaskedAutoregressiveFlowModel(num_transforms=TRANSFORMS, hidden_units=HIDDEN, seed=seed)
    model.compile(optimizer=SETTINGS[setting]())
    timer = epoch_timer()
    history = model.fit(x_fit, epochs=epochs, batch_size=BATCH, verbose=0, callbacks=[timer])
    shift = float(keras.ops.convert_to_numpy(model.log_det_standardization()))
    # The loss is -log p in raw units; adding the standardisation's log-Jacobian gives the standardised one.
    losses = [float(loss) + shift for loss in history.history["loss"]]
    rows = model.log_prob(x_val) - shift
    finite = np.isfinite(rows)
    return {
        "val_log_likelihood": float(np.mean(rows)),
        "worst_0.1%": float(np.quantile(rows, WORST_QUANTILE)) if finite.all() else float("-inf"),
        "worst_row": float(np.min(rows)) if finite.all() else float("-inf"),
        "non_finite_rows": int((~finite).sum()),
        "diverged": diverged(losses),
        "seconds_per_epoch": steady_median(timer.times),
        "train_nll_standardised": losses,
    }


def summarise(runs: list[dict], datasets: list[str], settings: list[str]) -> dict[str, dict]:
    """Per set and setting: summaries over seeds of `KEYS` (`diverged` as a count) and mean differences from
    `default` (of the validation log-likelihood and the worst 0.1%)."""
    summary: dict[str, dict] = {}
    for name in datasets:
        summary[name] = {}
        for setting in settings:
            mine = [r for r in runs if r["dataset"] == name and r["setting"] == setting]
            if not mine:
                continue
            entry = {key: flow_summary([r[key] for r in mine]) for key in KEYS if key != "diverged"}
            entry["diverged"] = sum(r["diverged"] for r in mine)
            summary[name][setting] = entry
        if "default" in summary[name]:
            base = summary[name]["default"]
            for entry in summary[name].values():
                for key in ("val_log_likelihood", "worst_0.1%"):
                    entry[f"{key} minus default"] = entry[key]["mean"] - base[key]["mean"]
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=list(DATASETS))
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--settings", nargs="+", choices=list(SETTINGS), default=list(SETTINGS))
    parser.add_argument("--output", type=Path, default=None, help="result file (default: results/maf_validation.json)")
    args = parser.parse_args()
    require(UCI)
    limit_threads(THREADS)
    runs, sizes = [], {}
    config = {"datasets": args.datasets, "settings": args.settings, "seeds": args.seeds, "epochs": args.epochs,
              "split": 0, "validation_fraction": VALIDATION_FRACTION, "cut_seed": CUT_SEED,
              "transforms": TRANSFORMS, "hidden_units": HIDDEN, "batch_size": BATCH, "learning_rate": LR,
              "threads": THREADS, "median_clip": {"factor": MEDIAN_FACTOR, "window": MEDIAN_WINDOW},
              "worst_quantile": WORST_QUANTILE, "divergence_jump": JUMP,
              "protocol": " ".join(__doc__.split("\n\n")[1].split())}
    for name in args.datasets:
        x_fit, x_val = fit_and_validation(name)
        sizes[name] = {"dims": int(x_fit.shape[1]), "n_fit": len(x_fit), "n_validation": len(x_val)}
        for seed in range(args.seeds):
            for setting in args.settings:
                gc.collect()
                result = {"dataset": name, "setting": setting, "seed": seed,
                          **run_one(setting, x_fit, x_val, args.epochs, seed)}
                runs.append(result)
                print(json.dumps({k: v for k, v in result.items() if k != "train_nll_standardised"}), flush=True)
        summary = summarise(runs, args.datasets, args.settings)
        path = write_result("maf_validation", {"config": config, "sizes": sizes, "summary": summary, "runs": runs},
                            args.output or "maf_validation")
    for name, per_setting in summary.items():
        print(f"{name} ({sizes[name]['dims']}-D, {sizes[name]['n_fit']} fitting rows): validation means over seeds")
        print_table(per_setting, (*KEYS, "val_log_likelihood minus default"), title="setting")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
