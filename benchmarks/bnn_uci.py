"""UCI regression protocol for the bnn architecture, side by side with tfp.layers on tf_keras and the
strongest published baselines.

For each data set in ../shared/data/uci and each of its fixed 90/10 splits, these models of the same
shape (one hidden layer, the protocol's width) are trained:

- `tfp_arch`: `BayesianMLP` exactly as a user gets it: constructed with the plugin's defaults for the
  data (`hyperparameters_for`, as `tfp-arch train` does) and trained with `model.fit(x, y)` on NumPy
  arrays with the default `compile()` (Adam with its cosine decay over the run, batch 32, arrays fed
  through tf.data, 32 steps per execution), for the epochs `tfp-arch train bnn` chooses without
  `--epochs` (`tfp_arch.budget_search.choose_epochs`: the best epoch of a search on a validation cut
  of the training part, whose seconds count in `train_seconds`; `--budget default`, the default) or
  for the protocol's epochs (`--budget protocol`). The baselines train for the epochs of the steps
  rule (`BayesianMLP.default_epochs_for(rows)`) with `--budget default`.
- `mc_dropout`, `deep_ensemble`: MC dropout with its dropout rate and precision chosen by a grid search
  on a validation cut of the training part, and an ensemble of 5 heteroscedastic networks, in Keras 3
  at the same budget as `tfp_arch` (`uci_baselines.py`). Their published 20-split results (Gal's
  updated grid-search MC dropout, Lakshminarayanan et al.'s deep ensembles) are in the result file
  under `published` beside ours.
- `tfp_arch_elbo`: the same model trained on the ELBO itself (`variance_weighting=0`), the default
  before beta-NLL, for the comparison with today's defaults.
- `tfp_arch_previous`: the same model with an earlier release's training (Adam at a constant
  1e-3, one learning rate for means and scales, the ELBO).
- `tf_keras`: the reference, at the protocol's epochs whatever `--budget`. The same network built with `tfp.layers.DenseVariational` on tf_keras
  (mean-field normal posterior, standard normal prior with exact KL, the same likelihood and initial
  scales), trained as TFP's regression tutorial trains it: `compile(Adam(learning_rate=0.01), loss)`
  and `model.fit(x, y, batch_size=32)` on NumPy arrays.
- `tf_keras_lr1e-3`: the same reference at Adam 1e-3 (the reference of earlier releases).
- `tf_keras_tuned`: the Adam 0.01 reference fed a tf.data pipeline with 32 steps per execution and
  predicting with a traced `tf.function`, beyond what TFP's examples do, as a speed column.
- `keras3_mlp`: a deterministic Keras 3 MLP of the same shape (MSE, Adam 1e-3), fed the same fast way.

The tutorial's own posterior (`posterior_mean_field`: means at 0 and scales at 1) and
`prior_trainable` were also tried on validation cuts (`bnn_validation.py`, setting "tf_keras
tutorial"); at these budgets they stay far from a fit (RMSE 3-4x), so the reference uses the
stronger initialisation above.

Seconds per epoch (on the sets named by `--timing`, wine by default) are measured side by side after
training: 5 rounds in which each model trains
4 more epochs in turn (median over the epochs after the first of each round), so the models see
the same machine load. Inputs and targets are standardised on the training part; RMSE, test
log-likelihood (log-mean-exp over 100 weight samples) and 90% coverage are in the target's original
units. The tf_keras models predict with 100 calls; the eager calls TFP's examples make are timed on
the first split of each set (the metrics of every split use traced calls, which compute the same).
Training seconds (`train_seconds`) and prediction seconds of the test part (`predict_seconds`: 100
weight samples or dropout masks, the 5 members) are recorded for every model of a run with
`--budget default`; the side-by-side epoch timing (`--timing`) is for the protocol's budget.
The default run with the baselines leaves out `tfp_arch_elbo`, `tfp_arch_previous`, `tf_keras_lr1e-3`,
`tf_keras_tuned` and `keras3_mlp` (choose them with `--models`): they compare earlier training
defaults at the protocol's 40 epochs, which `bnn_uci.json` reports.

Run:
    python benchmarks/bnn_uci.py [--quick] [--datasets wine-quality-red ...] [--splits N]
        [--budget default|protocol] [--models tfp_arch mc_dropout deep_ensemble tf_keras]
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from harness import (  # noqa: E402
    UCI, Stopwatch, epoch_timer, load_uci, median_seconds, pipeline, print_table, read_result, require, result_path,
    standardise, steady_median, summarize, uci_protocol, write_result,
)
from uci_baselines import deep_ensemble, mc_dropout  # noqa: E402

DATASETS = ["wine-quality-red", "bostonHousing", "power-plant", "naval-propulsion-plant", "protein-tertiary-structure"]
CONFIG = {
    "num_samples": 100,
    "peer_steps_per_execution": 32,
    "timing_rounds": 5,
    "timing_epochs": 4,
    "epochs": "the protocol's n_epochs.txt",
}
MODELS = ("tfp_arch", "tfp_arch_elbo", "tfp_arch_previous", "tf_keras", "tf_keras_lr1e-3", "tf_keras_tuned", "keras3_mlp",
          "mc_dropout", "deep_ensemble")
DEFAULT_MODELS = ("tfp_arch", "mc_dropout", "deep_ensemble", "tf_keras")
PUBLISHED = {
    "source": "MC dropout: Gal's updated grid-search results (20 splits, RMSE / test log-likelihood); deep ensembles: "
              "Lakshminarayanan et al. 2017, 5 networks (test log-likelihood)",
    "mc_dropout": {"bostonHousing": [2.90, -2.40], "concrete": [4.82, -2.93], "energy": [0.54, -1.21],
                   "kin8nm": [0.08, 1.14], "naval-propulsion-plant": [0.00, 4.45], "power-plant": [4.01, -2.80],
                   "protein-tertiary-structure": [4.27, -2.87], "wine-quality-red": [0.62, -0.93],
                   "yacht": [0.67, -1.25]},
    "deep_ensemble_log_likelihood": {"bostonHousing": -2.41, "concrete": -3.06, "energy": -1.38, "kin8nm": 1.20,
                                     "naval-propulsion-plant": 5.63, "power-plant": -2.79,
                                     "protein-tertiary-structure": -2.83, "wine-quality-red": -0.94, "yacht": -1.18},
}
REFERENCE_LEARNING_RATE = 1e-2
PREVIOUS_LEARNING_RATE = 1e-3


def gaussian_mixture_metrics(y: np.ndarray, loc: np.ndarray, scale: np.ndarray) -> dict[str, float]:
    from tfp_arch.plugins.bnn.metrics import regression_metrics

    return regression_metrics(y, loc, scale)


def build_ours(data, hidden: int, seed: int, previous: bool = False, **overrides):
    """`BayesianMLP` with the plugin's defaults for the `Dataset` `data` and the protocol's width.

    `previous` gives an earlier release's training; `overrides` replace hyperparameters."""
    import keras

    from tfp_arch.plugins.bnn import BayesianMLP

    keras.utils.set_random_seed(seed)
    arguments = {**BayesianMLP.hyperparameters_for(data), "hidden_units": [hidden], **overrides}
    if previous:
        previous_release = type("BayesianMLPPrevious", (BayesianMLP,), {"decay_learning_rate": False})
        return previous_release(**arguments, learning_rate=PREVIOUS_LEARNING_RATE, scale_learning_rate_ratio=1.0,
                                variance_weighting=0.0)
    return BayesianMLP(**arguments)


def train_ours(model, split_data, epochs: int) -> tuple[dict[str, float], callable]:
    import keras

    x, y, x_test, y_test = split_data
    timer = epoch_timer(keras.callbacks.Callback)
    with Stopwatch() as watch:
        model.fit(x, y, epochs=epochs, verbose=0, callbacks=[timer])
    predict = median_seconds(lambda: model.sample_outputs(x_test, CONFIG["num_samples"]).numpy())
    metrics = model.evaluate_metrics(x_test, y_test, num_samples=CONFIG["num_samples"])
    result = {**metrics, "epoch_seconds_in_training": steady_median(timer.times), "predict_seconds": predict,
              "train_seconds": watch.seconds, "epochs": epochs}
    return result, lambda callback: model.fit(x, y, epochs=CONFIG["timing_epochs"], verbose=0, callbacks=[callback])


def peer_settings(model) -> dict:
    return {"likelihood": model.likelihood, "posterior_scale_init": model.posterior_scale_init,
            "noise_scale_init": model.noise_scale_init, "min_scale": model.min_scale,
            "learning_rate": REFERENCE_LEARNING_RATE, "batch_size": model.default_batch_size}


def build_tf_keras(split_data, hidden: int, settings: dict, seed: int):
    import tensorflow as tf
    import tensorflow_probability as tfp
    import tf_keras as tfk

    tfd, tfpl = tfp.distributions, tfp.layers
    x = split_data[0]
    tfk.utils.set_random_seed(seed)
    rho0 = float(np.log(np.expm1(settings["posterior_scale_init"])))
    shift = float(np.log(np.expm1(settings["noise_scale_init"] - settings["min_scale"])))
    min_scale = settings["min_scale"]
    heteroscedastic = settings["likelihood"] == "heteroscedastic"

    def posterior(fan_in: int, fan_out: int):
        def make(kernel_size, bias_size=0, dtype=None):
            n = kernel_size + bias_size
            std = float(np.sqrt(2.0 / (fan_in + fan_out)))

            def init(shape, dtype=None):
                loc = tf.concat([tf.random.normal([kernel_size], stddev=std), tf.zeros([bias_size])], 0)
                return tf.concat([loc, tf.fill([n], rho0)], 0)

            return tfk.Sequential([
                tfpl.VariableLayer(2 * n, dtype=dtype, initializer=init),
                tfpl.DistributionLambda(lambda t: tfd.Independent(
                    tfd.Normal(loc=t[..., :n], scale=tf.nn.softplus(t[..., n:])), reinterpreted_batch_ndims=1)),
            ])
        return make

    def prior(kernel_size, bias_size=0, dtype=None):
        n = kernel_size + bias_size
        return tfk.Sequential([tfpl.DistributionLambda(
            lambda t: tfd.Independent(tfd.Normal(loc=tf.zeros(n), scale=1.0), reinterpreted_batch_ndims=1))])

    class NoiseScale(tfk.layers.Layer):
        def build(self, input_shape):
            self.rho = self.add_weight(name="rho", shape=(), initializer=tfk.initializers.Constant(shift))

        def call(self, loc):
            return tf.concat([loc, tf.ones_like(loc) * (tf.nn.softplus(self.rho) + min_scale)], -1)

    def heteroscedastic_head(t):
        return tf.concat([t[..., :1], tf.nn.softplus(t[..., 1:] + shift) + min_scale], -1)

    kl_weight = 1.0 / len(x)
    d_in = x.shape[1]
    out = 2 if heteroscedastic else 1
    return tfk.Sequential([
        tfk.Input((d_in,)),
        tfpl.DenseVariational(hidden, posterior(d_in, hidden), prior, kl_weight=kl_weight, kl_use_exact=True,
                              activation="relu"),
        tfpl.DenseVariational(out, posterior(hidden, out), prior, kl_weight=kl_weight, kl_use_exact=True),
        tfk.layers.Lambda(heteroscedastic_head) if heteroscedastic else NoiseScale(),
        tfpl.DistributionLambda(lambda t: tfd.Normal(loc=t[..., :1], scale=t[..., 1:])),
    ])


def build_tf_keras_tutorial(split_data, hidden: int, seed: int):
    """The network of TFP's "Probabilistic Layers Regression" tutorial (its case 4, aleatoric and
    epistemic uncertainty) with one hidden layer of the protocol's width: `posterior_mean_field`
    (means initialised at 0, scales at 1), `prior_trainable` (a learned mean, scale 1), KL weight
    1/n, and the tutorial's heteroscedastic head `Normal(t[0], 1e-3 + softplus(0.01 t[1]))`."""
    import tensorflow as tf
    import tensorflow_probability as tfp
    import tf_keras as tfk

    tfd, tfpl = tfp.distributions, tfp.layers
    x = split_data[0]
    tfk.utils.set_random_seed(seed)
    c = float(np.log(np.expm1(1.0)))

    def posterior_mean_field(kernel_size, bias_size=0, dtype=None):
        n = kernel_size + bias_size
        return tfk.Sequential([
            tfpl.VariableLayer(2 * n, dtype=dtype),
            tfpl.DistributionLambda(lambda t: tfd.Independent(
                tfd.Normal(loc=t[..., :n], scale=1e-5 + tf.nn.softplus(c + t[..., n:])), reinterpreted_batch_ndims=1)),
        ])

    def prior_trainable(kernel_size, bias_size=0, dtype=None):
        n = kernel_size + bias_size
        return tfk.Sequential([
            tfpl.VariableLayer(n, dtype=dtype),
            tfpl.DistributionLambda(lambda t: tfd.Independent(tfd.Normal(loc=t, scale=1), reinterpreted_batch_ndims=1)),
        ])

    kl_weight = 1.0 / len(x)
    return tfk.Sequential([
        tfk.Input((x.shape[1],)),
        tfpl.DenseVariational(hidden, posterior_mean_field, prior_trainable, kl_weight=kl_weight, activation="relu"),
        tfpl.DenseVariational(2, posterior_mean_field, prior_trainable, kl_weight=kl_weight),
        tfpl.DistributionLambda(lambda t: tfd.Normal(loc=t[..., :1], scale=1e-3 + tf.math.softplus(0.01 * t[..., 1:]))),
    ])


def standardised(split_data) -> tuple[np.ndarray, ...]:
    """Inputs and targets scaled by the training part: `(xs, ys, xs_test, y_mean, y_std)`."""
    x, y, x_test, _ = split_data
    xs, xt, _, _ = standardise(x, x_test)
    ys, y_mean, y_std = standardise(y, floor=0.0)
    return xs, ys, xt, float(y_mean), float(y_std)


def train_tf_keras(split_data, hidden: int, settings: dict, epochs: int, seed: int, tuned: bool,
                   time_eager: bool = False):
    import tensorflow as tf
    import tf_keras as tfk

    _, _, _, y_test = split_data
    xs, ys, xt, y_mean, y_std = standardised(split_data)
    if settings.get("tutorial"):
        model = build_tf_keras_tutorial(split_data, hidden, seed)
    else:
        model = build_tf_keras(split_data, hidden, settings, seed)
    extra = {"steps_per_execution": CONFIG["peer_steps_per_execution"]} if tuned else {}
    model.compile(tfk.optimizers.Adam(settings["learning_rate"]), loss=lambda target, dist: -dist.log_prob(target),
                  **extra)
    if tuned:
        data = pipeline(xs, ys[:, None], settings["batch_size"], seed)

        def fit(callback, epochs=CONFIG["timing_epochs"]):
            return model.fit(data, epochs=epochs, verbose=0, callbacks=[callback])
    else:
        def fit(callback, epochs=CONFIG["timing_epochs"]):
            return model.fit(xs, ys[:, None], epochs=epochs, batch_size=settings["batch_size"], verbose=0,
                             callbacks=[callback])
    timer = epoch_timer(tfk.callbacks.Callback)
    fit(timer, epochs)

    def draw(inputs):
        distribution = model(inputs)
        return distribution.mean()[:, 0], distribution.stddev()[:, 0]

    def predict(function):
        draws = [function(xt) for _ in range(CONFIG["num_samples"])]
        return np.stack([d[0].numpy() for d in draws]), np.stack([d[1].numpy() for d in draws])

    traced = tf.function(draw)
    traced(xt)
    with Stopwatch() as watch:
        loc, scale = predict(draw if time_eager else traced)
    metrics = gaussian_mixture_metrics(y_test, loc * y_std + y_mean, scale * y_std)
    result = {**metrics, "epoch_seconds_in_training": steady_median(timer.times)}
    if time_eager or tuned:
        result["predict_seconds"] = watch.seconds
    return result, fit


def train_deterministic(split_data, hidden: int, settings: dict, epochs: int, seed: int):
    import keras

    _, _, _, y_test = split_data
    xs, ys, xt, y_mean, y_std = standardised(split_data)
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((xs.shape[1],)), keras.layers.Dense(hidden, activation="relu"),
                              keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(settings["learning_rate"]), "mse",
                  steps_per_execution=CONFIG["peer_steps_per_execution"])
    data = pipeline(xs, ys, settings["batch_size"], seed)

    def fit(callback, epochs=CONFIG["timing_epochs"]):
        return model.fit(data, epochs=epochs, verbose=0, callbacks=[callback])

    timer = epoch_timer(keras.callbacks.Callback)
    fit(timer, epochs)
    prediction = model.predict(xt, verbose=0)[:, 0] * y_std + y_mean
    rmse = float(np.sqrt(np.mean(np.square(prediction - y_test))))
    return {"rmse": rmse, "epoch_seconds_in_training": steady_median(timer.times)}, fit


def side_by_side_epoch_seconds(fits: dict) -> dict[str, float]:
    """Each model trains `timing_epochs` more epochs in turn, for `timing_rounds` rounds."""
    import keras
    import tf_keras

    times = {label: [] for label in fits}
    for _ in range(CONFIG["timing_rounds"]):
        for label, fit in fits.items():
            timer = epoch_timer(tf_keras.callbacks.Callback if label.startswith("tf_keras") else keras.callbacks.Callback)
            fit(timer)
            times[label].extend(timer.times[1:])
    return {label: float(np.median(values)) for label, values in times.items()}


def run_dataset(name: str, splits: int | None, timed: bool = True, models: tuple[str, ...] = MODELS,
                budget: str = "default", on_split=None, split_ids: list[int] | None = None,
                earlier: list[dict] | None = None) -> dict:
    """Run `name` on its first `splits` splits (or on `split_ids`), after the `earlier` runs of a result file."""
    from tfp_arch.budget_search import choose_epochs
    from tfp_arch.plugins.bnn import BayesianMLP

    settings = uci_protocol(name)
    count = settings["n_splits"] if splits is None else min(splits, settings["n_splits"])
    epochs, hidden = settings["n_epochs"], settings["n_hidden"]

    def budget_for(rows: int) -> int:
        return BayesianMLP.default_epochs_for(rows) if budget == "default" else epochs

    runs = list(earlier or [])
    for split in range(count) if split_ids is None else split_ids:
        data = load_uci(name, split)
        split_data = (data.x_train, data.y_train, data.x_test, data.y_test)
        row, fits = {"split": split}, {}
        ours = budget_for(len(data.x_train))
        if budget == "default":
            with Stopwatch() as search_watch:
                rule = choose_epochs(BayesianMLP, data.x_train, data.y_train,
                                     lambda: build_ours(data, hidden, seed=split), seed=split)
            ours = rule["epochs"]
        model = build_ours(data, hidden, seed=split)
        peer = peer_settings(model)
        row["tfp_arch"], fits["tfp_arch"] = train_ours(model, split_data, ours)
        if budget == "default" and "search" in rule:
            row["tfp_arch"]["train_seconds"] += search_watch.seconds
            row["tfp_arch"]["search_seconds"] = search_watch.seconds
            row["tfp_arch"]["best_epoch"] = rule["search"]["best_epoch"]
        if "mc_dropout" in models:
            row["mc_dropout"] = mc_dropout(split_data, hidden, budget_for, seed=split)
        if "deep_ensemble" in models:
            row["deep_ensemble"] = deep_ensemble(split_data, hidden, budget_for(len(data.x_train)), seed=split)
        if "tfp_arch_elbo" in models:
            elbo = build_ours(data, hidden, seed=split, variance_weighting=0.0)
            row["tfp_arch_elbo"], fits["tfp_arch_elbo"] = train_ours(elbo, split_data, epochs)
        if "tfp_arch_previous" in models:
            previous = build_ours(data, hidden, seed=split, previous=True)
            row["tfp_arch_previous"], fits["tfp_arch_previous"] = train_ours(previous, split_data, epochs)
        references = (("tf_keras", False, REFERENCE_LEARNING_RATE), ("tf_keras_lr1e-3", False, PREVIOUS_LEARNING_RATE),
                      ("tf_keras_tuned", True, REFERENCE_LEARNING_RATE))
        for label, tuned, rate in references:
            if label in models:
                row[label], fits[label] = train_tf_keras(
                    split_data, hidden, {**peer, "learning_rate": rate}, epochs, seed=split, tuned=tuned,
                    time_eager=label == "tf_keras" and split == 0 and timed)
        if "keras3_mlp" in models:
            deterministic = {**peer, "learning_rate": PREVIOUS_LEARNING_RATE}
            row["keras3_mlp"], fits["keras3_mlp"] = train_deterministic(split_data, hidden, deterministic, epochs,
                                                                        seed=split)
        if timed:
            for label, seconds in side_by_side_epoch_seconds(fits).items():
                row[label]["epoch_seconds"] = seconds
        row["tfp_arch_settings"] = {**peer, "hidden_units": model.hidden_units, "prior": model.prior,
                                    "estimator": model.estimator}
        runs.append(row)
        print(name, split, {k: {m: round(v, 4) for m, v in row[k].items()} for k in models}, flush=True)
        if on_split is not None:
            on_split(summarise_runs(settings, runs, models, budget, budget_for(len(data.x_train))))
    return summarise_runs(settings, runs, models, budget, budget_for(len(data.x_train)))


def summarise_runs(settings: dict, runs: list[dict], models: tuple[str, ...], budget: str, epochs: int) -> dict:
    """The result of one data set: its runs, their means per model and the paired ratios."""
    summary = {}
    for label in models:
        metrics = {metric for r in runs for metric in r[label]}
        summary[label] = {metric: summarize([r[label][metric] for r in runs if metric in r[label]])
                          for metric in sorted(metrics)}

    def ratio(metric: str, other: str) -> dict[str, float]:
        pairs = [r["tfp_arch"][metric] / r[other][metric] for r in runs if other in r and metric in r[other]]
        return summarize(pairs) if pairs else {}

    ratios = {
        "epoch_time_vs_elbo": ratio("epoch_seconds", "tfp_arch_elbo"),
        "epoch_time_vs_previous": ratio("epoch_seconds", "tfp_arch_previous"),
        "epoch_time_vs_tf_keras": ratio("epoch_seconds", "tf_keras"),
        "epoch_time_vs_tf_keras_tuned": ratio("epoch_seconds", "tf_keras_tuned"),
        "epoch_time_vs_keras3_mlp": ratio("epoch_seconds", "keras3_mlp"),
        "predict_time_vs_tf_keras": ratio("predict_seconds", "tf_keras"),
        "predict_time_vs_tf_keras_tuned": ratio("predict_seconds", "tf_keras_tuned"),
        "rmse_vs_tf_keras": ratio("rmse", "tf_keras"),
        "rmse_vs_elbo": ratio("rmse", "tfp_arch_elbo"),
        "rmse_vs_mc_dropout": ratio("rmse", "mc_dropout"),
        "rmse_vs_deep_ensemble": ratio("rmse", "deep_ensemble"),
    }
    ratios = {key: value for key, value in ratios.items() if value}
    for other in ("tf_keras", "tfp_arch_elbo", "mc_dropout", "deep_ensemble"):
        if other in models:
            ratios[f"log_likelihood_minus_{other}"] = summarize(
                [r["tfp_arch"]["log_likelihood"] - r[other]["log_likelihood"] for r in runs])
    return {"protocol": settings, "epochs": epochs, "budget": budget, "splits_run": len(runs),
            "split_ids": [r["split"] for r in runs], "settings": runs[0]["tfp_arch_settings"], "runs": runs,
            "summary": summary, "ratios": ratios}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="wine-quality-red, 2 splits")
    parser.add_argument("--datasets", nargs="*", default=None)
    parser.add_argument("--splits", type=int, default=None, help="at most this many splits per data set")
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(DEFAULT_MODELS),
                        help="models to run (tfp_arch always runs)")
    parser.add_argument("--budget", choices=("default", "protocol"), default="default",
                        help="epochs of tfp_arch and the baselines: tfp-arch's default for the rows, or the protocol's")
    parser.add_argument("--timing", nargs="*", default=[],
                        help="sets whose epochs are timed side by side after training (e.g. wine-quality-red)")
    parser.add_argument("--split-ids", nargs="+", type=int, default=None,
                        help="run these splits and add them to the runs of the same set in the output file")
    parser.add_argument("--split-counts", nargs="*", default=[], metavar="NAME=N",
                        help="per-set split counts, e.g. power-plant=5 protein-tertiary-structure=3")
    parser.add_argument("--output", default="bnn_uci_defaults",
                        help="result file: a name in benchmarks/results or a path (runs of other sets in it are kept)")
    args = parser.parse_args()
    require(UCI)
    names = ["wine-quality-red"] if args.quick else (args.datasets or DATASETS)
    splits = 2 if args.quick else args.splits
    results = read_result(args.output)
    results.setdefault("datasets", {})
    results.update({
        "config": CONFIG,
        "published_wine_quality_red": {"mean_field_vi": [0.65, -0.98], "pbp": [0.64, -0.97], "mc_dropout": [0.62, -0.93]},
        "published": PUBLISHED,
        "budget": args.budget,
        "notes": "epoch_seconds: median over the epochs after the first of 5 side-by-side rounds of 4 epochs per model "
                 "after training (epoch_seconds_in_training: median over the training epochs after the first); "
                 "predict_seconds: median of 3 predictions of the test set with 100 weight samples for tfp_arch (one "
                 "batched call), one timed run of 100 eager calls for tf_keras on split 0 of each set (traced "
                 "tf.function calls for tf_keras_tuned). tfp_arch settings are the plugin's defaults for regression "
                 "data, chosen on validation cuts of several sets (bnn_validation.py); the tf_keras references copy "
                 "the network, likelihood and initial scales, with Adam at 0.01 as TFP's regression tutorial.",
    })
    counts = dict(item.split("=") for item in args.split_counts)
    for name in names:

        def write(document: dict, name: str = name) -> None:
            results["datasets"][name] = document
            write_result("bnn_uci", results, args.output)

        earlier = results["datasets"].get(name, {}).get("runs", []) if args.split_ids else []
        write(run_dataset(name, int(counts[name]) if name in counts else splits, timed=name in args.timing,
                          models=tuple(args.models), budget=args.budget, on_split=write, split_ids=args.split_ids,
                          earlier=earlier))
    for name, measured in results["datasets"].items():
        print(f"{name} ({measured['splits_run']} splits): mean ± standard error over the splits")
        print_table(measured["summary"], ("rmse", "log_likelihood", "coverage_90", "train_seconds", "predict_seconds"),
                    title="model")
        print_table({"tfp_arch": measured["ratios"]}, tuple(measured["ratios"]), title="ratios")
    print(f"wrote {result_path(args.output)}")

if __name__ == "__main__":
    main()
