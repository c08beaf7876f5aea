"""A Keras 3 dense layer whose kernel and bias are mean-field Gaussian posteriors."""

from __future__ import annotations

import math
from typing import Any, Sequence

import keras
import tensorflow as tf
import tensorflow_probability as tfp

from tfp_arch.layers.estimators import PACKED_ESTIMATORS, validate_estimator
from tfp_arch.layers.noise import standard_normal
from tfp_arch.layers.priors import build_prior, validate_prior
from tfp_arch.validation import non_negative_float, positive_float, positive_int

tfd = tfp.distributions

__all__ = ["DenseVariational", "inverse_softplus"]


def inverse_softplus(value: float) -> float:
    """The x with softplus(x) = value, for initialising a positive scale."""
    return float(value + math.log(-math.expm1(-value)))


@keras.saving.register_keras_serializable(package="tfp_arch")
class DenseVariational(keras.layers.Layer):
    """Dense layer with a mean-field Gaussian posterior over its kernel and bias, learned by VI.

    Each weight `w` has a posterior `N(loc, softplus(rho)^2)`, with the scale initialised small
    (`posterior_scale_init`) so that training starts near a deterministic network. Every call draws a
    new output with the chosen gradient `estimator` and adds `kl_weight * KL(q || prior)` to the
    layer's losses through `self.add_loss`, so plain `model.fit` minimises the negative ELBO per
    example (mean negative log-likelihood of the batch + KL / n).

    Kernel and bias live in one variable, `posterior` `(2, d_in + 1, units)` (means, then
    unconstrained scales divided by `scale_learning_rate_ratio`; the bias is the last row), and a
    training step works on it whole: the
    inputs get a column of ones, so one matmul gives kernel and bias together, and the closed-form
    KL is one reduction over all weights. This keeps the step to a few dozen ops per layer.

    The KL weight. With `kl_weight=None` (the default) the weight is automatic: it should be
    `1 / n` for `n` training examples, and it is a non-trainable variable, so setting it never
    retraces a compiled function. It is set:
        - by `tfp_arch.Architecture.fit` (through the architecture's `adapt`) from the training
          arrays, for the architectures of this package;
        - in a user's own `keras.Model` by passing `KLWeightCallback(x_train)` to `fit`
          (`tfp_arch.layers.kl_weight`): it counts the training examples (array length, or the
          examples of a finite `tf.data.Dataset`) and assigns `1 / n` to every automatic layer
          when training begins; `set_kl_weight(model, 1 / n)` does the same by hand.
    Until it is set, an automatic weight is 1 (the KL counted once per batch). A float
    `kl_weight` fixes the weight and is never changed automatically.

    Args:
        units: number of outputs.
        activation: activation name or None.
        use_bias: whether the layer has a (variational) bias.
        prior: `"standard_normal"`, `"normal"` (scale `prior_scale`), `"scale_mixture"` (two zero-mean
            normals, Blundell et al. 2015) or `"empirical_bayes"` (a normal whose scale, initialised
            at `prior_scale`, is learned; one scale for the kernel and one for the bias).
        prior_scale: standard deviation of the `"normal"` prior; initial one of `"empirical_bayes"`.
        prior_mixture_scales: the two standard deviations of `"scale_mixture"` (default `[1, e^-6]`).
        prior_mixture_weight: weight of the first component of `"scale_mixture"`.
        estimator: `"reparameterization"`, `"local_reparameterization"` or `"flipout"`.
        posterior_scale_init: initial posterior standard deviation of every weight. Small enough
            that training starts near a deterministic network, large enough that the scales reach
            their optimum in a short run: Adam moves `rho` by about its learning rate per step, so
            from `s0` a scale needs about `ln(s* / s0) / learning_rate` steps to reach its optimum
            `s*`. With the default 0.02 and Keras' default Adam, the scales of a Bayesian linear
            regression reach the closed-form mean-field optimum (0.05) within 5% in 4,000 steps
            (`tests/test_bnn_linear_regression.py`); from 1e-3 they are still 30% short. With
            1e-3, a one-hidden-layer network's epistemic spread after 1,000 steps was 0.09 of a
            long run's (collapsed); with 0.02 it was 1.1.
        scale_learning_rate_ratio: how fast the posterior scales learn relative to the means. The
            unconstrained scales are stored divided by this ratio, and Adam-like optimisers move a
            variable by about the learning rate per step whatever its gradient's size, so the
            scales move this many times as far per step as the means. Below 1, a run can use a
            learning rate at which the means fit quickly while the scales, whose gradients are
            noisier and pulled by the KL towards the prior, settle smoothly. 1 (the default) is
            the plain parameterisation. The ratio in force is a non-trainable weight, saved with
            the layer; `set_scale_learning_rate_ratio` changes it without changing the posterior.
        kernel_initializer: initialiser of the posterior means of the kernel.
        kl_weight: a non-negative float, or None for the automatic `1 / n`.
        kl_samples: Monte Carlo samples of the KL when it has no closed form (scale mixture).
        seed: integer seed of the layer's noise, or None.
        **kwargs: passed to `keras.layers.Layer`.

    Example:
        >>> layer = DenseVariational(8, activation="relu", prior="scale_mixture", estimator="flipout")
        >>> outputs = layer(tf.ones((4, 3)))
        >>> outputs.shape
        TensorShape([4, 8])
    """

    def __init__(
        self,
        units: int,
        activation: str | None = None,
        use_bias: bool = True,
        prior: str = "standard_normal",
        prior_scale: float = 1.0,
        prior_mixture_scales: Sequence[float] | None = None,
        prior_mixture_weight: float = 0.5,
        estimator: str = "local_reparameterization",
        posterior_scale_init: float = 0.02,
        scale_learning_rate_ratio: float = 1.0,
        kernel_initializer: str | dict = "glorot_uniform",
        kl_weight: float | None = None,
        kl_samples: int = 1,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        positive_int("units", units)
        self._mixture_scales = validate_prior(prior, prior_scale, prior_mixture_scales, prior_mixture_weight)
        positive_float("posterior_scale_init", posterior_scale_init)
        positive_float("scale_learning_rate_ratio", scale_learning_rate_ratio)
        non_negative_float("kl_weight", kl_weight, allow_none=True)
        positive_int("kl_samples", kl_samples)
        self.units = units
        self.activation = keras.activations.get(activation)
        self.use_bias = bool(use_bias)
        self.prior = prior
        self.prior_scale = float(prior_scale)
        self.prior_mixture_scales = None if prior_mixture_scales is None else [float(s) for s in prior_mixture_scales]
        self.prior_mixture_weight = float(prior_mixture_weight)
        self.estimator = validate_estimator(estimator)
        self.posterior_scale_init = float(posterior_scale_init)
        self.scale_learning_rate_ratio = float(scale_learning_rate_ratio)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.kl_weight = None if kl_weight is None else float(kl_weight)
        self.kl_samples = kl_samples
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.input_spec = keras.layers.InputSpec(min_ndim=2)
        self._d_in: int | None = None

    @property
    def kl_weight_is_automatic(self) -> bool:
        """Whether the KL weight is set from the data (`kl_weight=None`)."""
        return self.kl_weight is None

    def build(self, input_shape: Sequence[int | None]) -> None:
        d_in = int(input_shape[-1])
        self._d_in = d_in
        rows = d_in + 1 if self.use_bias else d_in
        rho = inverse_softplus(self.posterior_scale_init) / self.scale_learning_rate_ratio

        def initialise(shape: Sequence[int], dtype: Any = None) -> tf.Tensor:
            kernel = tf.convert_to_tensor(self.kernel_initializer((d_in, self.units), dtype=dtype), dtype)
            loc = tf.concat([kernel, tf.zeros((rows - d_in, self.units), dtype)], axis=0)
            return tf.stack([loc, tf.fill((rows, self.units), tf.cast(rho, dtype))])

        self.posterior = self.add_weight(shape=(2, rows, self.units), initializer=initialise, name="posterior")
        self.scale_ratio = self.add_weight(
            shape=(), initializer=keras.initializers.Constant(self.scale_learning_rate_ratio), trainable=False,
            name="scale_ratio",
        )
        if self.prior == "empirical_bayes":
            prior_rho = keras.initializers.Constant(inverse_softplus(self.prior_scale))
            self.kernel_prior_rho = self.add_weight(shape=(), initializer=prior_rho, name="kernel_prior_rho")
            if self.use_bias:
                self.bias_prior_rho = self.add_weight(shape=(), initializer=prior_rho, name="bias_prior_rho")
        initial = 1.0 if self.kl_weight is None else self.kl_weight
        self.kl_weight_variable = self.add_weight(
            shape=(), initializer=keras.initializers.Constant(initial), trainable=False, name="kl_weight"
        )
        self.input_spec = keras.layers.InputSpec(min_ndim=2, axes={-1: d_in})

    def set_kl_weight(self, value: float) -> None:
        """Assign the KL weight (no retracing: it is a variable)."""
        self.kl_weight_variable.assign(float(value))

    @property
    def kernel_loc(self) -> tf.Tensor:
        """Posterior means of the kernel `(d_in, units)`."""
        return self.posterior[0, : self._d_in]

    @property
    def kernel_rho(self) -> tf.Tensor:
        """Unconstrained posterior scales of the kernel: `scale = softplus(rho)`."""
        return self.posterior[1, : self._d_in] * self.scale_ratio

    @property
    def bias_loc(self) -> tf.Tensor | None:
        """Posterior means of the bias `(units,)`, or None."""
        return self.posterior[0, self._d_in] if self.use_bias else None

    @property
    def bias_rho(self) -> tf.Tensor | None:
        """Unconstrained posterior scales of the bias, or None."""
        return self.posterior[1, self._d_in] * self.scale_ratio if self.use_bias else None

    def assign_posterior(
        self, kernel_loc: Any = None, kernel_rho: Any = None, bias_loc: Any = None, bias_rho: Any = None
    ) -> None:
        """Set parts of the posterior (kernel and bias are stored in one variable, `posterior`,
        of shape `(2, d_in [+ 1], units)`: means then unconstrained scales, bias in the last row).

        Args:
            kernel_loc, kernel_rho: `(d_in, units)` arrays, or None to keep.
            bias_loc, bias_rho: `(units,)` arrays, or None to keep.
        """
        value = keras.ops.convert_to_numpy(self.posterior).copy()
        factors = (1.0, float(keras.ops.convert_to_numpy(self.scale_ratio)))
        for index, part in ((0, kernel_loc), (1, kernel_rho)):
            if part is not None:
                value[index, : self._d_in] = part / factors[index]
        for index, part in ((0, bias_loc), (1, bias_rho)):
            if part is not None:
                value[index, self._d_in] = part / factors[index]
        self.posterior.assign(value)

    def _packed_loc_and_rho(self) -> tuple[tf.Tensor, tf.Tensor]:
        """Posterior means and unconstrained scales of the packed weights `(d_in [+ 1], units)`."""
        loc, stored_rho = tf.unstack(tf.convert_to_tensor(self.posterior))
        return loc, stored_rho * tf.cast(self.scale_ratio, stored_rho.dtype)

    def set_scale_learning_rate_ratio(self, ratio: float) -> None:
        """Set the ratio of the scales' learning rate to the means', keeping the posterior as it is."""
        ratio = positive_float("ratio", ratio)
        value = keras.ops.convert_to_numpy(self.posterior).copy()
        value[1] *= float(keras.ops.convert_to_numpy(self.scale_ratio)) / ratio
        self.posterior.assign(value)
        self.scale_ratio.assign(ratio)

    def posterior_parameters(self) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor | None, tf.Tensor | None]:
        """Posterior locations and scales: `(kernel_loc, kernel_scale, bias_loc, bias_scale)`."""
        loc, rho = self._packed_loc_and_rho()
        scale = tf.nn.softplus(rho)
        if not self.use_bias:
            return loc, scale, None, None
        return loc[: self._d_in], scale[: self._d_in], loc[self._d_in], scale[self._d_in]

    def priors(self) -> tuple[tfd.Distribution, tfd.Distribution | None]:
        """The elementwise priors of the kernel and of the bias (None without a bias)."""

        def make(rho_name: str) -> tfd.Distribution:
            scale = tf.nn.softplus(getattr(self, rho_name)) if self.prior == "empirical_bayes" else None
            return build_prior(
                self.prior, self.posterior.dtype, self.prior_scale, self._mixture_scales,
                self.prior_mixture_weight, scale,
            )

        return make("kernel_prior_rho"), make("bias_prior_rho") if self.use_bias else None

    def kl_divergence(
        self, kernel_sample: tf.Tensor | None = None, bias_sample: tf.Tensor | None = None
    ) -> tf.Tensor:
        """KL(posterior || prior) summed over all weights.

        Closed form for the normal priors; otherwise a Monte Carlo estimate with the given weight
        sample, or with `kl_samples` fresh samples if none is given.

        Args:
            kernel_sample: a kernel drawn from the posterior, for the Monte Carlo estimate.
            bias_sample: the matching bias draw.

        Returns:
            A scalar tensor.
        """
        loc, rho = self._packed_loc_and_rho()
        sample = kernel_sample
        if kernel_sample is not None and self.use_bias:
            sample = tf.concat([kernel_sample, tf.reshape(bias_sample, (1, self.units))], axis=0)
        return self._packed_kl(loc, tf.nn.softplus(rho), sample)

    def _packed_kl(self, loc: tf.Tensor, scale: tf.Tensor, sample: tf.Tensor | None) -> tf.Tensor:
        """The KL of the packed posterior `(d_in [+ 1], units)` in one computation over all weights."""
        count = float(loc.shape[0] * loc.shape[1])
        if self.prior in ("standard_normal", "normal"):
            prior_scale = 1.0 if self.prior == "standard_normal" else self.prior_scale
            squares = tf.reduce_sum(tf.square(loc) + tf.square(scale))
            constant = count * (math.log(prior_scale) - 0.5)
            return (0.5 / prior_scale**2) * squares - tf.reduce_sum(tf.math.log(scale)) + constant
        if self.prior == "empirical_bayes":
            variances = tf.square(tf.nn.softplus(self.kernel_prior_rho))
            log_det = self._d_in * tf.math.log(variances)
            if self.use_bias:
                bias_variance = tf.square(tf.nn.softplus(self.bias_prior_rho))
                variances = tf.concat([tf.fill((self._d_in, 1), variances), tf.reshape(bias_variance, (1, 1))], 0)
                log_det += tf.math.log(bias_variance)
            squares = tf.reduce_sum((tf.square(loc) + tf.square(scale)) / variances)
            return 0.5 * squares - tf.reduce_sum(tf.math.log(scale)) + 0.5 * self.units * log_det - 0.5 * count
        prior, _ = self.priors()
        posterior = tfd.Normal(loc, scale)
        if sample is None:
            noise = standard_normal((self.kl_samples, *loc.shape), loc.dtype, self.seed_generator)
            sample = loc + scale * noise
            return tf.reduce_sum(posterior.log_prob(sample) - prior.log_prob(sample)) / self.kl_samples
        return tf.reduce_sum(posterior.log_prob(sample) - prior.log_prob(sample))

    def call(self, inputs: tf.Tensor, training: bool | None = None) -> tf.Tensor:
        loc, rho = self._packed_loc_and_rho()
        scale = tf.nn.softplus(rho)
        outputs, weights = PACKED_ESTIMATORS[self.estimator](inputs, loc, scale, self.use_bias, self.seed_generator)
        if self.kl_samples > 1:
            weights = None
        kl_weight = tf.convert_to_tensor(self.kl_weight_variable)
        if kl_weight.dtype != outputs.dtype:
            kl_weight = tf.cast(kl_weight, outputs.dtype)
        self.add_loss(kl_weight * self._packed_kl(loc, scale, weights))
        return self.activation(outputs) if self.activation is not None else outputs

    def sample_weights(self, num_samples: int, seed: Any) -> tuple[tf.Tensor, tf.Tensor | None]:
        """Draw `num_samples` kernels and biases from the posterior, stateless given `seed`.

        Args:
            num_samples: number of draws S.
            seed: a shape-(2,) integer seed for `tf.random.stateless_normal`.

        Returns:
            Kernels `(S, d_in, units)` and biases `(S, units)` (None without a bias).
        """
        kernel_loc, kernel_scale, bias_loc, bias_scale = self.posterior_parameters()
        seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), 2)
        noise = tf.random.stateless_normal((num_samples, *kernel_loc.shape), seeds[0], dtype=kernel_loc.dtype)
        kernels = kernel_loc + kernel_scale * noise
        if not self.use_bias:
            return kernels, None
        noise = tf.random.stateless_normal((num_samples, self.units), seeds[1], dtype=bias_loc.dtype)
        return kernels, bias_loc + bias_scale * noise

    def call_with_weights(self, inputs: tf.Tensor, kernels: tf.Tensor, biases: tf.Tensor | None) -> tf.Tensor:
        """Apply S given weight samples at once: one batched matmul, no loop over samples.

        Args:
            inputs: `(N, d_in)` (shared by all samples) or `(S, N, d_in)`.
            kernels: `(S, d_in, units)` from `sample_weights`.
            biases: `(S, units)` or None.

        Returns:
            Outputs `(S, N, units)`, after the activation.
        """
        inputs = tf.convert_to_tensor(inputs, kernels.dtype)
        if inputs.shape.rank == 2:
            outputs = tf.einsum("ni,sio->sno", inputs, kernels)
        else:
            outputs = tf.matmul(inputs, kernels)
        if biases is not None:
            outputs = outputs + biases[:, None, :]
        return self.activation(outputs) if self.activation is not None else outputs

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        return (*tuple(input_shape)[:-1], self.units)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "units": self.units,
            "activation": keras.activations.serialize(self.activation) if self.activation is not None else None,
            "use_bias": self.use_bias,
            "prior": self.prior,
            "prior_scale": self.prior_scale,
            "prior_mixture_scales": self.prior_mixture_scales,
            "prior_mixture_weight": self.prior_mixture_weight,
            "estimator": self.estimator,
            "posterior_scale_init": self.posterior_scale_init,
            "scale_learning_rate_ratio": self.scale_learning_rate_ratio,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "kl_weight": self.kl_weight,
            "kl_samples": self.kl_samples,
            "seed": self.seed,
        }
