"""The strongest published baselines of the UCI regression protocol, rebuilt in Keras 3 for a side-by-side run.

- `mc_dropout` (Gal & Ghahramani 2016): `Dropout` on the inputs and after the hidden layer, kept on at
  prediction, L2 weight decay `l^2 (1 - p) / (2 N tau)` with length-scale `l = 0.01`, a Gaussian
  likelihood of precision `tau`. The dropout rate `p` and `tau` are chosen by a grid search on a
  validation cut (80/20) of the training part (the best validation log-likelihood), as in Gal's
  "grid search" results; the chosen network is then trained again on the whole training part. Gal's
  `tau` grids were set per data set in the targets' units; here `tau` is a precision of the
  standardised targets on one wide grid (`TAU_GRID`, noise deviations from 0.001 to 1.4) for every
  set. Its weight decay is negligible (`l^2 / (2 N tau)` below 1e-6), so one network per dropout
  rate is trained on the cut (with the decay of `tau = 1`) and `tau` is chosen on its predictions.
- `deep_ensemble` (Lakshminarayanan et al. 2017): 5 networks with a heteroscedastic Gaussian output
  (mean, softplus variance), trained on the negative log-likelihood from different random
  initialisations, each on its own shuffle of the data (no adversarial training); the prediction is
  the equally weighted mixture.

Every network has the protocol's one hidden ReLU layer of the same width as ours and trains with
Adam at the same budget as `tfp_arch` (the same epochs of batches of 32, and the same cosine decay
from `tfp_arch.schedules.budget_peak(steps)`). The networks of a grid or an ensemble are trained side
by side as the branches of one Keras model (disjoint weights, so each trains as it would alone), and
the epochs are fed as one long epoch, which spares Keras' cost per epoch. Inputs and targets are
standardised on the training rows; metrics are in the targets' units, as `regression_metrics`
computes them for a mixture (100 dropout masks for MC dropout, the 5 members for the ensemble).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
from harness import cut, standardise

__all__ = ["DROPOUT_GRID", "ENSEMBLE_SIZE", "TAU_GRID", "deep_ensemble", "mc_dropout"]

DROPOUT_GRID = (0.005, 0.01, 0.05, 0.1)
TAU_GRID = tuple(float(t) for t in np.geomspace(0.5, 1e6, 43))
LENGTH_SCALE = 1e-2
ENSEMBLE_SIZE = 5
MC_SAMPLES = 100
BATCH_SIZE = 32


def _optimizer(steps: int):
    import keras

    from tfp_arch.schedules import budget_peak

    peak = budget_peak(steps)
    return keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(peak, max(steps, 1), alpha=0.01))


def _feed(x: np.ndarray, y: np.ndarray, epochs: int, copies: int, seed: int):
    """`epochs` passes in batches of 32 as one dataset: `(B, copies, d)` inputs and `(B, copies, 1)` targets,
    each copy in its own shuffled order."""
    import tensorflow as tf

    def one(i: int):
        data = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=seed * 101 + i,
                                                                  reshuffle_each_iteration=True)
        return data.repeat(epochs)

    zipped = tf.data.Dataset.zip(tuple(one(i) for i in range(copies)))
    stacked = zipped.map(lambda *pairs: (tf.stack([p[0] for p in pairs]), tf.stack([p[1] for p in pairs])[:, None]))
    return stacked.batch(BATCH_SIZE).prefetch(tf.data.AUTOTUNE)


def _branches(d_in: int, hidden: int, copies: int, heads: int, rates: Sequence[float], decays: Sequence[float]):
    """One model of `copies` independent MLPs; input `(B, copies, d)`, output `(B, copies, heads)`."""
    import keras

    inputs = keras.Input((copies, d_in))
    outputs = []
    for i in range(copies):
        regularizer = keras.regularizers.L2(decays[i]) if decays[i] else None
        h = keras.layers.Lambda(lambda t, i=i: t[:, i])(inputs)
        h = keras.layers.Dropout(rates[i])(h) if rates[i] else h
        h = keras.layers.Dense(hidden, activation="relu", kernel_regularizer=regularizer,
                               bias_regularizer=regularizer)(h)
        h = keras.layers.Dropout(rates[i])(h) if rates[i] else h
        outputs.append(keras.layers.Dense(heads, kernel_regularizer=regularizer, bias_regularizer=regularizer)(h))
    return keras.Model(inputs, keras.ops.stack(outputs, axis=1))


def _train(model, loss, x, y, epochs: int, copies: int, seed: int) -> float:
    steps = epochs * int(np.ceil(len(x) / BATCH_SIZE))
    model.compile(_optimizer(steps), loss=loss, steps_per_execution=32)
    start = time.perf_counter()
    model.fit(_feed(x, y, epochs, copies, seed), epochs=1, verbose=0, shuffle=False)
    return time.perf_counter() - start


def _squared_error(y_true, y_pred):
    import keras

    return keras.ops.sum(keras.ops.square(y_pred[..., 0] - y_true[..., 0]), axis=-1)


def _dropout_draws(model, x: np.ndarray, copies: int, samples: int = MC_SAMPLES, chunk: int = 10) -> np.ndarray:
    """`(samples, copies, N)` predictions with dropout on: `chunk` masks per call, the rows tiled."""
    import keras

    tiled = np.tile(np.repeat(x[:, None, :], copies, axis=1), (chunk, 1, 1))
    draws = []
    for _ in range(samples // chunk):
        out = keras.ops.convert_to_numpy(model(tiled, training=True))[..., 0]
        draws.append(out.reshape(chunk, len(x), copies).transpose(0, 2, 1))
    return np.concatenate(draws)


def _log_likelihood(y: np.ndarray, loc: np.ndarray, scale: float) -> float:
    """Mean log-density of `y` under the equally weighted mixture of `Normal(loc[s], scale)`."""
    from tfp_arch.plugins.bnn.metrics import logsumexp

    log_pdf = -0.5 * np.square((y[None] - loc) / scale) - np.log(scale) - 0.5 * np.log(2 * np.pi)
    return float(np.mean(logsumexp(log_pdf, axis=0) - np.log(len(loc))))


def mc_dropout(split_data, hidden: int, epochs_for, seed: int) -> dict[str, float]:
    """MC dropout with `(p, tau)` chosen on a validation cut (80/20) of the training part.

    Args:
        split_data: `(x, y, x_test, y_test)` in original units.
        hidden: hidden units.
        epochs_for: the epochs for a number of training rows (the budget of `tfp_arch`).
        seed: seed of the initial weights, the cut and the data order.
    """
    import keras

    from tfp_arch.plugins.bnn.metrics import regression_metrics

    x, y, x_test, y_test = split_data
    fit, val = cut(len(x), 0.8, seed=1000 + seed)
    xs, xv, _, _ = standardise(x[fit], x[val])
    ys, y_mean, y_std = standardise(y[fit], floor=0.0)
    n, rates = len(fit), DROPOUT_GRID
    keras.utils.set_random_seed(seed)
    searched = _branches(x.shape[1], hidden, len(rates), 1, rates, [LENGTH_SCALE**2 * (1 - p) / (2 * n) for p in rates])
    search_seconds = _train(searched, _squared_error, xs, ys, epochs_for(n), len(rates), seed)
    draws = _dropout_draws(searched, xv, len(rates)) * y_std + y_mean
    scores = {}
    for i, p in enumerate(rates):
        for tau in TAU_GRID:
            scores[p, tau] = _log_likelihood(y[val], draws[:, i], float(y_std) / np.sqrt(tau))
    p, tau = max(scores, key=scores.__getitem__)

    xs, xt, _, _ = standardise(x, x_test)
    ys, y_mean, y_std = standardise(y, floor=0.0)
    keras.utils.set_random_seed(seed)
    model = _branches(x.shape[1], hidden, 1, 1, [p], [LENGTH_SCALE**2 * (1 - p) / (2 * len(x) * tau)])
    train_seconds = _train(model, _squared_error, xs, ys, epochs_for(len(x)), 1, seed)
    start = time.perf_counter()
    loc = _dropout_draws(model, xt, 1)[:, 0] * y_std + y_mean
    predict_seconds = time.perf_counter() - start
    metrics = regression_metrics(y_test, loc, np.full_like(loc, float(y_std) / np.sqrt(tau)))
    return {**metrics, "dropout": p, "tau_standardised": tau, "train_seconds": train_seconds,
            "search_seconds": search_seconds, "predict_seconds": predict_seconds}


def _gaussian_nll(y_true, y_pred):
    import keras

    variance = keras.ops.softplus(y_pred[..., 1]) + 1e-6
    error = keras.ops.square(y_true[..., 0] - y_pred[..., 0])
    return keras.ops.sum(0.5 * keras.ops.log(variance) + 0.5 * error / variance, axis=-1)


def deep_ensemble(split_data, hidden: int, epochs: int, seed: int) -> dict[str, float]:
    """Five heteroscedastic networks trained on the NLL; metrics of their equally weighted mixture."""
    import keras

    from tfp_arch.plugins.bnn.metrics import regression_metrics

    x, y, x_test, y_test = split_data
    xs, xt, _, _ = standardise(x, x_test)
    ys, y_mean, y_std = standardise(y, floor=0.0)
    keras.utils.set_random_seed(seed)
    model = _branches(x.shape[1], hidden, ENSEMBLE_SIZE, 2, [0.0] * ENSEMBLE_SIZE, [0.0] * ENSEMBLE_SIZE)
    train_seconds = _train(model, _gaussian_nll, xs, ys, epochs, ENSEMBLE_SIZE, seed)
    start = time.perf_counter()
    out = keras.ops.convert_to_numpy(model(np.repeat(xt[:, None, :], ENSEMBLE_SIZE, axis=1)))
    predict_seconds = time.perf_counter() - start
    loc = out[..., 0].T * y_std + y_mean
    scale = np.sqrt(np.logaddexp(0.0, out[..., 1].T) + 1e-6) * y_std
    return {**regression_metrics(y_test, loc, scale), "train_seconds": train_seconds,
            "predict_seconds": predict_seconds}
