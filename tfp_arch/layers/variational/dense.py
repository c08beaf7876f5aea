"""A Keras 3 dense layer whose kernel and bias have a Gaussian posterior learned by variational inference."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import tensorflow as tf

from tfp_arch.layers.variational.base import VariationalLayer
from tfp_arch.layers.variational.dense_tfp import DenseVariationalModels, takes_tfp_model_functions
from tfp_arch.layers.variational.estimators import PACKED_ESTIMATORS, append_ones
from tfp_arch.layers.variational.posteriors import inverse_softplus
from tfp_arch.validation import positive_int

__all__ = ["DenseVariational", "inverse_softplus"]


@keras.saving.register_keras_serializable(package="tfp_arch")
class DenseVariational(VariationalLayer):
    """Dense layer with a Gaussian posterior over its kernel and bias, learned by VI.

    By default (`posterior_family="mean_field"`) each weight `w` has a posterior
    `N(loc, softplus(rho)^2)`, with the scale initialised small (`posterior_scale_init`) so that
    training starts near a deterministic network. Every call draws a new output with the chosen
    gradient `estimator` and adds `kl_weight * KL(q || prior)` to the layer's losses through
    `self.add_loss`, so plain `model.fit` minimises the negative ELBO per example (mean negative
    log-likelihood of the batch + KL / n).

    The mean field keeps kernel and bias in one variable, `posterior` `(2, d_in + 1, units)` (means,
    then unconstrained scales divided by `scale_learning_rate_ratio`; the bias is the last row), and
    a training step works on it whole: the inputs get a column of ones, so one matmul gives kernel
    and bias together, and the closed-form KL is one reduction over all weights. This keeps the
    step to a few dozen ops per layer.

    Other posteriors (`tfp_arch.layers.variational.posteriors`), over the same packed weights, flattened:
        `"multivariate_normal_tril"`: one full-covariance normal over all the layer's weights (the
            keras.io recipe's posterior). Its `n (n + 1) / 2` scale parameters (`n` weights) suit
            small layers: 13 inputs and 8 units give 112 weights and 6,328 parameters.
        `"low_rank"`: a diagonal plus a rank-`posterior_rank` covariance, `n (r + 2)` parameters.
        `make_posterior_fn`: a user's distribution (see below).
    Their means start as the mean field's, their scales at `posterior_scale_init` (the diagonal of
    the Cholesky factor; the diagonal part of the low-rank one), and every scale parameter is stored
    divided by `scale_learning_rate_ratio`. They take `estimator="reparameterization"` (one weight
    draw per batch, as `tfp.layers.DenseVariational`) or `"local_reparameterization"`, which for
    them draws one weight matrix per example (exactly the distribution local reparameterisation
    samples, at `O(batch * n * r)` instead of `O(batch * d_in * units)`). Flipout needs independent
    weights, so only the mean field has it.

    TFP's signature, `DenseVariational(units, make_posterior_fn, make_prior_fn, kl_weight=None,
    kl_use_exact=False, activation=None, use_bias=True, activity_regularizer=None)` with functions
    `fn(kernel_size, bias_size, dtype)` that return Keras models, makes the layer
    `DenseVariationalModels` (`tfp_arch.layers.variational.dense_tfp`), which computes as TFP's.

    A user's posterior and prior in this layer's own form. The callables
    `make_posterior_fn(layer, kernel_size, bias_size, dtype)` and `make_prior_fn(...)` are called
    once in `build`. They create their variables with `layer.add_weight` (so the layer owns, trains
    and saves them) and return a function of no arguments that builds the distribution over the
    flattened weights, `kernel_size + bias_size` values, kernel first (TFP's layout). The KL is
    `tfd.kl_divergence` where TFP registers one, otherwise Monte Carlo with the weights drawn for
    the call. Serialisation: the callables are saved by name, so `.keras` files load when they are
    registered with `@keras.saving.register_keras_serializable()` and importable at load time (or
    given in `custom_objects`); lambdas and closures are not saved.

    Example:
        >>> tfd = tfp.distributions
        >>> def posterior(layer, kernel_size, bias_size, dtype):
        ...     n = kernel_size + bias_size
        ...     params = layer.add_weight(shape=(2 * n,), initializer="zeros", name="q")
        ...     return lambda: tfd.Independent(tfd.Normal(params[:n], 1e-5 + tf.nn.softplus(params[n:] - 5.0)), 1)
        >>> layer = DenseVariational(8, make_posterior_fn=posterior, estimator="reparameterization")
        >>> layer(tf.ones((4, 3))).shape
        TensorShape([4, 8])

    The KL weight. With `kl_weight=None` (the default) the weight is automatic: it should be
    `1 / n` for `n` training examples, and it is a non-trainable variable, so setting it never
    retraces a compiled function. It is set:
        - by `tfp_arch.Architecture.fit` (through the architecture's `adapt`) from the training
          arrays, for the architectures of this package;
        - in a user's own `keras.Model` by passing `KLWeightCallback(x_train)` to `fit`
          (`tfp_arch.layers.kl.weight`): it counts the training examples (array length, or the
          examples of a finite `tf.data.Dataset`) and assigns `1 / n` to every automatic layer
          when training begins; `set_kl_weight(model, 1 / n)` does the same by hand.
    Until it is set, an automatic weight is 1 (the KL counted once per batch). A float
    `kl_weight` fixes the weight and is never changed automatically. The weight in force is
    `kl_weight_variable`, as on every layer with a KL term (`tfp_arch.layers.kl.weight.KLWeighted`);
    `KLWarmup` anneals it like any `KLWeightSchedule` callback.

    Args:
        units: number of outputs.
        activation: activation name or None.
        use_bias: whether the layer has a (variational) bias.
        prior: `"standard_normal"`, `"normal"` (scale `prior_scale`), `"scale_mixture"` (two zero-mean
            normals, Blundell et al. 2015), `"empirical_bayes"` (a normal whose scale, initialised
            at `prior_scale`, is learned; one scale for the kernel and one for the bias) or
            `"trainable_normal"` (a mean-field normal whose mean, from 0, and scale, from
            `prior_scale`, are learned for every weight, as TFP's `prior_trainable` with a learned
            scale too; it can follow the posterior and shrink the KL towards 0).
        prior_scale: standard deviation of the `"normal"` prior; initial one of the learned priors.
        prior_mixture_scales: the two standard deviations of `"scale_mixture"` (default `[1, e^-6]`).
        prior_mixture_weight: weight of the first component of `"scale_mixture"`.
        estimator: `"reparameterization"`, `"local_reparameterization"` or `"flipout"`.
        posterior_family: `"mean_field"`, `"multivariate_normal_tril"` or `"low_rank"`.
        posterior_rank: rank of the `"low_rank"` covariance factor.
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
            the plain parameterisation.
        kernel_initializer: initialiser of the posterior means of the kernel.
        bias_initializer: initialiser of the posterior means of the bias (zeros by default).
        kl_weight: a non-negative float, or None for the automatic `1 / n`.
        kl_samples: Monte Carlo samples of the KL when it has no closed form (scale mixture).
        make_posterior_fn: a user's posterior, see above; overrides `posterior_family`.
        make_prior_fn: a user's prior, see above; overrides `prior`.
        seed: integer seed of the layer's noise, or None.
        **kwargs: passed to `keras.layers.Layer`.

    Example:
        >>> layer = DenseVariational(8, activation="relu", prior="scale_mixture", estimator="flipout")
        >>> outputs = layer(tf.ones((4, 3)))
        >>> outputs.shape
        TensorShape([4, 8])
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        posterior = args[1] if len(args) > 1 else kwargs.get("make_posterior_fn")
        if cls is DenseVariational and takes_tfp_model_functions(posterior):
            return DenseVariationalModels(*args, **kwargs)
        return super().__new__(cls, *args, **kwargs)

    def __init__(self, units: int, activation: str | None = None, **kwargs: Any) -> None:
        super().__init__(activation=activation, **kwargs)
        positive_int("units", units)
        self.units = units
        self.input_spec = keras.layers.InputSpec(min_ndim=2)
        self._d_in: int | None = None

    def build(self, input_shape: Sequence[Any]) -> None:
        self._d_in = int(input_shape[-1])
        self._build_variational((self._d_in, self.units))
        self.input_spec = keras.layers.InputSpec(min_ndim=2, axes={-1: self._d_in})

    def mean_field_outputs(
        self, inputs: tf.Tensor, loc: tf.Tensor, scale: tf.Tensor
    ) -> tuple[tf.Tensor, tf.Tensor | None]:
        return PACKED_ESTIMATORS[self.estimator](inputs, loc, scale, self.use_bias, self.seed_generator)

    def _inputs(self, inputs: tf.Tensor, dtype: Any) -> tf.Tensor:
        inputs = tf.convert_to_tensor(inputs, dtype)
        return append_ones(inputs) if self.use_bias else inputs

    def apply_packed(self, inputs: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
        return tf.matmul(self._inputs(inputs, weights.dtype), weights)

    def apply_per_example(self, inputs: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
        return tf.einsum("b...i,bio->b...o", self._inputs(inputs, weights.dtype), weights)

    def posterior_parameters(self) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor | None, tf.Tensor | None]:
        """Mean field: posterior locations and scales `(kernel_loc, kernel_scale, bias_loc, bias_scale)`."""
        loc, scale = self.family.loc_and_scale()
        if not self.use_bias:
            return loc, scale, None, None
        return loc[: self._d_in], scale[: self._d_in], loc[self._d_in], scale[self._d_in]

    def sample_weights(self, num_samples: int, seed: Any) -> tuple[tf.Tensor, tf.Tensor | None]:
        """Draw `num_samples` kernels and biases from the posterior, stateless given `seed`.

        Args:
            num_samples: number of draws S.
            seed: a shape-(2,) integer seed for `tf.random.stateless_normal`.

        Returns:
            Kernels `(S, d_in, units)` and biases `(S, units)` (None without a bias).
        """
        if not self.is_mean_field:
            return self._split(self.family.sample([num_samples], seed))
        kernel_loc, kernel_scale, bias_loc, bias_scale = self.posterior_parameters()
        seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), 2)
        noise = tf.random.stateless_normal((num_samples, *kernel_loc.shape), seeds[0], dtype=kernel_loc.dtype)
        kernels = kernel_loc + kernel_scale * noise
        if bias_loc is None or bias_scale is None:  # no bias
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
        return {**super().get_config(), "units": self.units}
