"""The Keras 3 KL regulariser: closed form and Monte Carlo KL, weight, free bits, warm-up, saving, jit."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from tfp_arch.layers.kl.gaussian_penalty import GaussianKLPenalty
from tfp_arch.layers.distributions.latent import GaussianLatent
from tfp_arch.layers.kl.warmup import KLWarmup


def softplus(x: np.ndarray) -> np.ndarray:
    return np.log1p(np.exp(x))


def kl_diag_numpy(loc, raw, prior_loc=0.0, prior_scale=1.0, min_scale=1e-5):
    """KL(N(loc, s^2) || N(m, t^2)) per dimension, written out by hand."""
    s = softplus(raw) + min_scale
    return np.log(prior_scale / s) + (s**2 + (loc - prior_loc) ** 2) / (2 * prior_scale**2) - 0.5


def tril_numpy(raw_row: np.ndarray, d: int, min_scale: float = 1e-5) -> np.ndarray:
    tril = tfp.math.fill_triangular(raw_row.astype("float32")).numpy().astype("float64")
    np.fill_diagonal(tril, softplus(np.diag(tril)) + min_scale)
    return tril


def kl_tril_numpy(loc, raw, d):
    out = []
    for mu, r in zip(loc, raw):
        scale = tril_numpy(r, d)
        cov = scale @ scale.T
        out.append(0.5 * (np.trace(cov) + mu @ mu - d - np.linalg.slogdet(cov)[1]))
    return np.array(out)


def encoder_model(regularizer: GaussianKLPenalty, d_in: int, d: int, raw_size: int, seed: int = 0):
    """x -> Dense -> [loc, raw] -> regulariser -> loc: a deterministic model whose only loss is the KL."""
    inputs = keras.Input((d_in,))
    h = keras.layers.Dense(d + raw_size, kernel_initializer=keras.initializers.RandomNormal(stddev=0.7, seed=seed),
                           bias_initializer=keras.initializers.RandomNormal(stddev=0.5, seed=seed + 1))(inputs)
    loc, raw = regularizer([h[:, :d], h[:, d:]])
    return keras.Model(inputs, loc)


def params_of(model: keras.Model, x: np.ndarray, d: int) -> tuple[np.ndarray, np.ndarray]:
    h = model.layers[1](x).numpy().astype("float64")
    return h[:, :d], h[:, d:]


X = np.random.default_rng(0).normal(size=(16, 3)).astype("float32")


@pytest.mark.parametrize("weight", [1.0, 0.37])
def test_loss_is_weight_times_analytic_kl_diag(weight):
    model = encoder_model(GaussianKLPenalty(kl_weight=weight), 3, 4, 4)
    model(X)
    loc, raw = params_of(model, X, 4)
    expected = weight * kl_diag_numpy(loc, raw).sum(axis=1).mean()
    assert len(model.losses) == 1
    np.testing.assert_allclose(float(model.losses[0]), expected, rtol=1e-5)


def test_loss_is_analytic_kl_full_covariance():
    d = 3
    model = encoder_model(GaussianKLPenalty(distribution="normal_tril", kl_weight=2.0), 3, d, 6)
    model(X)
    loc, raw = params_of(model, X, d)
    np.testing.assert_allclose(float(model.losses[0]), 2.0 * kl_tril_numpy(loc, raw, d).mean(), rtol=1e-4)


def test_non_standard_normal_prior():
    reg = GaussianKLPenalty(prior_loc=0.5, prior_scale=2.0)
    loc = np.array([[0.1, -1.0], [2.0, 0.3]], dtype="float32")
    raw = np.array([[0.0, -2.0], [1.0, 0.5]], dtype="float32")
    expected = kl_diag_numpy(loc.astype("float64"), raw.astype("float64"), 0.5, 2.0).sum(axis=1)
    np.testing.assert_allclose(reg.kl_divergence(loc, raw).numpy(), expected, rtol=1e-5)


@pytest.mark.parametrize("distribution,raw_size", [("normal_diag", 2), ("normal_tril", 3)])
def test_monte_carlo_kl_matches_closed_form(distribution, raw_size):
    rng = np.random.default_rng(1)
    loc = rng.normal(size=(3, 2)).astype("float32")
    raw = rng.normal(size=(3, raw_size)).astype("float32")
    exact = GaussianKLPenalty(distribution=distribution).kl_divergence(loc, raw).numpy()
    mc = GaussianKLPenalty(distribution=distribution, kl_method="monte_carlo", num_samples=200_000, seed=3)
    np.testing.assert_allclose(mc.kl_divergence(loc, raw).numpy(), exact, atol=0.03)


def test_laplace_prior_uses_monte_carlo_and_matches_closed_form_expectation():
    loc = np.array([[0.3, -1.2]], dtype="float32")
    raw = np.array([[0.2, -1.0]], dtype="float32")
    reg = GaussianKLPenalty(prior="laplace", prior_scale=0.8, num_samples=200_000, seed=0)
    assert not reg.uses_analytic_kl
    m, s, b = loc[0].astype("float64"), softplus(raw[0].astype("float64")) + 1e-5, 0.8
    mean_abs = s * np.sqrt(2 / np.pi) * np.exp(-(m**2) / (2 * s**2)) + m * np.array([math.erf(v) for v in m / (s * math.sqrt(2))])
    neg_entropy = -0.5 * np.log(2 * np.pi * np.e * s**2)
    expected = np.sum(neg_entropy + np.log(2 * b) + mean_abs / b)
    np.testing.assert_allclose(reg.kl_divergence(loc, raw).numpy()[0], expected, atol=0.02)
    with pytest.raises(ValueError, match="kl_method"):
        GaussianKLPenalty(prior="laplace", kl_method="analytic").kl_divergence(loc, raw)


def test_returned_kl_is_the_monte_carlo_draw_in_the_penalty():
    reg = GaussianKLPenalty(kl_weight=0.5, kl_method="monte_carlo", seed=3)
    loc = tf.constant(np.random.default_rng(0).normal(size=(6, 2)), tf.float32)
    raw = tf.zeros((6, 2))
    outputs = reg([loc, raw], return_kl=True)
    assert len(outputs) == 3 and outputs[2].shape == (6,)
    assert float(reg.losses[0]) == float(0.5 * tf.reduce_mean(outputs[2]))
    assert float(tf.reduce_mean(reg.kl_divergence(loc, raw))) != float(tf.reduce_mean(outputs[2]))
    assert len(reg([loc, raw])) == 2


def test_free_bits_floor_each_dimension_and_stop_its_gradient():
    reg = GaussianKLPenalty(free_bits=0.5)
    loc = tf.Variable([[0.05, 2.0, 0.0], [-0.05, 1.0, 0.1]])
    raw = tf.Variable(np.full((2, 3), 0.5413, dtype="float32"))  # softplus(0.5413) = 1
    with tf.GradientTape() as tape:
        penalty = reg.penalty(loc, raw)
    per_dim = kl_diag_numpy(loc.numpy().astype("float64"), raw.numpy().astype("float64")).mean(axis=0)
    assert per_dim[0] < 0.5 < per_dim[1] and per_dim[2] < 0.5
    np.testing.assert_allclose(float(penalty), np.maximum(per_dim, 0.5).sum(), rtol=1e-5)
    grad = tape.gradient(penalty, loc).numpy()
    np.testing.assert_allclose(grad[:, [0, 2]], 0.0)
    np.testing.assert_allclose(grad[:, 1], loc.numpy()[:, 1] / 2, rtol=1e-5)


def test_free_bits_on_total_kl_for_full_covariance():
    reg = GaussianKLPenalty(distribution="normal_tril", free_bits=1.0)
    loc = np.zeros((2, 2), "float32")
    raw = np.array([[0.5413, 0.1, 0.5413]] * 2, dtype="float32")
    kl = kl_tril_numpy(loc.astype("float64"), raw.astype("float64"), 2).mean()
    assert kl < 2.0
    np.testing.assert_allclose(float(reg.penalty(loc, raw)), 2.0, rtol=1e-6)


@pytest.mark.parametrize(
    "kwargs,argument",
    [({"kl_weight": -1.0}, "kl_weight"), ({"free_bits": -0.1}, "free_bits"), ({"prior": "cauchy"}, "prior"),
     ({"kl_method": "exact"}, "kl_method"), ({"prior_scale": 0.0}, "prior_scale"),
     ({"distribution": "normal"}, "distribution"), ({"num_samples": 0}, "num_samples")],
)
def test_invalid_arguments_name_the_argument(kwargs, argument):
    with pytest.raises(ValueError, match=f"`{argument}`"):
        GaussianKLPenalty(**kwargs)


def _kl_only_model(weight=1.0, jit_compile=False):
    keras.utils.set_random_seed(0)
    model = encoder_model(GaussianKLPenalty(kl_weight=weight), 3, 2, 2)
    model.compile(optimizer=keras.optimizers.SGD(0.0), jit_compile=jit_compile)
    return model


@pytest.mark.parametrize("jit_compile", [False, True])
def test_fit_reports_the_kl_loss(jit_compile):
    model = _kl_only_model(weight=0.5, jit_compile=jit_compile)
    loc, raw = params_of(model, X, 2)
    history = model.fit(X, epochs=1, batch_size=len(X), verbose=0)
    np.testing.assert_allclose(history.history["loss"][0], 0.5 * kl_diag_numpy(loc, raw).sum(1).mean(), rtol=1e-5)


@pytest.mark.slow
def test_kl_weight_variable_is_not_trainable_and_training_reduces_kl():
    keras.utils.set_random_seed(0)
    model = encoder_model(GaussianKLPenalty(), 3, 2, 2)
    reg = model.layers[-1] if isinstance(model.layers[-1], GaussianKLPenalty) else next(
        layer for layer in model.layers if isinstance(layer, GaussianKLPenalty))
    assert reg.kl_weight_variable in reg.non_trainable_weights and not reg.trainable_weights
    model.compile(optimizer=keras.optimizers.Adam(0.05), jit_compile=True)
    history = model.fit(X, epochs=30, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < 0.1 * history.history["loss"][0]


@pytest.mark.slow
def test_warmup_anneals_weight_without_retracing(monkeypatch):
    model = _kl_only_model(weight=2.0, jit_compile=True)
    loc, raw = params_of(model, X, 2)
    kl = kl_diag_numpy(loc, raw).sum(1).mean()
    traces = []
    penalty = GaussianKLPenalty.penalty

    def counting_penalty(self, *args):
        traces.append(1)
        return penalty(self, *args)

    monkeypatch.setattr(GaussianKLPenalty, "penalty", counting_penalty)
    counts = []
    record = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: counts.append(len(traces)))
    warmup = KLWarmup(epochs=4)
    history = model.fit(X, epochs=6, batch_size=len(X), verbose=0, callbacks=[warmup, record])
    betas = [0.0, 0.5, 1.0, 1.5, 2.0, 2.0]
    np.testing.assert_allclose(history.history["kl_weight"], betas)
    np.testing.assert_allclose(history.history["loss"], np.array(betas) * kl, rtol=1e-5, atol=1e-7)
    assert counts[0] >= 1 and counts == [counts[0]] * 6


def test_warmup_explicit_final_weight_and_errors():
    warmup = KLWarmup(epochs=2, final_weight=0.1, initial_weight=0.02)
    assert warmup.weight_at(0, 0.1) == pytest.approx(0.02)
    assert warmup.weight_at(1, 0.1) == pytest.approx(0.06)
    assert warmup.weight_at(5, 0.1) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="`epochs`"):
        KLWarmup(epochs=0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="GaussianKLPenalty"):
        model.fit(X, X[:, :1], epochs=1, verbose=0, callbacks=[KLWarmup(epochs=2)])


@pytest.mark.slow
def test_keras_round_trip_keeps_config_and_current_weight(tmp_path):
    inputs = keras.Input((3,))
    h = keras.layers.Dense(6)(inputs)
    reg = GaussianKLPenalty(distribution="normal_tril", kl_weight=0.8, free_bits=0.1, prior_scale=1.5, name="kl")
    loc, raw = reg([h[:, :2], h[:, 2:5]])
    z = GaussianLatent(distribution="normal_tril", seed=4, name="z")([loc, raw])
    model = keras.Model(inputs, [z, loc])
    reg.set_kl_weight(0.25)
    path = tmp_path / "kl.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    loaded_reg = loaded.get_layer("kl")
    assert isinstance(loaded_reg, GaussianKLPenalty)
    assert loaded_reg.get_config() == reg.get_config()
    assert float(loaded_reg.kl_weight_variable) == pytest.approx(0.25)
    assert loaded.get_layer("z").get_config() == model.get_layer("z").get_config()
    np.testing.assert_allclose(loaded(X)[1].numpy(), model(X)[1].numpy(), rtol=1e-6)
    loaded(X)
    model(X)
    np.testing.assert_allclose(float(loaded.losses[0]), float(model.losses[0]), rtol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("kl_method", ["analytic", "monte_carlo"])
def test_full_covariance_trains_under_jit_compile(kl_method):
    keras.utils.set_random_seed(0)
    regularizer = GaussianKLPenalty("normal_tril", kl_method=kl_method, num_samples=4, seed=1)
    model = encoder_model(regularizer, 3, 2, 3)
    model.compile(optimizer=keras.optimizers.SGD(0.05), jit_compile=True)
    loc, raw = params_of(model, X, 2)
    history = model.fit(X, epochs=20, batch_size=len(X), verbose=0).history["loss"]
    if kl_method == "analytic":
        np.testing.assert_allclose(history[0], kl_tril_numpy(loc, raw, 2).mean(), rtol=1e-5)
    assert np.isfinite(history).all() and history[-1] < 0.5 * history[0]


@pytest.mark.slow
def test_warmup_also_anneals_variational_layers_from_their_automatic_weight():
    from tfp_arch.layers.variational.dense import DenseVariational
    from tfp_arch.layers.kl.weight import set_kl_weight

    model = keras.Sequential([keras.Input((3,)), DenseVariational(2, seed=0), DenseVariational(1, kl_weight=0.5, seed=1)])
    model.compile(optimizer="sgd", loss="mse")
    set_kl_weight(model, 0.01)
    warmup = KLWarmup(epochs=2)
    history = model.fit(X, X[:, :1], epochs=3, batch_size=len(X), verbose=0, callbacks=[warmup])
    np.testing.assert_allclose(history.history["kl_weight"], [0.0, 0.005, 0.01], rtol=1e-6)
    assert float(model.layers[1].kl_weight_variable) == pytest.approx(0.5)
