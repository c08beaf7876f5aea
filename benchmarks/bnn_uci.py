"""UCI regression protocol for the bnn architecture, side by side with tfp.layers on tf_keras.

For each data set in ../shared/data/uci and each of its fixed 90/10 splits, three models of the same
shape (one hidden layer, the protocol's width) are trained on the same tf.data pipeline:

- `tfp_arch`: `BayesianMLP` (Keras 3 `DenseVariational` layers).
- `tf_keras`: the same network built with `tfp.layers.DenseVariational` on tf_keras (mean-field
  normal posterior, standard normal prior with exact KL, learned homoscedastic noise, same
  initial posterior scale, learning rate, epochs and batch size), predicting with 100 calls.
- `keras3_mlp`: a deterministic Keras 3 MLP, for the training-time ratio.

Inputs and targets are standardised on the training part; RMSE and test log-likelihood (log-mean-exp
over 100 weight samples) are in the target's original units. Run:
    python benchmarks/bnn_uci.py [--quick] [--datasets wine-quality-red ...] [--splits N]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "uci"
RESULTS = ROOT / "benchmarks" / "results" / "bnn_uci.json"
DATASETS = ["wine-quality-red", "bostonHousing", "power-plant", "naval-propulsion-plant", "protein-tertiary-structure"]
CONFIG = {
    "learning_rate": 1e-3,
    "batch_size": 32,
    "epochs_factor": 1,
    "posterior_scale_init": 0.02,
    "prior": "standard_normal",
    "estimator": "local_reparameterization",
    "noise_scale_init": 1.0,
    "num_samples": 100,
    "steps_per_execution": 32,
}


def load_split(name: str, split: int) -> tuple[np.ndarray, ...]:
    folder = DATA / name
    data = np.loadtxt(folder / "data.txt")
    features = np.loadtxt(folder / "index_features.txt", dtype=int)
    target = int(np.loadtxt(folder / "index_target.txt"))
    train = np.loadtxt(folder / f"index_train_{split}.txt", dtype=int)
    test = np.loadtxt(folder / f"index_test_{split}.txt", dtype=int)
    x, y = data[:, features].astype("float32"), data[:, target].astype("float32")
    return x[train], y[train], x[test], y[test]


def protocol(name: str) -> dict[str, int]:
    folder = DATA / name
    return {key: int(np.loadtxt(folder / f"{key}.txt")) for key in ("n_splits", "n_hidden", "n_epochs")}


def pipeline(tf, x: np.ndarray, y: np.ndarray, batch_size: int, seed: int):
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def gaussian_mixture_metrics(y: np.ndarray, loc: np.ndarray, scale: np.ndarray) -> dict[str, float]:
    from tfp_arch_plugins.bnn.metrics import regression_metrics

    return regression_metrics(y, loc, scale)


def epoch_timer(base):
    class EpochTimer(base):
        def __init__(self) -> None:
            super().__init__()
            self.times: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.times.append(time.perf_counter() - self.start)

    return EpochTimer()


def median_time(function, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def run_ours(split_data, hidden: int, epochs: int, seed: int) -> dict[str, float]:
    import keras

    from tfp_arch_plugins.bnn import BayesianMLP

    x, y, x_test, y_test = split_data
    keras.utils.set_random_seed(seed)
    model = BayesianMLP(
        hidden_units=[hidden], prior=CONFIG["prior"], estimator=CONFIG["estimator"],
        posterior_scale_init=CONFIG["posterior_scale_init"], noise_scale_init=CONFIG["noise_scale_init"],
        num_samples=CONFIG["num_samples"],
    )
    model.compile(keras.optimizers.Adam(CONFIG["learning_rate"]), steps_per_execution=CONFIG["steps_per_execution"])
    timer = epoch_timer(keras.callbacks.Callback)
    model.fit(x, y, epochs=epochs, batch_size=CONFIG["batch_size"], verbose=0, callbacks=[timer])
    predict = median_time(lambda: model.sample_outputs(x_test, CONFIG["num_samples"]).numpy())
    outputs = model.sample_outputs(x_test, CONFIG["num_samples"], seed=seed).numpy()
    metrics = gaussian_mixture_metrics(y_test, outputs[..., 0], outputs[..., 1])
    return {**metrics, "epoch_seconds": float(np.median(timer.times[1:])), "predict_seconds": predict}


def run_tf_keras(split_data, hidden: int, epochs: int, seed: int) -> dict[str, float]:
    import tensorflow as tf
    import tensorflow_probability as tfp
    import tf_keras as tfk

    tfd, tfpl = tfp.distributions, tfp.layers
    x, y, x_test, y_test = split_data
    tfk.utils.set_random_seed(seed)
    x_mean, x_std = x.mean(0), np.where(x.std(0) > 1e-8, x.std(0), 1.0)
    y_mean, y_std = float(y.mean()), float(y.std())
    xs, ys = (x - x_mean) / x_std, (y - y_mean) / y_std
    xt = ((x_test - x_mean) / x_std).astype("float32")
    rho0 = float(np.log(np.expm1(CONFIG["posterior_scale_init"])))

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
            init = float(np.log(np.expm1(CONFIG["noise_scale_init"] - 1e-3)))
            self.rho = self.add_weight(name="rho", shape=(), initializer=tfk.initializers.Constant(init))

        def call(self, loc):
            return tf.concat([loc, tf.ones_like(loc) * (tf.nn.softplus(self.rho) + 1e-3)], -1)

    kl_weight = 1.0 / len(x)
    d_in = x.shape[1]
    model = tfk.Sequential([
        tfk.Input((d_in,)),
        tfpl.DenseVariational(hidden, posterior(d_in, hidden), prior, kl_weight=kl_weight, kl_use_exact=True,
                              activation="relu"),
        tfpl.DenseVariational(1, posterior(hidden, 1), prior, kl_weight=kl_weight, kl_use_exact=True),
        NoiseScale(),
        tfpl.DistributionLambda(lambda t: tfd.Normal(loc=t[..., :1], scale=t[..., 1:])),
    ])
    model.compile(tfk.optimizers.Adam(CONFIG["learning_rate"]), loss=lambda target, dist: -dist.log_prob(target),
                  steps_per_execution=CONFIG["steps_per_execution"])
    timer = epoch_timer(tfk.callbacks.Callback)
    data = pipeline(tf, xs.astype("float32"), ys[:, None].astype("float32"), CONFIG["batch_size"], seed)
    model.fit(data, epochs=epochs, verbose=0, callbacks=[timer])

    def predict():
        draws = [model(xt) for _ in range(CONFIG["num_samples"])]
        return np.stack([d.mean().numpy()[:, 0] for d in draws]), np.stack([d.stddev().numpy()[:, 0] for d in draws])

    start = time.perf_counter()
    loc, scale = predict()
    seconds = time.perf_counter() - start
    metrics = gaussian_mixture_metrics(y_test, loc * y_std + y_mean, scale * y_std)
    return {**metrics, "epoch_seconds": float(np.median(timer.times[1:])), "predict_seconds": seconds}


def run_deterministic(split_data, hidden: int, epochs: int, seed: int) -> dict[str, float]:
    import keras
    import tensorflow as tf

    x, y, x_test, y_test = split_data
    keras.utils.set_random_seed(seed)
    x_mean, x_std = x.mean(0), np.where(x.std(0) > 1e-8, x.std(0), 1.0)
    y_mean, y_std = float(y.mean()), float(y.std())
    model = keras.Sequential([keras.Input((x.shape[1],)), keras.layers.Dense(hidden, activation="relu"), keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(CONFIG["learning_rate"]), "mse", steps_per_execution=CONFIG["steps_per_execution"])
    timer = epoch_timer(keras.callbacks.Callback)
    data = pipeline(tf, ((x - x_mean) / x_std).astype("float32"), ((y - y_mean) / y_std).astype("float32"),
                    CONFIG["batch_size"], seed)
    model.fit(data, epochs=epochs, verbose=0, callbacks=[timer])
    prediction = model.predict(((x_test - x_mean) / x_std).astype("float32"), verbose=0)[:, 0] * y_std + y_mean
    rmse = float(np.sqrt(np.mean(np.square(prediction - y_test))))
    return {"rmse": rmse, "epoch_seconds": float(np.median(timer.times[1:]))}


def summarise(values: list[float]) -> dict[str, float]:
    array = np.asarray(values, dtype=np.float64)
    error = float(array.std(ddof=1) / np.sqrt(len(array))) if len(array) > 1 else float("nan")
    return {"mean": float(array.mean()), "stderr": error, "n": int(len(array))}


def run_dataset(name: str, splits: int | None) -> dict:
    settings = protocol(name)
    count = settings["n_splits"] if splits is None else min(splits, settings["n_splits"])
    epochs = settings["n_epochs"] * CONFIG["epochs_factor"]
    runs = []
    for split in range(count):
        split_data = load_split(name, split)
        row = {"split": split}
        for label, runner in (("tfp_arch", run_ours), ("tf_keras", run_tf_keras), ("keras3_mlp", run_deterministic)):
            row[label] = runner(split_data, settings["n_hidden"], epochs, seed=split)
        runs.append(row)
        print(name, split, {k: {m: round(v, 4) for m, v in row[k].items()} for k in ("tfp_arch", "tf_keras", "keras3_mlp")},
              flush=True)
    summary = {}
    for label in ("tfp_arch", "tf_keras", "keras3_mlp"):
        summary[label] = {metric: summarise([r[label][metric] for r in runs]) for metric in runs[0][label]}
    ratios = {
        "epoch_time_vs_tf_keras": summarise([r["tfp_arch"]["epoch_seconds"] / r["tf_keras"]["epoch_seconds"] for r in runs]),
        "predict_time_vs_tf_keras": summarise([r["tfp_arch"]["predict_seconds"] / r["tf_keras"]["predict_seconds"] for r in runs]),
        "epoch_time_vs_keras3_mlp": summarise([r["tfp_arch"]["epoch_seconds"] / r["keras3_mlp"]["epoch_seconds"] for r in runs]),
    }
    return {"protocol": settings, "epochs": epochs, "splits_run": count, "runs": runs, "summary": summary, "ratios": ratios}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="wine-quality-red, 2 splits")
    parser.add_argument("--datasets", nargs="*", default=None)
    parser.add_argument("--splits", type=int, default=None, help="at most this many splits per data set")
    parser.add_argument("--output", default=str(RESULTS))
    args = parser.parse_args()
    if not DATA.exists():
        raise SystemExit(f"UCI data not found at {DATA}")
    names = ["wine-quality-red"] if args.quick else (args.datasets or DATASETS)
    splits = 2 if args.quick else args.splits
    output = Path(args.output)
    results = json.loads(output.read_text()) if output.exists() else {}
    results.setdefault("datasets", {})
    import keras
    import tensorflow as tf
    import tensorflow_probability as tfp
    import tf_keras

    results.update({
        "config": CONFIG,
        "machine": {"platform": platform.platform(), "processor": platform.processor(), "cpu_count": os.cpu_count(),
                    "python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__,
                    "tensorflow_probability": tfp.__version__, "tf_keras": tf_keras.__version__},
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "published_wine_quality_red": {"mean_field_vi": [0.65, -0.98], "pbp": [0.64, -0.97], "mc_dropout": [0.62, -0.93]},
        "notes": "epoch_seconds: median over epochs after the first (tracing excluded); predict_seconds: median of 3 "
                 "predictions of the test set with 100 weight samples for tfp_arch (one batched call), one timed run of 100 "
                 "calls for tf_keras. Hyperparameters chosen on validation splits of the wine training parts only.",
    })
    for name in names:
        results["datasets"][name] = run_dataset(name, splits)
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(results, indent=1))
    print(json.dumps({n: {"summary": d["summary"], "ratios": d["ratios"]} for n, d in results["datasets"].items()}, indent=1))


if __name__ == "__main__":
    main()
