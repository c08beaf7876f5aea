"""KL(q || p) of a Gaussian described by its parameters, added to the losses: the VAE architecture's KL layer."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf
from tensorflow_probability import distributions as tfd

from tfp_arch.layers.distributions.latent import check_distribution, gaussian_distribution, gaussian_scale
from tfp_arch.layers.kl.weight import KLWeighted
from tfp_arch.layers.noise import standard_normal
from tfp_arch.validation import invalid_argument, non_negative_float, one_of, positive_float, positive_int

__all__ = ["KL_METHODS", "PRIORS", "GaussianKLPenalty"]

PRIORS = ("normal", "laplace")
KL_METHODS = ("auto", "analytic", "monte_carlo")


@keras.saving.register_keras_serializable(package="tfp_arch")
class GaussianKLPenalty(KLWeighted, keras.layers.Layer):
    """Add `kl_weight * KL(q || p)` of a Gaussian described by its parameters to the model's losses.

    The KL layer of the VAE architecture (TFP's own `KLDivergenceRegularizer` is in
    `tfp_arch.layers.kl.regularizer`). It takes tensors, not a distribution:
    the posterior `q` is described by the inputs `[loc, raw_scale]` and the plain-config
    `distribution` name (`"normal_diag"`: `Independent(Normal(loc, softplus(raw) + min_scale))`;
    `"normal_tril"`: `MultivariateNormalTriL` with the lower-triangular scale filled from `raw` by
    `tfp.math.fill_triangular`). The layer builds `q`, adds the penalty with `add_loss` and returns
    its inputs unchanged, so it sits between an encoder and a `GaussianLatent` layer.

    The penalty is the batch mean of the per-example KL times the KL weight (Keras scales losses
    added with `add_loss` by the number of replicas under `tf.distribute`). The weight in force is
    the non-trainable variable `kl_weight_variable` (`tfp_arch.layers.kl.weight.KLWeighted`), so a
    warm-up callback (`KLWarmup`) or `set_kl_weight` changes it during `fit` without retracing.
    With `free_bits > 0`, each
    latent dimension's batch-mean KL is floored at `free_bits` nats (Kingma et al. 2016) when the KL
    factorises by dimension (diagonal posterior, analytic KL); otherwise the batch-mean total KL is
    floored at `free_bits * d`.

    Args:
        distribution: `"normal_diag"` or `"normal_tril"`: how `[loc, raw_scale]` describe `q`.
        kl_weight: the KL weight beta (non-negative).
        free_bits: nats per latent dimension below which the KL is not penalised (0 disables).
        prior: `"normal"` (`N(prior_loc, prior_scale^2 I)`) or `"laplace"` (independent Laplace).
        prior_loc: location of every prior coordinate.
        prior_scale: scale of every prior coordinate (positive).
        kl_method: `"analytic"` (closed form, an error if TFP has none), `"monte_carlo"`
            (`mean log q(z) - log p(z)` over `num_samples` reparameterised draws), or `"auto"`
            (closed form where TFP registers one, Monte Carlo otherwise).
        num_samples: draws per example of the Monte Carlo estimate.
        min_scale: floor of the scale's diagonal.
        seed: integer seed of the Monte Carlo draws, or None.
        **kwargs: `keras.layers.Layer` arguments.

    Example:
        >>> reg = GaussianKLPenalty(kl_weight=0.5)
        >>> loc, raw = reg([keras.ops.zeros((8, 2)), keras.ops.zeros((8, 2))])
    """

    def __init__(
        self,
        distribution: str = "normal_diag",
        kl_weight: float = 1.0,
        free_bits: float = 0.0,
        prior: str = "normal",
        prior_loc: float = 0.0,
        prior_scale: float = 1.0,
        kl_method: str = "auto",
        num_samples: int = 1,
        min_scale: float = 1e-5,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.distribution = check_distribution(distribution)
        self.kl_weight = non_negative_float("kl_weight", kl_weight)
        self.free_bits = non_negative_float("free_bits", free_bits)
        one_of("prior", prior, PRIORS)
        one_of("kl_method", kl_method, KL_METHODS)
        positive_float("prior_scale", prior_scale)
        positive_int("num_samples", num_samples)
        self.prior = prior
        self.prior_loc = float(prior_loc)
        self.prior_scale = float(prior_scale)
        self.kl_method = kl_method
        self.num_samples = num_samples
        self.min_scale = non_negative_float("min_scale", min_scale)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self._add_kl_weight(self.kl_weight)

    def build(self, input_shape: Any) -> None:
        self.built = True

    def posterior(self, loc: Any, raw_scale: Any) -> tfd.Distribution:
        """The posterior `q` described by `loc` and `raw_scale`, event shape `(d,)`."""
        return gaussian_distribution(loc, raw_scale, self.distribution, self.min_scale)

    def prior_distribution(self, event_size: int, dtype: Any = "float32") -> tfd.Distribution:
        """The prior `p` over `event_size` dimensions, with event shape `(d,)`."""
        loc = tf.fill([event_size], tf.constant(self.prior_loc, dtype))
        scale = tf.fill([event_size], tf.constant(self.prior_scale, dtype))
        if self.prior == "laplace":
            return tfd.Independent(tfd.Laplace(loc, scale), reinterpreted_batch_ndims=1)
        if self.distribution == "normal_tril":
            return tfd.MultivariateNormalDiag(loc=loc, scale_diag=scale)
        return tfd.Independent(tfd.Normal(loc, scale), reinterpreted_batch_ndims=1)

    @property
    def uses_analytic_kl(self) -> bool:
        """Whether the KL is computed in closed form (resolves `kl_method="auto"`)."""
        if self.kl_method == "monte_carlo":
            return False
        available = self.prior == "normal"
        if self.kl_method == "analytic" and not available:
            raise invalid_argument(
                "kl_method",
                f"no closed-form KL between `{self.distribution}` and prior `{self.prior}`; "
                "use 'auto' or 'monte_carlo'",
                self.kl_method,
            )
        return available

    def kl_per_dimension(self, loc: Any, raw_scale: Any) -> tf.Tensor:
        """Closed-form KL of each latent dimension, `(batch, d)`: diagonal posterior, normal prior only."""
        if self.distribution != "normal_diag" or not self.uses_analytic_kl:
            raise ValueError(
                "kl_per_dimension needs distribution='normal_diag' and an analytic KL. "
                f"Received: distribution={self.distribution!r}, prior={self.prior!r}, kl_method={self.kl_method!r}"
            )
        scale = gaussian_scale(raw_scale, self.distribution, self.min_scale)
        prior = tfd.Normal(tf.constant(self.prior_loc, loc.dtype), tf.constant(self.prior_scale, loc.dtype))
        return tfd.kl_divergence(tfd.Normal(loc, scale), prior)

    def kl_divergence(self, loc: Any, raw_scale: Any) -> tf.Tensor:
        """KL(q || p) per example, `(batch,)`, unweighted: closed form or Monte Carlo.

        Args:
            loc: posterior means, `(batch, d)`.
            raw_scale: raw posterior scale parameters.

        Returns:
            The per-example KL divergence in nats.
        """
        loc = tf.convert_to_tensor(loc)
        if self.uses_analytic_kl and self.distribution == "normal_tril":
            return self._normal_tril_kl(loc, gaussian_scale(raw_scale, self.distribution, self.min_scale))
        q = self.posterior(loc, raw_scale)
        p = self.prior_distribution(loc.shape[-1], loc.dtype)
        if self.uses_analytic_kl:
            return tfd.kl_divergence(q, p)
        shape = tf.concat([[self.num_samples], tf.shape(loc)], axis=0)
        eps = standard_normal(shape, loc.dtype, self.seed_generator)
        scale = gaussian_scale(raw_scale, self.distribution, self.min_scale)
        if self.distribution == "normal_diag":
            z = loc + scale * eps
        else:
            z = loc + tf.linalg.matvec(scale, eps)
        return tf.reduce_mean(q.log_prob(z) - p.log_prob(z), axis=0)

    def _normal_tril_kl(self, loc: tf.Tensor, scale_tril: tf.Tensor) -> tf.Tensor:
        """KL(N(loc, L L^T) || N(m, s^2 I)) in closed form, per example.

        0.5 (||L||_F^2 / s^2 + ||loc - m||^2 / s^2 - d) + d log s - sum(log diag L). Written out
        rather than through `tfd.kl_divergence`, whose gradient builds dynamically shaped zeros that
        XLA cannot compile.
        """
        m = tf.constant(self.prior_loc, loc.dtype)
        s = tf.constant(self.prior_scale, loc.dtype)
        d = tf.cast(tf.shape(loc)[-1], loc.dtype)
        trace = tf.reduce_sum(tf.square(scale_tril), axis=[-2, -1]) / tf.square(s)
        mahalanobis = tf.reduce_sum(tf.square(loc - m), axis=-1) / tf.square(s)
        log_det = tf.reduce_sum(tf.math.log(tf.linalg.diag_part(scale_tril)), axis=-1)
        return 0.5 * (trace + mahalanobis - d) + d * tf.math.log(s) - log_det

    def penalty(self, loc: Any, raw_scale: Any, kl: Any = None) -> tf.Tensor:
        """The scalar added to the losses: `kl_weight * free_bits_floor(batch-mean KL)`.

        Args:
            loc: posterior means, `(batch, d)`.
            raw_scale: raw posterior scale parameters.
            kl: the per-example KL of `loc` and `raw_scale` when already computed (one Monte Carlo
                draw then serves both the penalty and the caller), or None to compute it here.
        """
        loc = tf.convert_to_tensor(loc)
        if self.free_bits > 0.0 and self.distribution == "normal_diag" and self.uses_analytic_kl:
            per_dim = tf.reduce_mean(self.kl_per_dimension(loc, raw_scale), axis=0)
            kl = tf.reduce_sum(tf.maximum(per_dim, tf.constant(self.free_bits, loc.dtype)))
        else:
            kl = tf.reduce_mean(self.kl_divergence(loc, raw_scale) if kl is None else kl)
            if self.free_bits > 0.0:
                kl = tf.maximum(kl, tf.constant(self.free_bits * loc.shape[-1], loc.dtype))
        return self.weighted_kl(kl)

    def call(self, inputs: list[Any], return_kl: bool = False) -> list[tf.Tensor]:
        """Add the penalty and return `[loc, raw_scale]`, with the per-example KL behind them when
        `return_kl` is True: the same draw the penalty used, for a model that reports it."""
        loc, raw_scale = inputs
        kl = self.kl_divergence(loc, raw_scale)
        self.add_loss(self.penalty(loc, raw_scale, kl))
        return [loc, raw_scale, kl] if return_kl else [loc, raw_scale]

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "distribution": self.distribution,
            "kl_weight": self.kl_weight,
            "free_bits": self.free_bits,
            "prior": self.prior,
            "prior_loc": self.prior_loc,
            "prior_scale": self.prior_scale,
            "kl_method": self.kl_method,
            "num_samples": self.num_samples,
            "min_scale": self.min_scale,
            "seed": self.seed,
        }
