"""Serving signatures of the variational autoencoder (`vae`), and the stateless draws they share with Python.

`encode`, `decode`, `sample(num_samples, seed)` and `log_likelihood(x, num_samples, seed)` (the
importance-weighted estimate). A seed `s` is the stateless pair `[s, 0]`: `sample` draws as
`VariationalAutoencoder.sample(n, seed=s)` does (for n up to 1024, its first chunk), and
`log_likelihood` as `VariationalAutoencoder.log_likelihood(x, k, seed=(s, 0))` does for inputs it
takes in one chunk.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import tensorflow as tf

from tfp_arch.serving import ServingFunction, num_samples_spec, seed_spec, seed_to_pair, tensor_spec

if TYPE_CHECKING:
    from tfp_arch.plugins.vae.model import VariationalAutoencoder

__all__ = ["draw_latents", "sample_pairs", "serving_functions"]


def sample_pairs(pair: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """The stateless pairs of the latent draw and of the data draws (chunk c uses `fold_in(second, c)`)."""
    pairs = tf.cast(tf.random.experimental.stateless_split(tf.cast(pair, tf.int64), 2), tf.int32)
    return pairs[0], pairs[1]


def draw_latents(model: VariationalAutoencoder, n: Any, pair: tf.Tensor) -> tf.Tensor:
    """`n` latents from the prior `(n, latent_dim)`, stateless from `pair`."""
    prior = model.kl_regularizer.prior_distribution(model.latent_dim)
    return prior.sample(n, seed=pair)


def serving_functions(model: VariationalAutoencoder) -> dict[str, ServingFunction]:
    """`encode`, `decode`, `sample` and `log_likelihood`, in the data's shape and units."""
    from tfp_arch.plugins.vae.importance import log_weights

    shape = tuple(model.data_shape)
    x_spec = tensor_spec("x", (None, *shape))

    def encode(x: tf.Tensor) -> dict[str, tf.Tensor]:
        loc, raw = model.encoder_parameters(x)
        return {"loc": loc, "scale": model.latent.scale(raw)}

    def decode(z: tf.Tensor) -> dict[str, tf.Tensor]:
        return {"mean": model.decoder_head.mean(model.head_params(model.decoder(z)))}

    def sample(num_samples: tf.Tensor, seed: tf.Tensor) -> dict[str, tf.Tensor]:
        z_pair, x_pair = sample_pairs(seed_to_pair(seed))
        z = draw_latents(model, num_samples, z_pair)
        params = model.head_params(model.decoder(z))
        x = model.decoder_head.sample(params, seed=tf.random.experimental.stateless_fold_in(x_pair, 0))
        return {"x": x, "mean": model.decoder_head.mean(params), "z": z}

    def log_likelihood(x: tf.Tensor, num_samples: tf.Tensor, seed: tf.Tensor) -> dict[str, tf.Tensor]:
        pair = tf.random.experimental.stateless_fold_in(seed_to_pair(seed), 0)
        weights = log_weights(model, x, num_samples, tf.cast(pair, tf.int32))
        count = tf.cast(num_samples, weights.dtype)
        return {"log_likelihood": tf.reduce_logsumexp(weights, axis=0) - tf.math.log(count)}

    return {
        "encode": ServingFunction(encode, (x_spec,), "mean and scale of q(z | x)"),
        "decode": ServingFunction(decode, (tensor_spec("z", (None, model.latent_dim)),), "E[x | z]"),
        "sample": ServingFunction(sample, (num_samples_spec(), seed_spec()), "x ~ p(x), with E[x | z] and z"),
        "log_likelihood": ServingFunction(
            log_likelihood,
            (x_spec, num_samples_spec(), seed_spec()),
            "importance-weighted estimate of log p(x) in nats, k = num_samples",
        ),
    }
