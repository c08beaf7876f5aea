"""The base of variational layers: posterior over a packed kernel and bias, prior, KL term and KL weight."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import keras
import tensorflow as tf
import tensorflow_probability as tfp
from tensorflow_probability import distributions as tfd

from tfp_arch.layers.kl.weight import KLWeighted
from tfp_arch.layers.noise import next_seed
from tfp_arch.layers.variational.estimators import validate_estimator
from tfp_arch.layers.variational.posteriors import (
    CustomPosterior,
    LowRankPosterior,
    MeanFieldPosterior,
    TriLPosterior,
    inverse_softplus,
    mean_field_distribution,
    validate_posterior,
)
from tfp_arch.layers.variational.priors import build_prior, validate_prior
from tfp_arch.validation import callable_or_none, invalid_argument, non_negative_float, positive_float, positive_int

__all__ = ["VariationalLayer"]


def _callable_argument(name: str, value: Any) -> Callable | None:
    if isinstance(value, dict):
        value = keras.saving.deserialize_keras_object(value)
    return callable_or_none(name, value)


@keras.saving.register_keras_serializable(package="tfp_arch")
class VariationalLayer(KLWeighted, keras.layers.Layer):
    """Base class of layers whose kernel and bias have a posterior learned by variational inference.

    The kernel (any shape whose last axis is the outputs) and the bias are packed into one matrix
    `(rows, units)`: the kernel reshaped to `(prod(kernel_shape[:-1]), units)`, the bias as the last
    row. The posterior family (`tfp_arch.layers.variational.posteriors`) is a distribution over that matrix.
    Every call draws the output with the chosen estimator and adds `kl_weight * KL(q || prior)` to
    the layer's losses. The arguments are those of `DenseVariational`, which documents them.

    A subclass must implement (the base raises `NotImplementedError`):
        build(input_shape): computes the kernel shape and calls `_build_variational(kernel_shape)`.
        mean_field_outputs(inputs, loc, scale): the pre-activation output under the mean-field
            posterior with the layer's estimator, and the packed weights it sampled (or None).
        apply_packed(inputs, weights): the pre-activation output for one packed weight matrix.
        compute_output_shape(input_shape).
    and, to offer local reparameterisation with the correlated families,
        apply_per_example(inputs, weights): the output with weights `(batch, rows, units)`, one
            matrix per example.
    """

    convolution = False

    def __init__(
        self,
        activation: str | None = None,
        use_bias: bool = True,
        prior: str = "standard_normal",
        prior_scale: float = 1.0,
        prior_mixture_scales: Sequence[float] | None = None,
        prior_mixture_weight: float = 0.5,
        estimator: str = "local_reparameterization",
        posterior_family: str = "mean_field",
        posterior_rank: int = 2,
        posterior_scale_init: float = 0.02,
        scale_learning_rate_ratio: float = 1.0,
        kernel_initializer: str | dict = "glorot_uniform",
        bias_initializer: str | dict = "zeros",
        kl_weight: float | None = None,
        kl_samples: int = 1,
        make_posterior_fn: Callable | dict | None = None,
        make_prior_fn: Callable | dict | None = None,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._mixture_scales = validate_prior(prior, prior_scale, prior_mixture_scales, prior_mixture_weight)
        self.estimator = validate_estimator(estimator)
        self.make_posterior_fn = _callable_argument("make_posterior_fn", make_posterior_fn)
        self.make_prior_fn = _callable_argument("make_prior_fn", make_prior_fn)
        validate_posterior(
            posterior_family, posterior_rank, estimator, self.convolution, self.make_posterior_fn is not None
        )
        positive_float("posterior_scale_init", posterior_scale_init)
        positive_float("scale_learning_rate_ratio", scale_learning_rate_ratio)
        non_negative_float("kl_weight", kl_weight, allow_none=True)
        positive_int("kl_samples", kl_samples)
        self.activation = keras.activations.get(activation)
        self.use_bias = bool(use_bias)
        self.prior = prior
        self.prior_scale = float(prior_scale)
        self.prior_mixture_scales = None if prior_mixture_scales is None else [float(s) for s in prior_mixture_scales]
        self.prior_mixture_weight = float(prior_mixture_weight)
        self.posterior_family = posterior_family
        self.posterior_rank = int(posterior_rank)
        self.posterior_scale_init = float(posterior_scale_init)
        self.scale_learning_rate_ratio = float(scale_learning_rate_ratio)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kl_weight = None if kl_weight is None else float(kl_weight)
        self.kl_samples = kl_samples
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self._kernel_shape: tuple[int, ...] = ()  # set by `_build_variational`

    @property
    def is_mean_field(self) -> bool:
        """Whether the posterior is the packed mean-field one (no `make_posterior_fn`)."""
        return self.make_posterior_fn is None and self.posterior_family == "mean_field"

    def _build_variational(self, kernel_shape: Sequence[int]) -> None:
        """Create the posterior, prior and KL-weight variables for a kernel of `kernel_shape`."""
        self._kernel_shape = tuple(int(d) for d in kernel_shape)
        self._kernel_rows = math.prod(self._kernel_shape[:-1])
        units = self._kernel_shape[-1]
        rows = self._kernel_rows + (1 if self.use_bias else 0)

        def loc_initializer(shape: Sequence[int], dtype: Any = None) -> tf.Tensor:
            kernel = tf.convert_to_tensor(self.kernel_initializer(self._kernel_shape, dtype=dtype), dtype)
            bias = tf.convert_to_tensor(self.bias_initializer((rows - self._kernel_rows, units), dtype=dtype), dtype)
            return tf.concat([tf.reshape(kernel, (self._kernel_rows, units)), bias], 0)

        self.scale_ratio = self.add_weight(
            shape=(),
            initializer=keras.initializers.Constant(self.scale_learning_rate_ratio),
            trainable=False,
            name="scale_ratio",
        )
        if self.make_posterior_fn is not None:
            self.family: Any = CustomPosterior(self, rows, units, self.make_posterior_fn, self.use_bias)
        elif self.posterior_family == "multivariate_normal_tril":
            self.family = TriLPosterior(self, rows, units, loc_initializer, self.posterior_scale_init)
        elif self.posterior_family == "low_rank":
            self.family = LowRankPosterior(
                self, rows, units, loc_initializer, self.posterior_scale_init, self.posterior_rank
            )
        else:
            rho = inverse_softplus(self.posterior_scale_init) / self.scale_learning_rate_ratio

            def initialise(shape: Sequence[int], dtype: Any = None) -> tf.Tensor:
                return tf.stack([loc_initializer(shape[1:], dtype), tf.fill((rows, units), tf.cast(rho, dtype))])

            self.posterior = self.add_weight(shape=(2, rows, units), initializer=initialise, name="posterior")
            self.family = MeanFieldPosterior(self, rows, units)
        prior_rho = keras.initializers.Constant(inverse_softplus(self.prior_scale))
        if self.prior == "empirical_bayes":
            self.kernel_prior_rho = self.add_weight(shape=(), initializer=prior_rho, name="kernel_prior_rho")
            if self.use_bias:
                self.bias_prior_rho = self.add_weight(shape=(), initializer=prior_rho, name="bias_prior_rho")
        if self.prior == "trainable_normal":
            self.prior_loc = self.add_weight(shape=(rows, units), initializer="zeros", name="prior_loc")
            self.prior_rho = self.add_weight(shape=(rows, units), initializer=prior_rho, name="prior_rho")
        self.prior_fn = None
        if self.make_prior_fn is not None:
            self.prior_fn = self.make_prior_fn(
                self, self._kernel_rows * units, rows * units - self._kernel_rows * units, self.variable_dtype
            )
        self._add_kl_weight(self.kl_weight)

    def set_scale_learning_rate_ratio(self, ratio: float) -> None:
        """Set the ratio of the scales' learning rate to the means', keeping the posterior as it is.

        The stored scale parameters of the built-in families are rescaled so that the distribution
        they describe does not change. A posterior from `make_posterior_fn` owns its variables, so
        its ratio cannot be changed.
        """
        ratio = positive_float("ratio", ratio)
        stored = self.family.stored_scale_variables()
        factor = tf.cast(self.scale_ratio, tf.float64) / ratio
        for variable, part in stored:
            value = tf.convert_to_tensor(variable)
            scaled = tf.cast(tf.cast(value, tf.float64) * factor, value.dtype)
            if part is not None:
                scaled = tf.tensor_scatter_nd_update(value, [[part]], scaled[part][None])
            variable.assign(scaled)
        self.scale_ratio.assign(ratio)

    def _split(self, packed: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor | None]:
        """Packed weights `(..., rows, units)` to a kernel `(..., *kernel_shape)` and a bias (or None)."""
        lead = packed.shape[:-2]
        shape = (
            (*lead, *self._kernel_shape)
            if lead.is_fully_defined()
            else tf.concat([tf.shape(packed)[:-2], self._kernel_shape], 0)
        )
        kernel = tf.reshape(packed[..., : self._kernel_rows, :], shape)
        return kernel, packed[..., self._kernel_rows, :] if self.use_bias else None

    def _pack(self, kernel: Any, bias: Any, current: tf.Tensor) -> tf.Tensor:
        """`current` packed weights `(rows, units)` with the kernel and/or the bias replaced (None keeps)."""
        units = self._kernel_shape[-1]
        rows = [
            current[: self._kernel_rows] if kernel is None else tf.reshape(tf.cast(kernel, current.dtype), (-1, units))
        ]
        if self.use_bias:
            rows.append(
                current[self._kernel_rows :] if bias is None else tf.reshape(tf.cast(bias, current.dtype), (1, units))
            )
        return tf.concat(rows, 0)

    def posterior_distribution(self) -> tfd.Distribution:
        """The posterior over all the layer's weights, flattened (kernel first, then bias), event shape `(n,)`."""
        return self.family.distribution()

    def kernel_posterior(self) -> tfd.Normal:
        """The posterior of each kernel weight: independent normals with batch shape `kernel_shape`.

        For the mean field this is the posterior; for the correlated families and a user's posterior
        these are its marginals (the correlations are in `posterior_distribution()`).
        """
        loc, scale = self.family.loc_and_marginal_scale()
        return tfd.Normal(self._split(loc)[0], self._split(scale)[0])

    def bias_posterior(self) -> tfd.Normal | None:
        """The posterior (marginals) of each bias weight, batch shape `(units,)`, or None without a bias."""
        if not self.use_bias:
            return None
        loc, scale = self.family.loc_and_marginal_scale()
        return tfd.Normal(self._split(loc)[1], self._split(scale)[1])

    def assign_posterior(
        self,
        kernel_loc: Any = None,
        kernel_scale: Any = None,
        bias_loc: Any = None,
        bias_scale: Any = None,
        *,
        kernel_rho: Any = None,
        bias_rho: Any = None,
    ) -> None:
        """Set parts of the posterior, with tensors or arrays (None keeps a part as it is).

        Means can be set for every built-in family; scales only for the mean field, whose weights
        are independent.

        Args:
            kernel_loc, kernel_scale: the kernel's means and (positive) standard deviations, `kernel_shape`.
            bias_loc, bias_scale: the bias's means and standard deviations, `(units,)`.
            kernel_rho, bias_rho: the scales as `softplus(rho)` instead (the former parameterisation);
                they override `kernel_scale` and `bias_scale`.
        """
        rhos = [
            rho
            if rho is not None
            else (None if scale is None else tfp.math.softplus_inverse(tf.cast(scale, self.variable_dtype)))
            for rho, scale in ((kernel_rho, kernel_scale), (bias_rho, bias_scale))
        ]
        if not self.is_mean_field and any(rho is not None for rho in rhos):
            raise invalid_argument(
                "kernel_scale",
                "only the mean-field posterior has per-weight scales",
                received=f"posterior_family={self.posterior_family!r}",
            )
        if not self.is_mean_field:
            self.family.assign_loc(self._pack(kernel_loc, bias_loc, self.family.loc()))
            return
        loc, stored = tf.unstack(tf.convert_to_tensor(self.posterior))
        ratio = tf.cast(self.scale_ratio, stored.dtype)
        kernel_stored, bias_stored = (None if rho is None else tf.cast(rho, stored.dtype) / ratio for rho in rhos)
        self.posterior.assign(
            tf.stack([self._pack(kernel_loc, bias_loc, loc), self._pack(kernel_stored, bias_stored, stored)])
        )

    @property
    def kernel_loc(self) -> tf.Tensor:
        """Former API: `kernel_posterior().loc`."""
        return self.kernel_posterior().loc

    @property
    def bias_loc(self) -> tf.Tensor | None:
        """Former API: `bias_posterior().loc`."""
        posterior = self.bias_posterior()  # None exactly without a bias
        return None if posterior is None else posterior.loc

    @property
    def kernel_rho(self) -> tf.Tensor:
        """Former API, mean field only: `softplus_inverse(kernel_posterior().scale)`."""
        return self._split(self.posterior[1] * self.scale_ratio)[0]

    @property
    def bias_rho(self) -> tf.Tensor | None:
        """Former API, mean field only: `softplus_inverse(bias_posterior().scale)`."""
        return self._split(self.posterior[1] * self.scale_ratio)[1]

    def prior_distribution(self) -> tfd.Distribution:
        """The prior over the flattened packed weights, event shape `(n,)`, built from `priors()`.

        Normal priors give `Independent(Normal(loc, scale))` with each weight's parameters; the
        scale mixture (one prior for every weight) gives `Sample(prior, n)`. The KL term takes its
        closed form from this distribution where TFP has one (`posteriors.closed_form_kl`).
        """
        if self.prior_fn is not None:
            return self.prior_fn()
        kernel, bias = self.priors()
        if not isinstance(kernel, tfd.Normal):
            return tfd.Sample(kernel, self.family.size)
        parts = [(kernel, self._kernel_shape)] + ([(bias, self._kernel_shape[-1:])] if bias is not None else [])

        def flat(parameter: str) -> tf.Tensor:
            return tf.concat([tf.reshape(tf.broadcast_to(getattr(d, parameter), shape), [-1]) for d, shape in parts], 0)

        return tfd.Independent(tfd.Normal(flat("loc"), flat("scale")), 1)

    def priors(self) -> tuple[tfd.Distribution, tfd.Distribution | None]:
        """The elementwise priors of the kernel and of the bias (None without a bias)."""

        def make(rho_name: str, part: int) -> tfd.Distribution:
            loc = scale = None
            if self.prior == "empirical_bayes":
                scale = tf.nn.softplus(getattr(self, rho_name))
            if self.prior == "trainable_normal":
                loc, scale = (
                    self._split(tf.convert_to_tensor(t))[part] for t in (self.prior_loc, tf.nn.softplus(self.prior_rho))
                )
            return build_prior(
                self.prior,
                self.variable_dtype,
                self.prior_scale,
                self._mixture_scales,
                self.prior_mixture_weight,
                scale,
                loc,
            )

        return make("kernel_prior_rho", 0), make("bias_prior_rho", 1) if self.use_bias else None

    def kl_divergence(self, kernel_sample: tf.Tensor | None = None, bias_sample: tf.Tensor | None = None) -> tf.Tensor:
        """KL(posterior || prior) summed over all weights.

        Closed form where it exists: `tfd.kl_divergence(posterior_distribution(), prior_distribution())`
        where TFP registers one (every built-in family but the low-rank one, against every prior but
        the scale mixture; a user's distributions), the low-rank family's own closed form against a
        normal prior; otherwise a Monte Carlo estimate with the given weight sample, or with
        `kl_samples` fresh samples if none is given.

        Args:
            kernel_sample: a kernel drawn from the posterior, for the Monte Carlo estimate.
            bias_sample: the matching bias draw.

        Returns:
            A scalar tensor.
        """
        sample = None
        if kernel_sample is not None:
            units = self._kernel_shape[-1]
            sample = tf.reshape(kernel_sample, (self._kernel_rows, units))
            if self.use_bias:
                sample = tf.concat([sample, tf.reshape(bias_sample, (1, units))], 0)
        return self._kl(sample)

    def _kl(self, samples: tf.Tensor | None, posterior: tfd.Distribution | None = None) -> tf.Tensor:
        """The KL: closed form from the posterior and `prior_distribution()` where one exists, else a
        Monte Carlo estimate with packed weight samples `(..., rows, units)` (or fresh ones)."""
        posterior = self.family.distribution() if posterior is None else posterior
        prior = self.prior_distribution()
        kl = self.family.closed_form_kl(prior, posterior)
        if kl is not None:
            return kl
        if samples is None or self.kl_samples > 1:
            samples = self.family.sample([self.kl_samples], next_seed(self.seed_generator))
        flat = tf.reshape(samples, (-1, self.family.size))
        return tf.reduce_mean(posterior.log_prob(flat) - prior.log_prob(flat))

    def _to_channels_last(self, inputs: tf.Tensor) -> tf.Tensor:
        """The inputs in the layout the layer computes in (a convolution's channels last); identity here."""
        return inputs

    def _from_channels_last(self, outputs: tf.Tensor) -> tf.Tensor:
        """The pre-activation outputs back in the layer's `data_format`; identity here."""
        return outputs

    def call(self, inputs: tf.Tensor, training: bool | None = None) -> tf.Tensor:
        inputs = self._to_channels_last(inputs)
        if self.is_mean_field:
            loc, scale = self.family.loc_and_scale()
            outputs, weights = self.mean_field_outputs(inputs, loc, scale)
            kl = self._kl(weights, mean_field_distribution(loc, scale))
        elif self.estimator == "reparameterization":
            weights = self.family.sample([], next_seed(self.seed_generator))
            outputs, kl = self.apply_packed(inputs, weights), self._kl(weights)
        else:
            weights = self.family.sample(tf.shape(inputs)[:1], next_seed(self.seed_generator))
            outputs, kl = self.apply_per_example(inputs, weights), self._kl(weights)
        self.add_loss(self.weighted_kl(tf.cast(kl, outputs.dtype)))
        outputs = self._from_channels_last(outputs)
        return self.activation(outputs) if self.activation is not None else outputs

    def mean_field_outputs(
        self, inputs: tf.Tensor, loc: tf.Tensor, scale: tf.Tensor
    ) -> tuple[tf.Tensor, tf.Tensor | None]:
        """The pre-activation output under the mean-field posterior `(loc, scale)` of the packed
        weights, with the layer's estimator, and the packed weights it sampled (None when it drew
        outputs rather than weights); abstract."""
        raise NotImplementedError(f"{type(self).__name__} does not implement mean_field_outputs.")

    def apply_packed(self, inputs: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
        """The pre-activation output of `inputs` (channels last) for one packed weight matrix
        `(rows, units)`, the bias its last row when the layer has one; abstract."""
        raise NotImplementedError(f"{type(self).__name__} does not implement apply_packed.")

    def apply_per_example(self, inputs: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
        """The pre-activation output with one packed weight matrix per example, `(batch, rows, units)`;
        needed for local reparameterisation with the correlated posterior families."""
        raise NotImplementedError(f"{type(self).__name__} draws no per-example weights.")

    def get_config(self) -> dict[str, Any]:
        serialize = keras.saving.serialize_keras_object
        return {
            **super().get_config(),
            "activation": keras.activations.serialize(self.activation) if self.activation is not None else None,
            "use_bias": self.use_bias,
            "prior": self.prior,
            "prior_scale": self.prior_scale,
            "prior_mixture_scales": self.prior_mixture_scales,
            "prior_mixture_weight": self.prior_mixture_weight,
            "estimator": self.estimator,
            "posterior_family": self.posterior_family,
            "posterior_rank": self.posterior_rank,
            "posterior_scale_init": self.posterior_scale_init,
            "scale_learning_rate_ratio": self.scale_learning_rate_ratio,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            "kl_weight": self.kl_weight,
            "kl_samples": self.kl_samples,
            "make_posterior_fn": None if self.make_posterior_fn is None else serialize(self.make_posterior_fn),
            "make_prior_fn": None if self.make_prior_fn is None else serialize(self.make_prior_fn),
            "seed": self.seed,
        }
