# %% [markdown]
# # TFP Probabilistic Layers: Regression, on Keras 3
#
# A port of TensorFlow Probability's tutorial "TFP Probabilistic Layers: Regression"
# (https://www.tensorflow.org/probability/examples/Probabilistic_Layers_Regression), cases 1-5, by
# renaming `tfp.layers` to `tfp_arch.layers` and `tf_keras` to `keras`. Every model is built by one
# function, `build(case, keras, tfpl)`, that holds the tutorial's code with the two modules as
# arguments: `build(case, keras, tfp_arch.layers)` is the port and `build(case, tf_keras, tfp.layers)`
# is TFP's original, which the full run trains beside it at the same budget.
#
# Lines that differ from TFP's, and why:
# - `self.add_variable(initializer=..., dtype=dtype, name=...)` in the tutorial's `RBFKernelFn` is
#   `self.add_weight(...)` here: Keras 3's `add_variable` requires a `shape`; `add_weight` (the same
#   scalar variable) exists in both Keras versions.
# - `tf.optimizers.Adam` in case 5 is `keras.optimizers.Adam`: under Keras 3, `tf.optimizers` is
#   Keras 3's module, which a tf_keras model cannot use, so the rename must name the module.
# - Case 5 wraps its loss in `LossOfDtype(loss, dtype=x.dtype)` (two added lines, skipped on tf_keras,
#   and the eight-line class below): Keras 3 casts a model's output to the loss's dtype (float32 unless
#   the loss says otherwise) before the loss sees it, which turns the case's float64 distribution into
#   a tensor.
# - The tutorial's data generator is kept as is (`load_dataset`, seed 43). The tutorial has no held-out
#   targets, so `load_test_set` draws 150 more points from the same process (seed 44) to report a
#   test NLL and RMSE; the tutorial's plots are left out.
#
# Run it as a script: `python examples/tfp_regression_tutorial.py` trains the five models with our
# layers and with tfp.layers on tf_keras for the tutorial's 1,000 epochs each and prints both sets
# of results; `--quick` trains ours only, for a few epochs (the test suite runs it).

# %%
from __future__ import annotations

import argparse
import time
from typing import Any

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

import tfp_arch.layers

tfd = tfp.distributions
CASES = (1, 2, 3, 4, 5)

# %% [markdown]
# ## The data (the tutorial's generator)

# %%
w0 = 0.125
b0 = 5.0
x_range = [-20, 60]


def load_dataset(n=150, n_tst=150):
    np.random.seed(43)

    def s(x):
        g = (x - x_range[0]) / (x_range[1] - x_range[0])
        return 3 * (0.25 + g**2.0)

    x = (x_range[1] - x_range[0]) * np.random.rand(n) + x_range[0]
    eps = np.random.randn(n) * s(x)
    y = (w0 * x * (1.0 + np.sin(x)) + b0) + eps
    x = x[..., np.newaxis]
    x_tst = np.linspace(*x_range, num=n_tst).astype(np.float32)
    x_tst = x_tst[..., np.newaxis]
    return y, x, x_tst


def load_test_set(n=150, seed=44):
    """Held-out points from the tutorial's process (the tutorial itself has none)."""
    rng = np.random.RandomState(seed)
    x = (x_range[1] - x_range[0]) * rng.rand(n) + x_range[0]
    g = (x - x_range[0]) / (x_range[1] - x_range[0])
    y = (w0 * x * (1.0 + np.sin(x)) + b0) + rng.randn(n) * 3 * (0.25 + g**2.0)
    return y[..., np.newaxis], x[..., np.newaxis]


class LossOfDtype(keras.losses.Loss):
    """A loss function of a given dtype, so that Keras 3 hands it a float64 distribution unchanged."""

    def __init__(self, fn, dtype):
        super().__init__(dtype=dtype)
        self.fn = fn

    def call(self, y_true, y_pred):
        if len(y_true.shape) == len(y_pred.shape) - 1:  # as Keras' own wrapper of a loss function
            y_true = y_true[..., None]
        return self.fn(y_true, y_pred)


y, x, x_tst = load_dataset()
negloglik = lambda y, rv_y: -rv_y.log_prob(y)  # noqa: E731 (the tutorial's loss)


# %% [markdown]
# ## The five models: the tutorial's code, with `keras` and `tfpl` as arguments


# %%
def build(case: int, keras: Any, tfpl: Any) -> tuple[Any, dict[str, Any]]:
    """Case `case` of the tutorial: the compiled model and its `fit` arguments."""
    if case == 1:  # No uncertainty
        model = keras.Sequential([
            keras.layers.Dense(1),
            tfpl.DistributionLambda(lambda t: tfd.Normal(loc=t, scale=1)),
        ])
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss=negloglik)
        return model, {}

    if case == 2:  # Aleatoric uncertainty
        model = keras.Sequential([
            keras.layers.Dense(1 + 1),
            tfpl.DistributionLambda(
                lambda t: tfd.Normal(loc=t[..., :1], scale=1e-3 + tf.math.softplus(0.05 * t[..., 1:]))),
        ])
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss=negloglik)
        return model, {}

    # Specify the surrogate posterior over `keras.layers.Dense` `kernel` and `bias`.
    def posterior_mean_field(kernel_size, bias_size=0, dtype=None):
        n = kernel_size + bias_size
        c = np.log(np.expm1(1.0))
        return keras.Sequential([
            tfpl.VariableLayer(2 * n, dtype=dtype),
            tfpl.DistributionLambda(lambda t: tfd.Independent(
                tfd.Normal(loc=t[..., :n], scale=1e-5 + tf.nn.softplus(c + t[..., n:])),
                reinterpreted_batch_ndims=1)),
        ])

    # Specify the prior over `keras.layers.Dense` `kernel` and `bias`.
    def prior_trainable(kernel_size, bias_size=0, dtype=None):
        n = kernel_size + bias_size
        return keras.Sequential([
            tfpl.VariableLayer(n, dtype=dtype),
            tfpl.DistributionLambda(lambda t: tfd.Independent(
                tfd.Normal(loc=t, scale=1),
                reinterpreted_batch_ndims=1)),
        ])

    if case == 3:  # Epistemic uncertainty
        model = keras.Sequential([
            tfpl.DenseVariational(1, posterior_mean_field, prior_trainable, kl_weight=1 / x.shape[0]),
            tfpl.DistributionLambda(lambda t: tfd.Normal(loc=t, scale=1)),
        ])
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss=negloglik)
        return model, {}

    if case == 4:  # Aleatoric & epistemic uncertainty
        model = keras.Sequential([
            tfpl.DenseVariational(1 + 1, posterior_mean_field, prior_trainable, kl_weight=1 / x.shape[0]),
            tfpl.DistributionLambda(
                lambda t: tfd.Normal(loc=t[..., :1], scale=1e-3 + tf.math.softplus(0.01 * t[..., 1:]))),
        ])
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss=negloglik)
        return model, {}

    # Case 5: functional uncertainty
    class RBFKernelFn(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            dtype = kwargs.get("dtype", None)

            self._amplitude = self.add_weight(  # the tutorial: add_variable
                initializer=tf.constant_initializer(0), dtype=dtype, name="amplitude")

            self._length_scale = self.add_weight(  # the tutorial: add_variable
                initializer=tf.constant_initializer(0), dtype=dtype, name="length_scale")

        def call(self, x):
            # Never called -- this is just a layer so it can hold variables
            # in a way Keras understands.
            return x

        @property
        def kernel(self):
            return tfp.math.psd_kernels.ExponentiatedQuadratic(
                amplitude=tf.nn.softplus(0.1 * self._amplitude),
                length_scale=tf.nn.softplus(5.0 * self._length_scale))

    num_inducing_points = 40
    model = keras.Sequential([
        keras.layers.InputLayer(input_shape=[1], dtype=x.dtype),
        keras.layers.Dense(1, kernel_initializer="ones", use_bias=False),
        tfpl.VariationalGaussianProcess(
            num_inducing_points=num_inducing_points,
            kernel_provider=RBFKernelFn(dtype=x.dtype),
            event_shape=[1],
            inducing_index_points_initializer=tf.constant_initializer(
                np.linspace(*x_range, num=num_inducing_points, dtype=x.dtype)[..., np.newaxis]),
            unconstrained_observation_noise_variance_initializer=(
                tf.constant_initializer(np.array(0.54).astype(x.dtype))),
        ),
    ])
    batch_size = 32
    loss = lambda y, rv_y: rv_y.variational_loss(y, kl_weight=np.array(batch_size, x.dtype) / x.shape[0])  # noqa: E731
    if keras.__name__ == "keras":  # not in the tutorial: see the module docstring
        loss = LossOfDtype(loss, dtype=x.dtype)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss=loss)  # the tutorial: tf.optimizers
    return model, {"batch_size": batch_size}


# %% [markdown]
# ## Training and held-out metrics


# %%
def train(model: Any, fit_kwargs: dict[str, Any], epochs: int, callbacks: Any = None) -> dict[str, float]:
    """`model.fit` on the tutorial's data; the final training loss and the time per epoch."""
    start = time.perf_counter()
    history = model.fit(x, y, epochs=epochs, verbose=False, callbacks=callbacks, **fit_kwargs)
    seconds = time.perf_counter() - start
    return {"final_loss": float(history.history["loss"][-1]), "seconds_per_epoch": seconds / epochs}


def evaluate(model: Any, case: int, draws: int = 20) -> dict[str, float]:
    """Test NLL (of the predictive mixture over `draws` calls for the variational cases) and RMSE."""
    y_test, x_test = load_test_set()
    calls = draws if case in (3, 4) else 1
    log_probs, means = [], []
    for _ in range(calls):
        rv = model(x_test.astype(np.float32) if case < 5 else x_test)
        mean, std = np.asarray(rv.mean(), np.float64), np.asarray(rv.stddev(), np.float64)
        log_probs.append(-0.5 * ((y_test - mean) / std) ** 2 - np.log(std) - 0.5 * np.log(2 * np.pi))
        means.append(mean)
    stacked = np.stack(log_probs)
    peak = stacked.max(axis=0)
    mixture = peak + np.log(np.exp(stacked - peak).mean(axis=0))
    rmse = np.sqrt(np.mean((y_test - np.mean(means, axis=0)) ** 2))
    return {"test_nll": float(-mixture.mean()), "test_rmse": float(rmse)}


def run(case: int, keras_module: Any, tfpl: Any, epochs: int, seed: int) -> dict[str, float]:
    """Build, train and evaluate one case with the given Keras and layers modules."""
    keras_module.utils.set_random_seed(seed)
    model, fit_kwargs = build(case, keras_module, tfpl)
    return {**train(model, fit_kwargs, epochs), **evaluate(model, case)}


# %%
def main() -> None:
    parser = argparse.ArgumentParser(description="TFP's regression tutorial on Keras 3, beside the original.")
    parser.add_argument("--quick", action="store_true", help="a few epochs, our layers only (for the tests)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs per model (default: the tutorial's 1000)")
    parser.add_argument("--seed", type=int, default=0)
    args, _ = parser.parse_known_args()
    epochs = args.epochs or (15 if args.quick else 1000)
    ports = {"tfp_arch on keras 3": (keras, tfp_arch.layers)}
    if not args.quick:
        import tf_keras

        ports["tfp.layers on tf_keras"] = (tf_keras, tfp.layers)
    print(f"{epochs} epochs, seed {args.seed}, 150 training and 150 held-out points")
    print(f"{'case':<6}{'layers':<24}{'final loss':>12}{'test NLL':>10}{'test RMSE':>11}{'s/epoch':>9}")
    for case in CASES:
        for label, (keras_module, tfpl) in ports.items():
            result = run(case, keras_module, tfpl, epochs, args.seed)
            print(f"{case:<6}{label:<24}{result['final_loss']:>12.3f}{result['test_nll']:>10.3f}"
                  f"{result['test_rmse']:>11.3f}{result['seconds_per_epoch']:>9.4f}")


if __name__ == "__main__":
    main()
