"""Posterior families over the weights of a variational layer, and their closed-form KL to a prior.

A variational layer keeps its kernel and bias as one packed matrix `(rows, units)`: the kernel
reshaped to `(prod(kernel_shape[:-1]), units)`, then the bias as the last row. A posterior family
is a distribution over those `n = rows * units` weights, flattened row by row (the kernel first,
then the bias: `tfp.layers.DenseVariational`'s layout). Every family offers:

    loc(): the posterior mean `(rows, units)`.
    sample(sample_shape, seed): reparameterised draws `(*sample_shape, rows, units)`, stateless.
    distribution(): the TFP distribution over the flattened weights, event shape `(n,)`.
    loc_and_marginal_scale(): each weight's mean and standard deviation `(rows, units)`.
    closed_form_kl(prior): KL(q || prior) for the prior's TFP distribution, `tfd.kl_divergence`
        where TFP registers it (the low-rank family adds its own against a diagonal normal), or None.
    assign_loc(value): set the mean (the layer's `assign_posterior` does it for the mean field).

Families:
    `"mean_field"`: independent normals, scale `softplus(rho)`. Stored by the layer in its packed
        variable `posterior` `(2, rows, units)`; this class is a view of it.
    `"multivariate_normal_tril"`: one full-covariance normal over all the layer's weights,
        `N(loc, L L^T)`, with `L` lower-triangular and `softplus` on its diagonal, as the
        posterior of the keras.io recipe "Probabilistic Bayesian Neural Networks". It has
        `n (n + 1) / 2` scale parameters.
    `"low_rank"`: `N(loc, D^2 + V V^T)`, a diagonal `D = softplus(rho)` plus a rank-`r` factor
        `V` `(n, r)`: correlations at `n (r + 1)` scale parameters.
    A user's callable (`CustomPosterior`): any distribution over the flattened weights, built from
        variables the layer owns.

The scale parameters of the built-in families are stored divided by the layer's
`scale_learning_rate_ratio`, so they move that many times as far per optimiser step as the means.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import keras
import tensorflow as tf
import tensorflow_probability as tfp
from tensorflow_probability import distributions as tfd

from tfp_arch.validation import invalid_argument, one_of, positive_int

__all__ = [
    "POSTERIORS",
    "CustomPosterior",
    "LowRankPosterior",
    "MeanFieldPosterior",
    "TriLPosterior",
    "closed_form_kl",
    "diagonal_normal",
    "inverse_softplus",
    "kl_to_diagonal_normal",
    "mean_field_distribution",
    "validate_posterior",
]

POSTERIORS = ("mean_field", "multivariate_normal_tril", "low_rank")


def inverse_softplus(value: float) -> float:
    """The x with softplus(x) = value, for initialising a positive scale."""
    return float(value + math.log(-math.expm1(-value)))


def validate_posterior(
    posterior_family: str, posterior_rank: int, estimator: str, convolution: bool, custom: bool = False
) -> None:
    """Check a family name and that the layer's estimator can be used with it.

    Flipout needs weight perturbations that are independent and symmetric, so only the mean-field
    family has it. Local reparameterisation of a correlated family (or of a user's posterior) draws
    one weight sample per example, which a dense layer does as one batched matmul but a convolution
    cannot.
    """
    one_of("posterior_family", posterior_family, POSTERIORS)
    positive_int("posterior_rank", posterior_rank)
    allowed = ("reparameterization",) if convolution else ("reparameterization", "local_reparameterization")
    if (custom or posterior_family != "mean_field") and estimator not in allowed:
        family = "make_posterior_fn" if custom else repr(posterior_family)
        raise invalid_argument("estimator", f"the posterior {family} supports {allowed} on this layer", estimator)


def mean_field_distribution(loc: tf.Tensor, scale: tf.Tensor) -> tfd.Distribution:
    """Independent normals over the flattened packed weights, from `(rows, units)` means and scales."""
    return tfd.Independent(tfd.Normal(tf.reshape(loc, [-1]), tf.reshape(scale, [-1])), 1)


def diagonal_normal(distribution: tfd.Distribution) -> tfd.Normal | None:
    """The elementwise `Normal` of a prior `Independent(Normal)` over a vector, else None."""
    if isinstance(distribution, tfd.Independent) and isinstance(distribution.distribution, tfd.Normal):
        return distribution.distribution
    return None


def closed_form_kl(posterior: tfd.Distribution, prior: tfd.Distribution) -> tf.Tensor | None:
    """`tfd.kl_divergence(posterior, prior)` where TFP registers it, else None.

    A diagonal normal prior, `Independent(Normal)`, is also tried as the same distribution written
    `MultivariateNormalDiag`, for which TFP has the KL from the full-covariance normals.
    """
    try:
        return tfd.kl_divergence(posterior, prior)
    except NotImplementedError:
        pass
    normal = diagonal_normal(prior)
    if normal is None:
        return None
    loc, scale = normal.loc + tf.zeros_like(normal.scale), normal.scale + tf.zeros_like(normal.loc)
    try:
        return tfd.kl_divergence(posterior, tfd.MultivariateNormalDiag(loc, scale))
    except NotImplementedError:
        return None


def kl_to_diagonal_normal(loc: tf.Tensor, variances: tf.Tensor, log_det: tf.Tensor, prior: tfd.Normal) -> tf.Tensor:
    """KL(N(m, C) || N(m0, S^2)) of an `n`-dimensional normal with mean `loc`, marginal variances
    `diag(C)` and `log det C`, against the elementwise normal `prior` (`m0`, `s0`):
    0.5 (sum(diag(C) / s0^2) + sum((m - m0)^2 / s0^2) - n + log det S^2 - log det C)."""
    prior_variance = tf.broadcast_to(tf.square(prior.scale), tf.shape(loc))
    squares = tf.square(loc - prior.loc) + variances
    n = tf.cast(tf.size(loc), loc.dtype)
    return 0.5 * (tf.reduce_sum(squares / prior_variance) - n + tf.reduce_sum(tf.math.log(prior_variance)) - log_det)


class _Family:
    """Shared plumbing: the layer, the packed shape, the ratio of the stored scale parameters."""

    def __init__(self, layer: keras.layers.Layer, rows: int, units: int) -> None:
        self.layer = layer
        self.rows, self.units, self.size = rows, units, rows * units
        self.initial_ratio = float(getattr(layer, "scale_learning_rate_ratio", 1.0))

    def distribution(self) -> tfd.Distribution:
        """The posterior over the `size` packed weights; every family defines it."""
        raise NotImplementedError(f"{type(self).__name__} does not define distribution().")

    @property
    def ratio(self) -> tf.Tensor:
        """The layer's ratio in force (a saved weight, which `fit` may change between runs)."""
        return tf.convert_to_tensor(self.layer.scale_ratio)

    def stored_scale_variables(self) -> list[tuple[Any, Any]]:
        """The variables holding scale parameters divided by the ratio, with the index of their part."""
        raise invalid_argument(
            "ratio",
            "a posterior from `make_posterior_fn` owns its variables, "
            "so its scale learning-rate ratio cannot be changed",
            received="a ratio for posterior_family='make_posterior_fn'",
        )

    def closed_form_kl(self, prior: tfd.Distribution, posterior: tfd.Distribution | None = None) -> tf.Tensor | None:
        """KL(q || prior) in closed form where there is one, else None: from the family's own
        `gaussian_moments` against a diagonal normal prior (`posterior`, the layer's view of this
        family's distribution, is then not needed), otherwise `closed_form_kl` (TFP's)."""
        normal = diagonal_normal(prior)
        if normal is not None:
            moments = self.gaussian_moments()
            if moments is not None:
                return kl_to_diagonal_normal(*moments, normal)
        return closed_form_kl(self.distribution() if posterior is None else posterior, prior)

    def gaussian_moments(self) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor] | None:
        """The flat mean `(n,)`, the marginal variances `(n,)` and the log-determinant of the covariance of a
        normal posterior whose KL to a diagonal normal prior is cheaper from these than through TFP's general
        normal-to-normal KL (which solves with the prior's operator); None (TFP's KL) by default."""
        return None

    def loc_and_marginal_scale(self) -> tuple[tf.Tensor, tf.Tensor]:
        """Each weight's posterior mean and standard deviation, `(rows, units)` each."""
        distribution = self.distribution()
        return self._unflat(distribution.mean()), self._unflat(distribution.stddev())

    def _noise(self, sample_shape: Any, size: int, seed: tf.Tensor, dtype: Any) -> tf.Tensor:
        shape = tf.concat([tf.cast(sample_shape, tf.int32), [size]], 0)
        return tf.random.stateless_normal(shape, seed, dtype=dtype, alg="philox")

    def _unflat(self, flat: tf.Tensor) -> tf.Tensor:
        return tf.reshape(flat, tf.concat([tf.shape(flat)[:-1], [self.rows, self.units]], 0))


class MeanFieldPosterior(_Family):
    """A view of the layer's packed mean-field variable `posterior` `(2, rows, units)`."""

    def loc_and_scale(self) -> tuple[tf.Tensor, tf.Tensor]:
        loc, stored_rho = tf.unstack(tf.convert_to_tensor(self.layer.posterior))
        return loc, tf.nn.softplus(stored_rho * tf.cast(self.ratio, stored_rho.dtype))

    def stored_scale_variables(self) -> list[tuple[Any, Any]]:
        return [(self.layer.posterior, 1)]

    def loc(self) -> tf.Tensor:
        return self.loc_and_scale()[0]

    def sample(self, sample_shape: Any, seed: tf.Tensor) -> tf.Tensor:
        loc, scale = self.loc_and_scale()
        noise = self._unflat(self._noise(sample_shape, self.size, seed, loc.dtype))
        return loc + scale * noise

    def loc_and_marginal_scale(self) -> tuple[tf.Tensor, tf.Tensor]:
        return self.loc_and_scale()

    def distribution(self) -> tfd.Distribution:
        return mean_field_distribution(*self.loc_and_scale())


class TriLPosterior(_Family):
    """Full covariance `N(loc, L L^T)` over the layer's `n` weights; `L` starts at `s0 I`."""

    def __init__(
        self, layer: keras.layers.Layer, rows: int, units: int, loc_initializer: Callable, scale_init: float
    ) -> None:
        super().__init__(layer, rows, units)
        diagonal = inverse_softplus(scale_init) / self.initial_ratio

        def initialise(shape: Sequence[int], dtype: Any = None) -> tf.Tensor:
            return tfp.math.fill_triangular_inverse(tf.linalg.diag(tf.fill([self.size], tf.cast(diagonal, dtype))))

        layer.posterior_loc = layer.add_weight(shape=(rows, units), initializer=loc_initializer, name="posterior_loc")
        layer.posterior_scale_tril = layer.add_weight(
            shape=(self.size * (self.size + 1) // 2,), initializer=initialise, name="posterior_scale_tril"
        )

    def scale_tril(self) -> tf.Tensor:
        """The Cholesky factor `L` `(n, n)` of the covariance."""
        raw = tfp.math.fill_triangular(tf.convert_to_tensor(self.layer.posterior_scale_tril) * self.ratio)
        return tf.linalg.set_diag(raw, tf.nn.softplus(tf.linalg.diag_part(raw)))

    def stored_scale_variables(self) -> list[tuple[Any, Any]]:
        return [(self.layer.posterior_scale_tril, None)]

    def loc(self) -> tf.Tensor:
        return tf.convert_to_tensor(self.layer.posterior_loc)

    def sample(self, sample_shape: Any, seed: tf.Tensor) -> tf.Tensor:
        loc, tril = self.loc(), self.scale_tril()
        noise = self._noise(sample_shape, self.size, seed, loc.dtype)
        return loc + self._unflat(tf.linalg.matvec(tril, noise))

    def distribution(self) -> tfd.Distribution:
        return tfd.MultivariateNormalTriL(tf.reshape(self.loc(), [-1]), self.scale_tril())

    def gaussian_moments(self) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """From the factor `L` directly: variances `sum_j L_ij^2`, log det `2 sum(log |diag L|)` (TFP's KL
        for these normals costs tens of milliseconds per eager call)."""
        loc, tril = tf.reshape(self.loc(), [-1]), self.scale_tril()
        log_det = 2.0 * tf.reduce_sum(tf.math.log(tf.abs(tf.linalg.diag_part(tril))))
        return loc, tf.reduce_sum(tf.square(tril), axis=1), log_det

    def assign_loc(self, value: Any) -> None:
        self.layer.posterior_loc.assign(tf.cast(value, self.layer.posterior_loc.dtype))


class LowRankPosterior(_Family):
    """`N(loc, D^2 + V V^T)`: diagonal `D = softplus(rho)` plus a rank-`r` factor `V` `(n, r)`.

    `D` starts at `s0` and the entries of `V` at small random values (standard deviation
    `0.1 s0 / sqrt(r)`), so the marginal scales start within 1% of `s0`. `V` cannot start at zero:
    there its expected gradient vanishes and it would never leave.
    """

    def __init__(
        self, layer: keras.layers.Layer, rows: int, units: int, loc_initializer: Callable, scale_init: float, rank: int
    ) -> None:
        super().__init__(layer, rows, units)
        self.rank = rank
        rho = keras.initializers.Constant(inverse_softplus(scale_init) / self.initial_ratio)
        factor = keras.initializers.RandomNormal(stddev=0.1 * scale_init / math.sqrt(rank) / self.initial_ratio)
        layer.posterior_loc = layer.add_weight(shape=(rows, units), initializer=loc_initializer, name="posterior_loc")
        layer.posterior_rho = layer.add_weight(shape=(rows, units), initializer=rho, name="posterior_rho")
        layer.posterior_factor = layer.add_weight(shape=(self.size, rank), initializer=factor, name="posterior_factor")

    def parameters(self) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """Flat mean `(n,)`, diagonal scales `(n,)` and factor `(n, r)`."""
        loc = tf.reshape(self.layer.posterior_loc, [-1])
        diagonal = tf.nn.softplus(tf.reshape(self.layer.posterior_rho, [-1]) * self.ratio)
        return loc, diagonal, tf.convert_to_tensor(self.layer.posterior_factor) * self.ratio

    def stored_scale_variables(self) -> list[tuple[Any, Any]]:
        return [(self.layer.posterior_rho, None), (self.layer.posterior_factor, None)]

    def loc(self) -> tf.Tensor:
        return tf.convert_to_tensor(self.layer.posterior_loc)

    def sample(self, sample_shape: Any, seed: tf.Tensor) -> tf.Tensor:
        loc, diagonal, factor = self.parameters()
        seeds = tf.random.experimental.stateless_split(seed, 2)
        flat = loc + diagonal * self._noise(sample_shape, self.size, seeds[0], loc.dtype)
        flat = flat + tf.linalg.matvec(factor, self._noise(sample_shape, self.rank, seeds[1], loc.dtype))
        return self._unflat(flat)

    def distribution(self) -> tfd.Distribution:
        loc, diagonal, factor = self.parameters()
        return tfd.MultivariateNormalDiagPlusLowRankCovariance(loc, tf.square(diagonal), factor)

    def gaussian_moments(self) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """Variances `D^2 + sum_k V_ik^2` and, by the matrix determinant lemma, log det(D^2 + V V^T) =
        log det D^2 + log det(I + V^T D^-2 V) (TFP registers no KL for this family)."""
        loc, diagonal, factor = self.parameters()
        scaled = factor / diagonal[:, None]
        capacitance = tf.eye(self.rank, dtype=loc.dtype) + tf.matmul(scaled, scaled, transpose_a=True)
        log_det = 2.0 * tf.reduce_sum(tf.math.log(diagonal)) + tf.linalg.logdet(capacitance)
        return loc, tf.square(diagonal) + tf.reduce_sum(tf.square(factor), axis=1), log_det

    def assign_loc(self, value: Any) -> None:
        self.layer.posterior_loc.assign(tf.cast(value, self.layer.posterior_loc.dtype))


class CustomPosterior(_Family):
    """A user's posterior: `make_posterior_fn(layer, kernel_size, bias_size, dtype)` is called once in
    `build`, creates its variables with `layer.add_weight`, and returns a callable that builds the
    distribution over the flattened weights (event shape `(kernel_size + bias_size,)`) from them.

    The distribution is rebuilt at every call, so gradients reach the variables. Its samples must
    be reparameterised (normal-family distributions are).
    """

    def __init__(
        self, layer: keras.layers.Layer, rows: int, units: int, make_posterior_fn: Callable, use_bias: bool
    ) -> None:
        super().__init__(layer, rows, units)
        bias_size = units if use_bias else 0
        self.make_distribution = make_posterior_fn(layer, self.size - bias_size, bias_size, layer.variable_dtype)
        if not callable(self.make_distribution):
            raise invalid_argument(
                "make_posterior_fn",
                "expected a callable returning a callable that builds the distribution",
                make_posterior_fn,
            )

    def distribution(self) -> tfd.Distribution:
        return self.make_distribution()

    def loc(self) -> tf.Tensor:
        return self._unflat(self.distribution().mean())

    def sample(self, sample_shape: Any, seed: tf.Tensor) -> tf.Tensor:
        return self._unflat(self.distribution().sample(sample_shape, seed=seed))

    def assign_loc(self, value: Any) -> None:
        raise ValueError("A posterior from `make_posterior_fn` owns its variables; assign them directly.")
