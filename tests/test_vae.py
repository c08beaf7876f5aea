"""The variational autoencoder: the ELBO and importance-weighted bounds against a closed-form log p(x),
training, the public methods, saving and plotting."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import tensorflow_probability as tfp
import tfp_arch.plugins.vae.importance as importance
from tfp_arch.plugins.vae import VariationalAutoencoder
from tfp_arch.plugins.vae.model import binarize

from tfp_arch.data import make_synthetic

D, LATENT, SIGMA = 4, 2, 0.5
RNG = np.random.default_rng(0)
W = RNG.normal(size=(LATENT, D))
B = RNG.normal(size=D)


def softplus_inverse(y: np.ndarray) -> np.ndarray:
    return np.log(np.expm1(y))


def exact_log_px(x: np.ndarray) -> np.ndarray:
    """log N(x; b, W^T W + sigma^2 I): the marginal of the linear-Gaussian model z ~ N(0, I), x | z ~ N(zW + b, sigma^2 I)."""
    cov = W.T @ W + SIGMA**2 * np.eye(D)
    resid = x - B
    maha = np.einsum("ni,ij,nj->n", resid, np.linalg.inv(cov), resid)
    return -0.5 * (D * np.log(2 * np.pi) + np.linalg.slogdet(cov)[1] + maha)


def posterior_moments() -> tuple[np.ndarray, np.ndarray]:
    """The exact posterior is N((x - b) A, S) with S = (I + W W^T / sigma^2)^-1, A = W^T S / sigma^2."""
    cov = np.linalg.inv(np.eye(LATENT) + W @ W.T / SIGMA**2)
    return W.T @ cov / SIGMA**2, cov


def linear_vae(posterior: str, scale_factor: float = 1.0) -> VariationalAutoencoder:
    """A linear-Gaussian VAE whose decoder is the model above and whose encoder has the exact posterior
    mean and the exact (or a scaled, diagonal) posterior scale."""
    vae = VariationalAutoencoder(data_shape=[D], latent_dim=LATENT, hidden_units=[], likelihood="gaussian",
                                 decoder_scale=SIGMA, posterior=posterior, seed=1)
    kernel, cov = posterior_moments()
    if posterior == "normal_tril":
        chol = np.linalg.cholesky(cov) * scale_factor
        np.fill_diagonal(chol, softplus_inverse(np.diag(chol) - 1e-5))
        raw = tfp.math.fill_triangular_inverse(chol.astype("float32")).numpy()
    else:
        raw = softplus_inverse(np.sqrt(np.diag(cov)) * scale_factor - 1e-5)
    enc_kernel = np.concatenate([kernel, np.zeros((D, len(raw)))], axis=1)
    enc_bias = np.concatenate([-B @ kernel, raw])
    vae.encoder.layers[-1].set_weights([enc_kernel.astype("float32"), enc_bias.astype("float32")])
    vae.decoder.layers[0].set_weights([W.astype("float32"), B.astype("float32")])
    return vae


def linear_data(n: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, LATENT)) @ W + B + SIGMA * rng.normal(size=(n, D))).astype("float32")


@pytest.mark.slow
def test_exact_posterior_makes_every_bound_equal_log_px():
    vae = linear_vae("normal_tril")
    x = linear_data(50)
    expected = exact_log_px(x)
    np.testing.assert_allclose(vae.log_likelihood(x, num_samples=1), expected, atol=2e-3)
    np.testing.assert_allclose(vae.log_likelihood(x, num_samples=37), expected, atol=2e-3)
    many = linear_data(4000, seed=2)
    diff = vae.elbo(many) - exact_log_px(many)
    assert abs(diff.mean()) < 4 * diff.std() / math.sqrt(len(diff))


@pytest.mark.slow
def test_chunked_log_sum_exp_is_exact(monkeypatch):
    monkeypatch.setattr(importance, "_VALUES_PER_CALL", 3 * D * 7)
    vae = linear_vae("normal_tril")
    x = linear_data(20)
    np.testing.assert_allclose(vae.log_likelihood(x, num_samples=50, batch_size=7), exact_log_px(x), atol=2e-3)


def test_elbo_matches_closed_form_for_a_mismatched_posterior():
    vae = linear_vae("normal_diag", scale_factor=1.6)
    x = linear_data(2000)
    kernel, _ = posterior_moments()
    mean = (x - B) @ kernel
    s2 = (np.sqrt(np.diag(posterior_moments()[1])) * 1.6) ** 2
    resid = x - B - mean @ W
    expected_recon = (-0.5 * D * np.log(2 * np.pi * SIGMA**2)
                      - ((resid**2).sum(1) + (s2[:, None] * W**2).sum()) / (2 * SIGMA**2))
    expected_kl = 0.5 * (s2.sum() + (mean**2).sum(1) - LATENT - np.log(s2).sum())
    log_px, kl = importance.elbo_terms(vae, x)
    np.testing.assert_allclose(kl, expected_kl, rtol=1e-4)
    assert abs(log_px.mean() - expected_recon.mean()) < 4 * log_px.std() / math.sqrt(len(x))


def test_elbo_le_importance_weighted_bound_le_log_px_and_tightens_with_k():
    vae = linear_vae("normal_diag", scale_factor=2.5)
    x = linear_data(200)
    truth = exact_log_px(x).mean()
    elbo = vae.elbo(x, seed=0).mean()
    bounds = {k: vae.log_likelihood(x, num_samples=k, seed=0).mean() for k in (1, 10, 100, 2000)}
    gaps = {k: truth - value for k, value in bounds.items()}
    assert elbo < bounds[10] < bounds[100] < truth
    assert gaps[1] == pytest.approx(truth - elbo, abs=0.3)
    assert gaps[1] > 2.0 and gaps[1] > 10 * gaps[10] > 0 and gaps[10] > 10 * gaps[100]
    assert abs(gaps[2000]) < 0.005


def test_reparameterised_sample_has_encoder_moments():
    keras.utils.set_random_seed(0)
    vae = VariationalAutoencoder(data_shape=[3], latent_dim=2, hidden_units=[8], posterior="normal_tril", seed=2)
    x = np.tile(np.array([[0.2, 0.9, 0.4]], "float32"), (40_000, 1))
    loc, raw = vae.encoder_parameters(x)
    z = vae.latent([loc, raw], training=True).numpy().astype("float64")
    mean, scale = vae.encode(x[:1])
    cov = scale[0].astype("float64") @ scale[0].T.astype("float64")
    np.testing.assert_allclose(z.mean(0), mean[0], atol=4 * np.sqrt(np.diag(cov).max() / len(z)))
    np.testing.assert_allclose(np.cov(z.T), cov, atol=0.03 * np.abs(cov).max() + 1e-3)


def _gaussian_kl(loc: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """KL(N(loc, diag(scale^2)) || N(0, I)) per latent dimension, in closed form, in float64."""
    loc, scale = np.asarray(loc, np.float64), np.asarray(scale, np.float64)
    return 0.5 * (np.square(scale) + np.square(loc) - 1.0) - np.log(scale)


def small_shapes(n: int = 256):
    data = make_synthetic("shapes", n=n + 64, seed=3)
    return data


@pytest.mark.slow
def test_fit_tracks_reconstruction_kl_and_elbo():
    keras.utils.set_random_seed(0)
    data = small_shapes()
    vae = VariationalAutoencoder(**VariationalAutoencoder.hyperparameters_for(data), latent_dim=4, hidden_units=[64], seed=0)
    vae.compile(jit_compile=True)
    history = vae.fit(data.x_train, epochs=4, verbose=0).history
    assert vae.jit_compile is True
    for key in ("loss", "reconstruction", "kl", "elbo"):
        assert len(history[key]) == 4 and np.all(np.isfinite(history[key]))
    np.testing.assert_allclose(history["loss"], -np.array(history["elbo"]), rtol=1e-4)
    assert history["elbo"][-1] > history["elbo"][0] + 20
    metrics = vae.evaluate_metrics(data.x_test)
    assert set(metrics) == {"elbo", "log_likelihood", "reconstruction", "kl"}
    x = binarize(data.x_test, seed=0) if vae.binarize else data.x_test
    loc, scale = vae.encode(x)
    kl = _gaussian_kl(loc, scale).sum(axis=1)
    assert metrics["kl"] == pytest.approx(kl.mean(), rel=1e-4)
    # -E_q[log p(x|z)] from 64 draws of z per example, scored by TFP's decoder distribution. The metric
    # draws one z per example, so both estimates differ by noise of standard error sqrt(v / n)
    # (v: the per-example variance of log p(x|z) over draws): 4 standard errors bound the difference.
    rng = np.random.default_rng(5)
    log_px = np.array([vae.decoder_distribution((loc + scale * rng.standard_normal(loc.shape)).astype("float32"))
                       .log_prob(x).numpy() for _ in range(64)], dtype=np.float64)
    tolerance = 4.0 * math.sqrt(log_px.var(axis=0).mean() / len(x) * (1 + 1 / 64))
    assert metrics["reconstruction"] == pytest.approx(-log_px.mean(), abs=tolerance)
    assert metrics["elbo"] == pytest.approx(log_px.mean() - kl.mean(), abs=tolerance)
    assert metrics["elbo"] < metrics["log_likelihood"] < 0


@pytest.mark.slow
def test_monte_carlo_kl_is_drawn_once_per_step_and_logged_as_it_entered_the_loss():
    """With one batch per epoch, loss = reconstruction + kl holds only if the logged KL is the loss's draw."""
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(5).normal(size=(64, 3)).astype("float32")
    vae = VariationalAutoencoder(data_shape=[3], latent_dim=2, hidden_units=[8], likelihood="gaussian", seed=0)
    vae.kl_regularizer.kl_method = "monte_carlo"
    assert not vae.kl_regularizer.uses_analytic_kl
    history = vae.fit(x, epochs=4, batch_size=64, verbose=0).history
    np.testing.assert_allclose(np.subtract(history["loss"], history["reconstruction"]), history["kl"], rtol=0, atol=1e-5)
    out = vae(x[:16])
    draws = [float(np.mean(vae.kl_regularizer.kl_divergence(out["z_loc"], out["z_raw_scale"]))) for _ in range(2)]
    assert abs(draws[0] - draws[1]) > 1e-3


@pytest.mark.slow
def test_kl_weight_and_free_bits_change_the_loss_not_the_elbo():
    keras.utils.set_random_seed(0)
    data = small_shapes(128)
    vae = VariationalAutoencoder(data_shape=[16, 16, 1], latent_dim=3, hidden_units=[32], kl_weight=0.5,
                                 free_bits=1.0, seed=0)
    vae.compile(optimizer=keras.optimizers.SGD(0.0))
    history = vae.fit(data.x_train, epochs=1, batch_size=len(data.x_train), verbose=0).history
    vae(data.x_train, training=True)
    assert len(vae.losses) == 1
    per_dim = _gaussian_kl(*vae.encode(data.x_train)).mean(axis=0)
    np.testing.assert_allclose(float(vae.losses[0]), 0.5 * np.maximum(per_dim, 1.0).sum(), rtol=1e-4)
    assert history["loss"][0] == pytest.approx(history["reconstruction"][0] + float(vae.losses[0]), rel=1e-3)
    assert history["kl"][0] == pytest.approx(per_dim.sum(), rel=1e-4)
    assert history["elbo"][0] == pytest.approx(-history["reconstruction"][0] - per_dim.sum(), rel=1e-4)


def test_methods_shapes_and_values():
    keras.utils.set_random_seed(0)
    vae = VariationalAutoencoder(data_shape=[16, 16, 1], latent_dim=2, hidden_units=[16], seed=0)
    x = small_shapes(32).x_train[:10]
    loc, scale = vae.encode(x)
    assert loc.shape == (10, 2) and scale.shape == (10, 2) and np.all(scale > 0)
    decoded = vae.decode(loc)
    assert decoded.shape == (10, 16, 16, 1) and np.all((decoded > 0) & (decoded < 1))
    np.testing.assert_allclose(vae.reconstruct(x), decoded, rtol=1e-6)
    draws = vae.sample(5, seed=1)
    assert draws.shape == (5, 16, 16, 1) and set(np.unique(draws)) <= {0.0, 1.0}
    np.testing.assert_array_equal(vae.sample(5, seed=1), draws)
    assert vae.sample(5, seed=1, mean=True).shape == (5, 16, 16, 1)
    with pytest.raises(ValueError, match="`num_samples`"):
        vae.log_likelihood(x, num_samples=0)


@pytest.mark.parametrize("shape", [[10, 12, 1], [16, 16, 3]])
def test_conv_network_output_matches_image_shape(shape):
    vae = VariationalAutoencoder(data_shape=shape, latent_dim=3, network="conv", filters=[4, 8], hidden_units=[16],
                                 likelihood="gaussian")
    x = np.random.default_rng(0).normal(size=(4, *shape)).astype("float32")
    out = vae(x)
    assert tuple(out["x_params"].shape) == (4, *shape[:-1], 2 * shape[-1])
    assert vae.decode(np.zeros((2, 3), "float32")).shape == (2, *shape)


def test_gaussian_decoder_log_prob_and_learned_scale():
    vae = VariationalAutoencoder(data_shape=[3], latent_dim=2, hidden_units=[], likelihood="gaussian")
    params = np.array([[0.1, -0.2, 0.3, 0.5, -1.0, 0.0]], "float32")
    x = np.array([[0.0, 0.5, 1.0]], "float32")
    scale = np.log1p(np.exp(params[0, 3:].astype("float64"))) + 1e-3
    expected = np.sum(-0.5 * np.log(2 * np.pi * scale**2) - (x[0] - params[0, :3]) ** 2 / (2 * scale**2))
    np.testing.assert_allclose(vae.decoder_log_prob(x, params).numpy()[0], expected, rtol=1e-5)
    bern = VariationalAutoencoder(data_shape=[3], latent_dim=2, hidden_units=[])
    p = 1 / (1 + np.exp(-params[0, :3].astype("float64")))
    xb = np.array([[0.0, 1.0, 1.0]], "float32")
    expected_b = np.sum(xb[0] * np.log(p) + (1 - xb[0]) * np.log1p(-p))
    np.testing.assert_allclose(bern.decoder_log_prob(xb, params[:, :3]).numpy()[0], expected_b, rtol=1e-5)
    np.testing.assert_allclose(bern.decoder_distribution(np.zeros((1, 2))).event_shape, [3])


def test_image_decoder_blocks_of_locations_and_scales_and_a_fixed_scale():
    """The decoder puts locations then raw scales on the last axis; the head reads each value's pair."""
    rng = np.random.default_rng(1)
    out = rng.normal(size=(2, 3, 2, 4)).astype("float32")
    x = rng.normal(size=(2, 3, 2, 2)).astype("float32")
    vae = VariationalAutoencoder(data_shape=[3, 2, 2], latent_dim=2, hidden_units=[], likelihood="gaussian")
    loc, scale = out[..., :2].astype("float64"), np.log1p(np.exp(out[..., 2:].astype("float64"))) + 1e-3
    expected = (-0.5 * np.log(2 * np.pi * scale**2) - (x - loc) ** 2 / (2 * scale**2)).sum(axis=(1, 2, 3))
    np.testing.assert_allclose(vae.decoder_log_prob(x, out).numpy(), expected, rtol=1e-5)
    np.testing.assert_allclose(vae.decoder_distribution(np.zeros((1, 2))).stddev().shape, [1, 3, 2, 2])
    fixed = VariationalAutoencoder(data_shape=[3, 2, 2], latent_dim=2, hidden_units=[], likelihood="gaussian",
                                   decoder_scale=0.5)
    loc = out[..., :2].astype("float64")
    expected = (-0.5 * np.log(2 * np.pi * 0.25) - (x - loc) ** 2 / 0.5).sum(axis=(1, 2, 3))
    np.testing.assert_allclose(fixed.decoder_log_prob(x, out[..., :2]).numpy(), expected, rtol=1e-5)
    with pytest.raises(ValueError, match="`decoder_scale`"):
        VariationalAutoencoder(likelihood="gaussian", decoder_scale=0.0)


def test_hyperparameters_and_validation():
    data = make_synthetic("shapes", n=64)
    assert VariationalAutoencoder.hyperparameters_for(data) == {"data_shape": [16, 16, 1], "likelihood": "bernoulli"}
    gap = make_synthetic("two_moons", n=64)
    assert VariationalAutoencoder.hyperparameters_for(gap)["likelihood"] == "gaussian"
    vae = VariationalAutoencoder(data_shape=[2], latent_dim=1, hidden_units=[4])
    with pytest.raises(ValueError, match="Bernoulli"):
        vae.fit(gap.x_train, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="`network`"):
        VariationalAutoencoder(data_shape=[5], network="conv")
    with pytest.raises(ValueError, match="`latent_dim`"):
        VariationalAutoencoder(latent_dim=0)
    with pytest.raises(ValueError, match="`likelihood`"):
        VariationalAutoencoder(likelihood="poisson")


@pytest.mark.slow
def test_keras_round_trip(tmp_path):
    keras.utils.set_random_seed(0)
    data = small_shapes(64)
    vae = VariationalAutoencoder(data_shape=[16, 16, 1], latent_dim=3, hidden_units=[16], posterior="normal_tril",
                                 kl_weight=0.7, seed=5)
    vae.fit(data.x_train, epochs=1, verbose=0)
    path = tmp_path / "vae.keras"
    vae.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is VariationalAutoencoder and loaded.is_adapted
    assert loaded.get_config() == vae.get_config()
    for a, b in zip(vae.encode(data.x_test), loaded.encode(data.x_test)):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    np.testing.assert_allclose(loaded.log_likelihood(data.x_test, 20, seed=3), vae.log_likelihood(data.x_test, 20, seed=3),
                               rtol=1e-5)


@pytest.mark.slow
def test_lazy_build_without_data_shape():
    data = small_shapes(64)
    vae = VariationalAutoencoder(latent_dim=2, hidden_units=[8])
    vae.fit(data.x_train, epochs=1, verbose=0)
    assert vae.data_shape == [16, 16, 1]
    assert vae.get_config()["data_shape"] == [16, 16, 1]


@pytest.mark.slow
def test_plot_writes_png_with_latent_panel(tmp_path):
    data = small_shapes(64)
    vae = VariationalAutoencoder(**VariationalAutoencoder.hyperparameters_for(data), latent_dim=2, hidden_units=[8])
    path = vae.plot(str(tmp_path / "vae.png"), data)
    with open(path, "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
    flat = VariationalAutoencoder(data_shape=[2], latent_dim=2, hidden_units=[8], likelihood="gaussian")
    moons = make_synthetic("two_moons", n=100)
    assert flat.plot(str(tmp_path / "flat.png"), moons).endswith("flat.png")


@pytest.mark.slow
def test_class_attributes():
    assert VariationalAutoencoder.architecture_name == "vae"
    assert VariationalAutoencoder.task == "unsupervised"
    assert VariationalAutoencoder.has_capability("sample")
    assert VariationalAutoencoder.default_data == "synthetic:shapes"


@pytest.mark.slow
def test_binarize_grey_levels():
    grey = np.random.default_rng(0).random((200, 6, 6, 1)).astype("float32")
    drawn = binarize(grey, seed=3)
    assert set(np.unique(drawn)) == {0.0, 1.0}
    np.testing.assert_array_equal(drawn, binarize(grey, seed=3))
    assert abs(drawn.mean() - grey.mean()) < 0.02
    np.testing.assert_array_equal(binarize(drawn, seed=5), drawn)
    from tfp_arch.data import Dataset

    data = Dataset("grey", grey[:150], grey[150:], kind="images")
    hyper = VariationalAutoencoder.hyperparameters_for(data)
    assert hyper == {"data_shape": [6, 6, 1], "likelihood": "bernoulli", "binarize": True}
    vae = VariationalAutoencoder(**hyper, latent_dim=2, hidden_units=[8], seed=0)
    vae.fit(data.x_train, epochs=1, verbose=0)
    metrics = vae.evaluate_metrics(data.x_test)
    log_px, kl = importance.elbo_terms(vae, binarize(data.x_test, seed=0))
    assert metrics["elbo"] == pytest.approx(float(np.mean(log_px - kl)), rel=1e-6)
    with pytest.raises(ValueError, match="`binarize`"):
        VariationalAutoencoder(binarize=True, likelihood="gaussian")


@pytest.mark.slow
def test_full_covariance_posterior_trains_with_jit_compile():
    x = (np.random.default_rng(0).uniform(size=(64, 6)) > 0.5).astype("float32")
    keras.utils.set_random_seed(0)
    model = VariationalAutoencoder(data_shape=[6], latent_dim=2, hidden_units=[8], posterior="normal_tril")
    model.compile(jit_compile=True)
    history = model.fit(x, epochs=3, batch_size=16, verbose=0).history
    assert model.jit_compile and np.isfinite(history["loss"]).all()
