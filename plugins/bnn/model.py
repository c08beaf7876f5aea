"""The Bayesian MLP architecture: DenseVariational layers with a Gaussian or categorical likelihood."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import keras
import numpy as np
import tensorflow as tf
from tensorflow_probability import distributions as tfd

from tfp_arch.architecture import Architecture
from tfp_arch.data.dataset import Dataset
from tfp_arch.data.errors import DataError
from tfp_arch.layers.kl.weight import set_kl_weight
from tfp_arch.layers.standardize import RunningMoments, Standardization, iterate_batches
from tfp_arch.layers.variational.dense import DenseVariational, inverse_softplus
from tfp_arch.plugins.bnn.activations import first_bias_initializer, get_activation
from tfp_arch.plugins.bnn.declaration import BNN
from tfp_arch.plugins.bnn.likelihoods import likelihood_head, likelihood_loss, output_units, validate_likelihood
from tfp_arch.plugins.bnn.metrics import classification_metrics, regression_metrics
from tfp_arch.seeding import seed_pair
from tfp_arch.validation import non_negative_float, positive_float, positive_int, positive_ints

SCALE_RATE_CAP = 0.006
_ACTIVATION_BUDGET = 1 << 20

__all__ = ["BayesianMLP"]


@keras.saving.register_keras_serializable(package="tfp_arch")
class BayesianMLP(Architecture):
    """Bayesian neural network: an MLP of `DenseVariational` layers trained by variational Bayes.

    Inputs and targets are standardised by two `Standardization` layers (`input_standardization`,
    `target_standardization`) whose statistics `adapt` computes from the training data in one
    streaming pass (arrays or a `tf.data.Dataset`); they are saved with the model. `call` returns parameters
    in the targets' original units: `(N, 2)` predictive mean and noise scale of one weight sample for
    regression, `(N, K)` logits for classification. The loss is the negative ELBO per example: the
    mean negative log-likelihood plus `kl_weight * KL`, with `kl_weight = 1 / n` set from the training
    data by `adapt` unless given. For regression each example's negative log-likelihood is weighted by
    its predicted noise variance to the power `variance_weighting` (beta-NLL, Seitzer et al. 2022;
    the weights have mean 1 in every batch, see `tfp_arch.losses.NegativeLogLikelihood`): with a learned
    noise scale, the plain likelihood divides the gradient of each prediction by its noise variance,
    so rows the network starts out fitting badly are fitted slowly; the weight cancels half of that
    division at the default 0.5. `variance_weighting=0` trains on the ELBO itself.

    Predictions sample S weight sets in one batched computation (`sample_outputs`);
    `predict_distribution` returns the predictive mixture over those samples.

    The training budget: a run without given epochs (`tfp-arch train bnn`, `tfp_arch.train("bnn")`)
    trains for the best epoch (at least 40) of a search on a validation cut of its training rows, a
    model trained on 80% of them for at most `max(40, min(1000, ceil(20000 / steps per epoch)))`
    epochs with the log-likelihood of the other 20% scored as it trains (`tfp_arch.budget_search`):
    small, nearly noise-free data get the 20,000 optimiser steps they need to converge, and noisier
    data stop before those steps overfit them. `fit` itself keeps Keras' default of one epoch, as any
    Keras model; call `model.fit(x, y, epochs=choose_epochs(BayesianMLP, x, y, make_model)["epochs"])`
    for the budget of the CLI (`BayesianMLP.default_epochs_for(len(x))` for the cap alone).

    Args:
        hidden_units: widths of the hidden layers (the UCI protocol: `[50]`).
        activation: activation of the hidden layers: a Keras name, or `"gaussian_bump"`
            (`tfp_arch.plugins.bnn.activations`, localised units for in-between uncertainty).
        likelihood: `"gaussian"` (learned homoscedastic noise), `"heteroscedastic"` (the network
            outputs mean and scale) or `"categorical"`.
        num_classes: number of classes, for `"categorical"`.
        prior: weight prior, see `DenseVariational`.
        prior_scale: scale of the `"normal"` prior, initial scale of `"empirical_bayes"`.
        prior_mixture_scales: the two scales of `"scale_mixture"`.
        prior_mixture_weight: weight of the first mixture component.
        estimator: `"reparameterization"`, `"local_reparameterization"` or `"flipout"`.
        posterior_scale_init: initial posterior standard deviation of each weight.
        scale_learning_rate_ratio: learning rate of the posterior scales relative to the means
            (see `DenseVariational`), or None for `min(1, 0.006 / peak)` given the run's peak
            learning rate: the scales' rate is capped at 0.006 (see "Training defaults" below).
        kl_weight: KL weight, or None for `1 / n` set from the training data.
        noise_scale_init: initial noise standard deviation in standardised target units.
        variance_weighting: the beta of beta-NLL for regression (0: the plain likelihood of the
            ELBO). 0.5 was chosen on validation cuts of several data sets
            (`benchmarks/bnn_validation.py`), as Seitzer et al. recommend.
        num_samples: default number of weight samples of predictions and metrics.
        seed: seed of the layers' training noise.
        **kwargs: passed to `keras.Model`.

    Example:
        >>> data = tfp_arch.load_data("synthetic:gap_regression#n=200")
        >>> model = BayesianMLP(hidden_units=[16])
        >>> history = model.fit(data.x_train, data.y_train, epochs=1, verbose=0)
        >>> sorted(model.evaluate_metrics(data.x_test, data.y_test))
        ['coverage_50', 'coverage_90', 'coverage_95', 'log_likelihood', 'rmse']
    """

    declaration = BNN
    adapts_datasets: ClassVar[bool] = True
    default_learning_rate: ClassVar[float | None] = None
    decay_learning_rate: ClassVar[bool] = True
    min_scale: ClassVar[float] = 1e-3

    def __init__(
        self,
        hidden_units: Sequence[int] = (50,),
        activation: str = "relu",
        likelihood: str = "heteroscedastic",
        num_classes: int | None = None,
        prior: str = "standard_normal",
        prior_scale: float = 1.0,
        prior_mixture_scales: Sequence[float] | None = None,
        prior_mixture_weight: float = 0.5,
        estimator: str = "local_reparameterization",
        posterior_scale_init: float = 0.02,
        scale_learning_rate_ratio: float | None = None,
        kl_weight: float | None = None,
        noise_scale_init: float = 1.0,
        variance_weighting: float = 0.5,
        num_samples: int = 100,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        validate_likelihood(likelihood, num_classes)
        hidden_units = positive_ints("hidden_units", hidden_units)
        positive_float("noise_scale_init", noise_scale_init)
        positive_int("num_samples", num_samples)
        self.hidden_units = hidden_units
        self.activation = activation
        self.likelihood = likelihood
        self.num_classes = num_classes
        self.prior = prior
        self.prior_scale = float(prior_scale)
        self.prior_mixture_scales = None if prior_mixture_scales is None else [float(s) for s in prior_mixture_scales]
        self.prior_mixture_weight = float(prior_mixture_weight)
        self.estimator = estimator
        self.posterior_scale_init = float(posterior_scale_init)
        self.scale_learning_rate_ratio = None if scale_learning_rate_ratio is None else float(scale_learning_rate_ratio)
        self.kl_weight = None if kl_weight is None else float(kl_weight)
        self.noise_scale_init = float(noise_scale_init)
        self.variance_weighting = non_negative_float("variance_weighting", variance_weighting)
        self.num_samples = num_samples
        self.seed = seed
        common = {
            "prior": prior,
            "prior_scale": prior_scale,
            "prior_mixture_scales": prior_mixture_scales,
            "prior_mixture_weight": prior_mixture_weight,
            "estimator": estimator,
            "posterior_scale_init": posterior_scale_init,
            "kl_weight": kl_weight,
            "scale_learning_rate_ratio": 1.0 if scale_learning_rate_ratio is None else scale_learning_rate_ratio,
        }
        widths = [*hidden_units, output_units(likelihood, num_classes)]
        self.variational_layers = [
            DenseVariational(
                units,
                activation=get_activation(activation) if i < len(hidden_units) else None,
                name=f"dense_variational_{i}",
                seed=None if seed is None else seed + i,
                bias_initializer=first_bias_initializer(activation, seed) if i == 0 else "zeros",
                **common,
            )
            for i, units in enumerate(widths)
        ]
        self.input_standardization = Standardization(name="input_standardization")
        self.target_standardization = Standardization(name="target_standardization")

    @property
    def is_regression(self) -> bool:
        """Whether the likelihood is Gaussian."""
        return self.likelihood != "categorical"

    def build(self, input_shape: Sequence[Any]) -> None:
        d_in = int(input_shape[-1])
        self.input_standardization.build((None, d_in))
        self.target_standardization.build((None, 1))
        if self.likelihood == "gaussian":
            rho = keras.initializers.Constant(inverse_softplus(self.noise_scale_init - self.min_scale))
            self.noise_rho = self.add_weight(shape=(), initializer=rho, name="noise_rho")
        shape = (None, d_in)
        for layer in self.variational_layers:
            layer.build(shape)
            shape = (None, layer.units)

    @property
    def x_mean(self) -> tf.Tensor:
        """The inputs' means, `input_standardization.mean`."""
        return self.input_standardization.mean

    @property
    def x_scale(self) -> tf.Tensor:
        """The inputs' scales, `input_standardization.scale`."""
        return self.input_standardization.scale

    @property
    def y_mean(self) -> tf.Tensor:
        """The targets' mean (a scalar), from `target_standardization`."""
        return tf.reshape(self.target_standardization.mean, ())

    @property
    def y_scale(self) -> tf.Tensor:
        """The targets' scale (a scalar), from `target_standardization`."""
        return tf.reshape(self.target_standardization.scale, ())

    def _standardise(self, inputs: tf.Tensor) -> tf.Tensor:
        return self.input_standardization(inputs)

    def _head(self, outputs: tf.Tensor) -> tf.Tensor:
        """Network outputs (standardised units) to likelihood parameters in original units."""
        if self.likelihood == "categorical":
            return outputs
        loc = self.target_standardization.inverse(outputs[..., :1])
        if self.likelihood == "gaussian":
            scale = tf.ones_like(loc) * (tf.nn.softplus(self.noise_rho) + self.min_scale)
        else:
            shift = inverse_softplus(self.noise_scale_init - self.min_scale)
            scale = tf.nn.softplus(outputs[..., 1:2] + shift) + self.min_scale
        return tf.concat([loc, scale * self.target_standardization.scale], axis=-1)

    def call(self, inputs: tf.Tensor, training: bool | None = None) -> tf.Tensor:
        hidden = self._standardise(inputs)
        for layer in self.variational_layers:
            hidden = layer(hidden, training=training)
        return self._head(hidden)

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        return (input_shape[0], 2 if self.is_regression else self.num_classes)

    def default_compile_kwargs(self) -> dict[str, Any]:
        loss = likelihood_loss(self.likelihood, self.num_classes, self.variance_weighting)
        return {**super().default_compile_kwargs(), "loss": loss}

    def adapt(self, x: Any, y: Any = None) -> None:
        """Standardisation statistics of the training data and the automatic KL weight `1 / n`, in one pass.

        Args:
            x: training inputs `(n, d)`, or a finite `tf.data.Dataset` of `(x, y)` batches.
            y: training targets `(n,)` (or `(n, 1)`), integer labels for classification; None with
                a dataset.
        """
        x_moments, y_moments = RunningMoments(), RunningMoments()
        for x_batch, y_batch in iterate_batches(x, y):
            x_moments.update(np.reshape(x_batch, (len(x_batch), -1)))
            if self.is_regression and y_batch is not None:
                y_moments.update(np.reshape(y_batch, (-1, 1)))
        if not self.built:
            with self.distribute_strategy.scope():
                self.build((None, x_moments.std.shape[0]))
        self.input_standardization.set_moments(x_moments)
        if y_moments.count:
            self.target_standardization.set_moments(y_moments)
        if self.kl_weight is None:
            set_kl_weight(self, 1.0 / x_moments.count)
        super().adapt(x, y)

    def learning_rate_planned(self, peak: float) -> None:
        """With an automatic `scale_learning_rate_ratio`, cap the posterior scales' rate at 0.006."""
        if self.scale_learning_rate_ratio is None:
            for layer in self.variational_layers:
                layer.set_scale_learning_rate_ratio(min(1.0, SCALE_RATE_CAP / peak))

    def sample_outputs(self, x: Any, num_samples: int | None = None, seed: int | None = None) -> tf.Tensor:
        """Likelihood parameters for S weight samples, batched over the samples.

        The S weight sets are drawn once; the rows go through them in chunks so that a hidden
        activation `(S, rows, width)` stays within about 1M values (4 MB), whatever the number of rows.

        Args:
            x: inputs `(N, d)` in original units.
            num_samples: S (default: the model's `num_samples`).
            seed: integer seed; the same seed gives the same weight samples.

        Returns:
            `(S, N, 2)` means and scales in original units, or `(S, N, K)` logits.
        """
        chunks = [outputs for _, outputs in self._output_chunks(x, num_samples, seed)]
        return chunks[0] if len(chunks) == 1 else tf.concat(chunks, axis=1)

    def _output_chunks(self, x: Any, num_samples: int | None, seed: int | None) -> Iterator[tuple[slice, tf.Tensor]]:
        """`(rows, outputs)` for consecutive chunks of rows of `x`, under one draw of S weight sets."""
        num_samples = num_samples or self.num_samples
        weights = self.sample_weights(num_samples, seed)
        x = tf.convert_to_tensor(x)
        widest = max(layer.units for layer in self.variational_layers)
        size = max(256, _ACTIVATION_BUDGET // (num_samples * widest))
        for start in range(0, max(int(x.shape[0]), 1), size):
            rows = slice(start, start + size)
            hidden = self._standardise(x[rows])
            for layer, (kernels, biases) in zip(self.variational_layers, weights, strict=False):
                hidden = layer.call_with_weights(hidden, kernels, biases)
            yield rows, self._head(hidden)

    def sample_weights(self, num_samples: int, seed: int | None = None) -> list[tuple[tf.Tensor, tf.Tensor | None]]:
        """The per-layer weight samples `sample_outputs` uses with the same `num_samples` and `seed`."""
        seeds = tf.random.experimental.stateless_split(seed_pair(seed, "int64"), len(self.variational_layers))
        return [layer.sample_weights(num_samples, s) for layer, s in zip(self.variational_layers, seeds, strict=False)]

    def predict_distribution(self, x: Any, num_samples: int | None = None, seed: int | None = None) -> tfd.Distribution:
        """The predictive distribution: an equal-weight mixture over S weight samples, per example.

        Args:
            x: inputs `(N, d)` in original units.
            num_samples: S.
            seed: integer seed.

        Returns:
            A `tfd.MixtureSameFamily` with batch shape `(N,)`: of Normals in the targets' units, or
            of Categoricals for classification.
        """
        outputs = self.sample_outputs(x, num_samples, seed)
        shape = tf.shape(outputs)
        mixture = tfd.Categorical(logits=tf.zeros(tf.stack([shape[1], shape[0]]), outputs.dtype))
        head = likelihood_head(self.likelihood, self.num_classes)
        return tfd.MixtureSameFamily(mixture, head.distribution(tf.transpose(outputs, [1, 0, 2])))

    def predictive_moments(
        self, x: Any, num_samples: int | None = None, seed: int | None = None
    ) -> dict[str, np.ndarray]:
        """Predictive mean and standard deviations, split into epistemic and aleatoric parts.

        Returns:
            For regression, `mean`, `std` (total), `epistemic_std` (spread of the per-sample means)
            and `aleatoric_std` (root mean noise variance), each `(N,)` in original units; for
            classification `probs` `(N, K)`, the sample-averaged class probabilities.
        """
        outputs = self.sample_outputs(x, num_samples, seed).numpy().astype(np.float64)
        if self.likelihood == "categorical":
            logits = outputs - outputs.max(axis=-1, keepdims=True)
            probs = np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)
            return {"probs": probs.mean(axis=0)}
        loc, scale = outputs[..., 0], outputs[..., 1]
        epistemic = loc.std(axis=0)
        aleatoric = np.sqrt(np.mean(np.square(scale), axis=0))
        return {
            "mean": loc.mean(axis=0),
            "std": np.sqrt(np.square(epistemic) + np.square(aleatoric)),
            "epistemic_std": epistemic,
            "aleatoric_std": aleatoric,
        }

    def predictive_quantiles(
        self, x: Any, levels: Sequence[float], num_samples: int | None = None, seed: int | None = None
    ) -> np.ndarray:
        """Quantiles of the predictive mixture (regression), `(N, len(levels))` in the targets' units.

        The mixture is the one of `predict_distribution`: S Gaussians per example, equal weights;
        its quantiles are found by bisection on its CDF (the `quantiles` serving signature).

        Args:
            x: inputs `(N, d)` in original units.
            levels: probabilities in (0, 1).
            num_samples: S.
            seed: integer seed of the weight samples.
        """
        from tfp_arch.plugins.bnn.serving import mixture_quantiles

        if not self.is_regression:
            raise ValueError("predictive_quantiles needs a regression likelihood; this `bnn` is a classifier.")
        outputs = self.sample_outputs(x, num_samples, seed)
        return mixture_quantiles(outputs[..., 0], outputs[..., 1], tf.constant(levels, tf.float32)).numpy()

    def predictive_samples(self, x: Any, num_samples: int | None = None, seed: int | None = None) -> np.ndarray:
        """Draws from the predictive distribution (regression), `(S, N)`: one target per weight sample.

        The weight samples are those of `sample_outputs` with the same seed; the noise is drawn from
        `fold_in([seed, 0], 1)` (the `predictive_samples` serving signature).
        """
        from tfp_arch.plugins.bnn.serving import predictive_draws

        if not self.is_regression:
            raise ValueError("predictive_samples needs a regression likelihood; this `bnn` is a classifier.")
        pair = seed_pair(seed, "int64")
        weights = self.sample_weights(num_samples or self.num_samples, int(pair[0]))
        hidden = self._standardise(tf.convert_to_tensor(np.asarray(x, np.float32)))
        for layer, (kernels, biases) in zip(self.variational_layers, weights, strict=True):
            hidden = layer.call_with_weights(hidden, kernels, biases)
        return predictive_draws(self._head(hidden), pair).numpy()

    def serving_functions(self) -> dict[str, Any]:
        """`predict`, `quantiles` and `predictive_samples` for regression; `predict` (class
        probabilities, entropy, mutual information) for classification; see `tfp_arch.plugins.bnn.serving`."""
        from tfp_arch.plugins.bnn.serving import mlp_serving_functions

        return mlp_serving_functions(self)

    def evaluate_metrics(
        self, x: Any, y: Any = None, num_samples: int | None = None, seed: int = 0
    ) -> dict[str, float]:
        """RMSE, log-likelihood and coverages (regression) or accuracy, NLL and ECE, in original units.

        Args:
            x: inputs in original units.
            y: targets in original units (labels for classification).
            num_samples: weight samples (default: the model's `num_samples`).
            seed: integer seed of the weight samples.

        Returns:
            The metrics as floats (log-likelihood per example, nats, log-mean-exp over samples).
        """
        if y is None:
            raise ValueError(
                f"Architecture `{self.architecture_name}` is supervised: evaluate_metrics(x, y) needs targets y."
            )
        x, y = np.asarray(x, np.float32), np.asarray(y)
        if self.likelihood == "categorical":
            return classification_metrics(y, self.sample_outputs(x, num_samples, seed).numpy())
        # Every regression metric is a mean over examples (RMSE the root of one), so the chunks of
        # rows that `_output_chunks` yields combine exactly, and memory stays bounded on any test size.
        totals: dict[str, float] = {}
        y = y.reshape(-1)
        for rows, outputs in self._output_chunks(x, num_samples, seed):
            outputs = outputs.numpy()
            chunk = regression_metrics(y[rows], outputs[..., 0], outputs[..., 1])
            chunk["rmse"] = chunk["rmse"] ** 2
            for key, value in chunk.items():
                totals[key] = totals.get(key, 0.0) + value * len(y[rows])
        metrics = {key: value / len(y) for key, value in totals.items()}
        metrics["rmse"] = float(np.sqrt(metrics["rmse"]))
        return metrics

    def validation_score(self, x: Any, y: Any = None, num_samples: int = 20) -> float:
        """The predictive log-likelihood per example of `(x, y)` (regression) or minus the NLL
        (classification), from `num_samples` weight samples of a fixed seed (so scores of successive
        epochs differ by the training, not by the draw)."""
        return self._validation_score_from(self.evaluate_metrics(x, y, num_samples=num_samples, seed=0))

    @classmethod
    def hyperparameters_for(cls, dataset: Dataset) -> dict[str, Any]:
        """Categorical likelihood and class count for classification; a heteroscedastic Gaussian
        likelihood (the network outputs the noise scale too) for regression.

        The heteroscedastic likelihood was chosen over a homoscedastic one on validation cuts of
        several UCI training parts (`benchmarks/bnn_validation.py`). Nothing here depends on the
        data set's name: settings that suit one data set travel with it
        (`Dataset.suggested_hyperparameters`).
        """
        if dataset.kind == "classification":
            if dataset.y_train is None:
                raise DataError("classification data without targets", dataset.name)
            return {"likelihood": "categorical", "num_classes": int(np.max(dataset.y_train)) + 1}
        if dataset.kind == "regression":
            return {"likelihood": "heteroscedastic"}
        return {}

    def plot(self, path: str, dataset: Dataset | None = None) -> str:
        """Predictive bands for 1-D inputs, else a calibration plot; see `tfp_arch.plugins.bnn.plot`."""
        from tfp_arch.plugins.bnn.plot import plot_model

        return plot_model(self, path, dataset)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "hidden_units": list(self.hidden_units),
            "activation": self.activation,
            "likelihood": self.likelihood,
            "num_classes": self.num_classes,
            "prior": self.prior,
            "prior_scale": self.prior_scale,
            "prior_mixture_scales": self.prior_mixture_scales,
            "prior_mixture_weight": self.prior_mixture_weight,
            "estimator": self.estimator,
            "posterior_scale_init": self.posterior_scale_init,
            "scale_learning_rate_ratio": self.scale_learning_rate_ratio,
            "kl_weight": self.kl_weight,
            "noise_scale_init": self.noise_scale_init,
            "variance_weighting": self.variance_weighting,
            "num_samples": self.num_samples,
            "seed": self.seed,
        }
