"""Importance-weighted estimate of log p(x) (Burda et al. 2016), in bounded memory, and the ELBO."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import tensorflow as tf

from tfp_arch.seeding import seed_pairs
from tfp_arch.validation import positive_int

if TYPE_CHECKING:
    from tfp_arch.plugins.vae.model import VariationalAutoencoder

__all__ = ["elbo_terms", "importance_weighted_log_likelihood", "log_weights"]

_VALUES_PER_CALL = 4_000_000


def log_weights(model: VariationalAutoencoder, x: tf.Tensor, num: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """log w = log p(x|z) + log p(z) - log q(z|x) for `num` draws per example, `(num, batch)`, stateless from `seed`."""
    loc, raw_scale = model.encoder_parameters(x)
    regularizer = model.kl_regularizer
    q = regularizer.posterior(loc, raw_scale)
    p = regularizer.prior_distribution(model.latent_dim, loc.dtype)
    eps = tf.random.stateless_normal(tf.concat([[num], tf.shape(loc)], 0), seed=seed, dtype=loc.dtype)
    scale = model.latent.scale(raw_scale)
    z = loc + (scale * eps if model.posterior == "normal_diag" else tf.linalg.matvec(scale, eps))
    batch = tf.shape(loc)[0]
    params = model.decoder(tf.reshape(z, [-1, model.latent_dim]))
    x_rep = tf.reshape(tf.repeat(x[tf.newaxis], num, axis=0), tf.concat([[-1], tf.shape(x)[1:]], 0))
    log_px = tf.reshape(model.decoder_log_prob(x_rep, params), [num, batch])
    return log_px + p.log_prob(z) - q.log_prob(z)


def _log_weights_fn(model: VariationalAutoencoder) -> Callable[..., tf.Tensor]:
    """`log_weights` of `model`, traced."""
    return tf.function(lambda x, num, seed: log_weights(model, x, num, seed), reduce_retracing=True)


def _stateless_pairs(pair: Any) -> Iterator[tf.Tensor]:
    """`fold_in(pair, c)` for c = 0, 1, ..., as int32 pairs."""
    pair = tf.cast(tf.convert_to_tensor(pair), tf.int64)
    count = 0
    while True:
        yield tf.cast(tf.random.experimental.stateless_fold_in(pair, count), tf.int32)
        count += 1


def importance_weighted_log_likelihood(
    model: VariationalAutoencoder,
    x: np.ndarray,
    num_samples: int,
    seed: int | tuple[int, int] = 0,
    batch_size: int | None = None,
) -> np.ndarray:
    """log p(x) ~= log (1/k) sum_i p(x, z_i) / q(z_i | x), z_i ~ q(z | x), per example.

    The bound is a lower bound of log p(x) in expectation, equals a one-sample ELBO for k = 1, and
    tightens as k grows. Examples and draws are processed in chunks of at most a few million data
    values, combined with a running log-sum-exp, so memory stays bounded for any k.

    Args:
        model: a built variational autoencoder.
        x: data, `(n, *data_shape)`.
        num_samples: importance samples k per example.
        seed: seed of the draws: an integer (the chunks' seeds are drawn by NumPy from it), or a
            stateless pair `(s0, s1)`, from which chunk c draws with `fold_in((s0, s1), c)` (what the
            exported `log_likelihood` signature does with seed `s` and the pair `(s, 0)`, in one chunk).
        batch_size: examples per chunk (default: chosen from the data size).

    Returns:
        The estimates, `(n,)`, in nats.
    """
    positive_int("num_samples", num_samples)
    x = np.asarray(x, dtype="float32")
    values = max(1, math.prod(x.shape[1:]))
    batch_size = batch_size or max(1, min(len(x), 256, _VALUES_PER_CALL // values))
    per_call = max(1, min(num_samples, _VALUES_PER_CALL // (values * batch_size)))
    fn = model._cached("log_weights", _log_weights_fn)
    pairs = _stateless_pairs(seed) if isinstance(seed, (tuple, list, tf.Tensor, np.ndarray)) else seed_pairs(seed)
    out = np.empty(len(x), dtype="float64")
    for start in range(0, len(x), batch_size):
        xb = tf.constant(x[start : start + batch_size])
        total = np.full(len(xb), -np.inf)
        done = 0
        while done < num_samples:
            num = min(per_call, num_samples - done)
            log_w = fn(xb, tf.constant(num, tf.int32), next(pairs)).numpy().astype("float64")
            total = np.logaddexp(total, _logsumexp(log_w))
            done += num
        out[start : start + batch_size] = total - math.log(num_samples)
    return out


def _logsumexp(values: np.ndarray) -> np.ndarray:
    top = values.max(axis=0)
    return top + np.log(np.exp(values - top).sum(axis=0))


def _elbo_fn(model: VariationalAutoencoder) -> Callable[..., tuple[tf.Tensor, tf.Tensor]]:
    @tf.function(reduce_retracing=True)
    def terms(x: tf.Tensor, seed: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        loc, raw_scale = model.encoder_parameters(x)
        eps = tf.random.stateless_normal(tf.shape(loc), seed=seed, dtype=loc.dtype)
        scale = model.latent.scale(raw_scale)
        z = loc + (scale * eps if model.posterior == "normal_diag" else tf.linalg.matvec(scale, eps))
        log_px = model.decoder_log_prob(x, model.decoder(z))
        return log_px, model.kl_regularizer.kl_divergence(loc, raw_scale)

    return terms


def elbo_terms(
    model: VariationalAutoencoder, x: np.ndarray, seed: int = 0, batch_size: int = 512
) -> tuple[np.ndarray, np.ndarray]:
    """One-sample E_q[log p(x|z)] and KL(q(z|x) || p(z)) per example; the ELBO is their difference.

    Args:
        model: a built variational autoencoder.
        x: data, `(n, *data_shape)`.
        seed: seed of the draws.
        batch_size: examples per call.

    Returns:
        `(log_px, kl)`, each `(n,)`, in nats.
    """
    x = np.asarray(x, dtype="float32")
    fn = model._cached("elbo_terms", _elbo_fn)
    pairs = seed_pairs(seed)
    log_px, kl = [], []
    for start in range(0, len(x), batch_size):
        a, b = fn(tf.constant(x[start : start + batch_size]), next(pairs))
        log_px.append(a.numpy())
        kl.append(b.numpy())
    return np.concatenate(log_px).astype("float64"), np.concatenate(kl).astype("float64")
