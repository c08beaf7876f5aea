"""The variational autoencoder architecture: encoder, KL regulariser, reparameterised latent, decoder."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import keras
import numpy as np
import tensorflow as tf

from tfp_arch.architecture import Architecture
from tfp_arch.batching import BatchedFunction
from tfp_arch.data.dataset import Dataset
from tfp_arch.layers.distributions.latent import GaussianLatent, scale_params_size
from tfp_arch.layers.kl.gaussian_penalty import GaussianKLPenalty
from tfp_arch.layers.standardize import iterate_batches
from tfp_arch.plugins.vae.declaration import VAE
from tfp_arch.plugins.vae.importance import elbo_terms, importance_weighted_log_likelihood
from tfp_arch.plugins.vae.likelihoods import LIKELIHOODS, decoder_head, head_params, params_per_value
from tfp_arch.plugins.vae.networks import build_decoder, build_encoder, check_network
from tfp_arch.seeding import seed_pair
from tfp_arch.validation import invalid_argument, one_of, positive_float, positive_int

__all__ = ["VariationalAutoencoder", "binarize", "binarize_batch"]

_PREDICT_BATCH = 1024
_Function = TypeVar("_Function", bound=Callable[..., Any])


def _in_unit_interval(x: Any) -> np.ndarray:
    x = np.asarray(x, dtype="float32")
    if x.size and (x.min() < 0.0 or x.max() > 1.0):
        raise invalid_argument("x", "binarising needs values in [0, 1]", received=f"x in [{x.min()}, {x.max()}]")
    return x


def binarize_batch(x: Any, seed: Any) -> tf.Tensor:
    """One Bernoulli draw per value of a batch `x` in [0, 1], from the stateless seed pair `seed`.

    Binary values are kept as they are. This is the binarisation `VariationalAutoencoder.prepare`
    applies to every batch it trains or is evaluated on.

    Args:
        x: a tensor with values in [0, 1].
        seed: a stateless seed, a tensor or pair of two integers.

    Returns:
        A tensor of zeros and ones with the shape and float dtype of `x`.
    """
    x = tf.convert_to_tensor(x)
    x = x if x.dtype.is_floating else tf.cast(x, tf.float32)
    uniform = tf.random.stateless_uniform(tf.shape(x), seed=seed, dtype=x.dtype)
    return tf.cast(uniform < x, x.dtype)


def binarize(x: Any, seed: int = 0) -> np.ndarray:
    """The evaluation binarisation of `x` in [0, 1] as NumPy: `binarize_batch(x, [seed, -1])`.

    `VariationalAutoencoder.prepare` binarises evaluated batches this way (with the model's `seed`,
    0 when None).

    Args:
        x: array with values in [0, 1].
        seed: seed of the draw.

    Returns:
        A float32 array of zeros and ones with the shape of `x`.

    Raises:
        ValueError: naming `x` when a value is outside [0, 1].
    """
    pair = tf.constant([int(seed), -1], tf.int64)
    return keras.ops.convert_to_numpy(binarize_batch(_in_unit_interval(x), pair))


@keras.saving.register_keras_serializable(package="tfp_arch")
class VariationalAutoencoder(Architecture):
    """A variational autoencoder (Kingma & Welling 2014) trained on the ELBO with plain `fit(x)`.

    The encoder maps x to the parameters of q(z | x) (a diagonal or full-covariance Gaussian); a
    `GaussianKLPenalty` adds `kl_weight * KL(q(z|x) || N(0, I))` to the losses; a
    `GaussianLatent` layer draws z = mu + sigma * eps; the decoder maps z to the parameters of
    p(x | z) (Bernoulli logits, or Gaussian locations and scales). `compute_loss` adds the
    reconstruction term -E_q[log p(x | z)], and the history tracks `reconstruction`, `kl` and
    `elbo` (per example, nats) besides `loss`.

    `call(x)` returns a dict of tensors: `x_params` (decoder output), `z_loc`, `z_raw_scale` and `kl`,
    the per-example KL computed once per call: the value in the loss is the one the history logs,
    the same draw when the KL is a Monte Carlo estimate.

    Args:
        data_shape: shape of one example, `[d]` or `[h, w, c]`; None builds on first call.
        latent_dim: size of z.
        hidden_units: hidden dense layers of the encoder (the decoder mirrors them).
        network: `"dense"` or `"conv"` (stride-2 convolutions with `filters`, images only).
        filters: convolution channels of a `"conv"` encoder (mirrored in the decoder).
        likelihood: `"bernoulli"` (data in [0, 1]) or `"gaussian"`.
        decoder_scale: fixed standard deviation of a Gaussian decoder, or None to learn it.
        posterior: `"normal_diag"` or `"normal_tril"` (full covariance).
        kl_weight: the KL weight beta (1 gives the ELBO).
        free_bits: nats per latent dimension not penalised (0 disables).
        activation: activation of the hidden layers.
        eval_samples: importance samples k of `evaluate_metrics`' log-likelihood.
        binarize: draw binary data from [0, 1] inputs, for a Bernoulli decoder on grey-level
            images: every training batch afresh at each step, evaluated batches (`evaluate`,
            validation, `evaluate_metrics`) at a fixed seed; binary data are left unchanged. The
            same for arrays, datasets and streams (`prepare`).
        seed: seed of the latent noise.
        **kwargs: `keras.Model` arguments.

    Example:
        >>> data = tfp_arch.load_data("synthetic:shapes#n=64")
        >>> vae = VariationalAutoencoder(data_shape=[16, 16, 1], latent_dim=2, hidden_units=[32])
        >>> vae.compile(jit_compile=False)  # a tiny run: spare it XLA's compile time
        >>> history = vae.fit(data.x_train, epochs=1, verbose=0)
        >>> vae.log_likelihood(data.x_test, num_samples=10).shape  # log p(x) per test image
        (6,)
    """

    declaration = VAE
    adapts_datasets = True
    default_learning_rate = 2e-3
    default_steps_per_execution = 16

    def __init__(
        self,
        data_shape: list[int] | None = None,
        latent_dim: int = 8,
        hidden_units: list[int] | None = None,
        network: str = "dense",
        filters: list[int] | None = None,
        likelihood: str = "bernoulli",
        decoder_scale: float | None = None,
        posterior: str = "normal_diag",
        kl_weight: float = 1.0,
        free_bits: float = 0.0,
        activation: str = "relu",
        eval_samples: int = 100,
        binarize: bool = False,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.latent_dim = positive_int("latent_dim", latent_dim)
        self.hidden_units = [
            positive_int("hidden_units", u) for u in (hidden_units if hidden_units is not None else [256, 128])
        ]
        self.filters = [positive_int("filters", f) for f in (filters if filters is not None else [32, 64])]
        self.network = network
        self.likelihood_name = one_of("likelihood", likelihood, LIKELIHOODS)
        self.decoder_scale = positive_float("decoder_scale", decoder_scale, allow_none=True)
        self.posterior = posterior
        self.activation = activation
        self.eval_samples = positive_int("eval_samples", eval_samples)
        self.binarize = bool(binarize)
        if self.binarize and likelihood != "bernoulli":
            raise invalid_argument(
                "binarize",
                "binarising needs likelihood='bernoulli'",
                received=f"binarize=True, likelihood={likelihood!r}",
            )
        self.seed = seed
        self.kl_regularizer = GaussianKLPenalty(
            distribution=posterior, kl_weight=kl_weight, free_bits=free_bits, seed=seed, name="kl_regularizer"
        )
        self.latent = GaussianLatent(distribution=posterior, seed=seed, name="latent")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction")
        self.kl_tracker = keras.metrics.Mean(name="kl")
        self.elbo_tracker = keras.metrics.Mean(name="elbo")
        self.data_shape = None if data_shape is None else [int(s) for s in data_shape]
        if self.data_shape is not None:
            check_network(network, self.data_shape)
            self.build((None, *self.data_shape))
        elif network not in ("dense", "conv"):
            check_network(network, [1])
        self._functions: dict[str, Callable[..., Any]] = {}

    @classmethod
    def hyperparameters_for(cls, dataset: Dataset) -> dict[str, Any]:
        """The data shape; a Bernoulli decoder for data in [0, 1], binarised unless already binary;
        a Gaussian decoder otherwise."""
        x = np.asarray(dataset.x_train)
        in_unit = bool(x.size) and float(x.min()) >= 0.0 and float(x.max()) <= 1.0
        hyperparameters: dict[str, Any] = {
            "data_shape": list(x.shape[1:]),
            "likelihood": "bernoulli" if in_unit else "gaussian",
        }
        if in_unit and not np.all((x == 0.0) | (x == 1.0)):
            hyperparameters["binarize"] = True
        return hyperparameters

    def default_compile_kwargs(self) -> dict[str, Any]:
        """Adam and steps per execution as in `Architecture`, plus `jit_compile=True` for a dense network
        with a diagonal posterior on a single replica: XLA fuses the optimizer update and the
        element-wise work around the matmuls (about 30% less CPU time per training image on the MNIST
        benchmark). Other configurations and multi-replica strategies keep Keras' default."""
        kwargs = super().default_compile_kwargs()
        single = self.distribute_strategy.num_replicas_in_sync == 1
        if single and self.network == "dense" and self.posterior == "normal_diag":
            kwargs["jit_compile"] = True
        return kwargs

    def prepare(self, x: Any, y: Any = None, training: bool = False) -> tuple[Any, Any]:
        """Binarise a batch when `binarize` is set (`binarize_batch`); otherwise the batch as it is.

        Training batches are drawn afresh at every optimiser step, from the stateless seed
        `[seed, step]` folded with the replica's index (dynamic binarisation, repeatable and resumed
        with the optimiser's step count); evaluated batches from the fixed seed `[seed, -1]`.
        Arrays, datasets and streams all pass through here (see `Architecture.prepare`).
        """
        if not self.binarize:
            return x, y
        base = 0 if self.seed is None else int(self.seed)
        step = tf.cast(self.optimizer.iterations, tf.int64) if training else tf.constant(-1, tf.int64)
        pair = tf.stack([tf.constant(base, tf.int64), step])
        replica = tf.distribute.get_replica_context()
        if replica is not None and replica.num_replicas_in_sync > 1:
            pair = tf.random.experimental.stateless_fold_in(pair, replica.replica_id_in_sync_group)
        return binarize_batch(x, pair), y

    def build(self, input_shape: Any) -> None:
        if getattr(self, "encoder", None) is not None:
            self.built = True
            return
        data_shape = [int(s) for s in input_shape[1:]]
        check_network(self.network, data_shape)
        self.data_shape = data_shape
        scale_size = scale_params_size(self.posterior, self.latent_dim)
        self.encoder = build_encoder(
            data_shape, self.network, self.hidden_units, self.filters, self.latent_dim + scale_size, self.activation
        )
        self.decoder = build_decoder(
            self.latent_dim,
            data_shape,
            self.network,
            self.hidden_units,
            self.filters,
            params_per_value(self.likelihood_name, self.decoder_scale),
            self.activation,
        )
        self.decoder_head = decoder_head(self.likelihood_name, data_shape, self.decoder_scale)
        self.built = True

    def encoder_parameters(self, x: Any) -> tuple[tf.Tensor, tf.Tensor]:
        """The posterior's mean and raw scale parameters for a batch `x` (tensors)."""
        h = self.encoder(x)
        return h[:, : self.latent_dim], h[:, self.latent_dim :]

    def call(self, inputs: Any, training: bool | None = None) -> dict[str, tf.Tensor]:
        loc, raw_scale = self.encoder_parameters(inputs)
        loc, raw_scale, kl = self.kl_regularizer([loc, raw_scale], return_kl=True)
        z = self.latent([loc, raw_scale], training=training)
        return {"x_params": self.decoder(z), "z_loc": loc, "z_raw_scale": raw_scale, "kl": kl}

    def head_params(self, x_params: Any) -> tf.Tensor:
        """The decoder's output as the parameters of `decoder_head`, `(N, params_size)`."""
        return head_params(x_params, self.likelihood_name, self.decoder_scale)

    def decoder_log_prob(self, x: Any, x_params: Any) -> tf.Tensor:
        """log p(x | z) per example, summed over all values, given the decoder's output for z."""
        return self.decoder_head.log_prob(self.head_params(x_params), x)

    def negative_log_likelihood(self, x: Any, y: Any, y_pred: Any) -> Any:
        """The reconstruction term `-log p(x|z)` per example; the KL enters through `add_loss`."""
        log_px = self.decoder_log_prob(x, y_pred["x_params"])
        kl = y_pred["kl"]
        self.reconstruction_tracker.update_state(-log_px)
        self.kl_tracker.update_state(kl)
        self.elbo_tracker.update_state(log_px - kl)
        return -log_px

    def adapt(self, x: Any, y: Any = None) -> None:
        """Check the data against the model (shape; values in [0, 1] for a Bernoulli decoder), batch by batch.

        Args:
            x: the data `(n, *data_shape)`, or a finite `tf.data.Dataset` of batches.
            y: unused.
        """
        for x_batch, _ in iterate_batches(x) if isinstance(x, tf.data.Dataset) else [(x, None)]:
            x_batch = np.asarray(x_batch)
            if self.data_shape is not None and list(x_batch.shape[1:]) != self.data_shape:
                raise invalid_argument(
                    "x", f"expected examples of shape {self.data_shape}", received=f"x.shape={x_batch.shape}"
                )
            if self.likelihood_name == "bernoulli" and x_batch.size and (x_batch.min() < 0.0 or x_batch.max() > 1.0):
                raise invalid_argument(
                    "x",
                    "a Bernoulli decoder needs values in [0, 1]",
                    received=f"x in [{x_batch.min()}, {x_batch.max()}]",
                )
        super().adapt(x, y)

    def _cached(self, key: str, factory: Callable[[VariationalAutoencoder], _Function]) -> _Function:
        """What `factory` makes for this model, made once and kept under `key` (one factory per key)."""
        if key not in self._functions:
            self._functions[key] = factory(self)
        return cast(_Function, self._functions[key])

    def _batched(self, key: str, fn: Callable[..., Any]) -> BatchedFunction:
        """`fn` over chunks of 1024 examples, traced once per model and kept under `key`."""
        return self._cached(key, lambda model: BatchedFunction(fn, _PREDICT_BATCH))

    def encode(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        """Parameters of q(z | x): the means `(n, d)` and the standard deviations `(n, d)` (diagonal)
        or the lower-triangular scales `(n, d, d)` (full covariance)."""

        def fn(xb: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            loc, raw = self.encoder_parameters(xb)
            return loc, self.latent.scale(raw)

        return self._batched("encode", fn)(x)

    def decode(self, z: Any) -> np.ndarray:
        """E[x | z], in the data's shape: probabilities (Bernoulli) or locations (Gaussian)."""
        return self._batched("decode", lambda zb: self.decoder_head.mean(self.head_params(self.decoder(zb))))(z)

    def reconstruct(self, x: Any) -> np.ndarray:
        """E[x | z = E_q[z | x]]: the decoded posterior mean of each example."""
        return self.decode(self.encode(x)[0])

    def decoder_distribution(self, z: Any) -> Any:
        """The TFP distribution p(x | z) for a batch of latents (one event per row)."""
        return self.decoder_head.distribution(self.head_params(self.decoder(tf.convert_to_tensor(z, tf.float32))))

    def sample(self, n: int, *, seed: int | None = None, mean: bool = False) -> np.ndarray:
        """Draw x ~ p(x) = E_p(z)[p(x | z)], or E[x | z] with z ~ p(z) when `mean` is True.

        The latents are drawn from the stateless pair `[seed, 0]` split in two (the first half), the
        data from the second half folded with the chunk's index (chunks of 1024), as the exported
        `sample` signature draws them.

        Args:
            n: number of samples.
            seed: integer seed, for repeatable draws.
            mean: return the decoder's mean instead of a draw from it.

        Returns:
            An array `(n, *data_shape)`.
        """
        from tfp_arch.plugins.vae.serving import draw_latents, sample_pairs

        z_pair, x_pair = sample_pairs(seed_pair(seed, "int64"))
        z = draw_latents(self, int(n), z_pair).numpy()
        if mean:
            return self.decode(z)
        draw = self._cached(
            "sample",
            lambda model: tf.function(
                lambda zb, pair: model.decoder_head.sample(model.head_params(model.decoder(zb)), seed=pair),
                reduce_retracing=True,
            ),
        )
        chunks = [
            draw(
                tf.constant(z[start : start + _PREDICT_BATCH]), tf.random.experimental.stateless_fold_in(x_pair, index)
            ).numpy()
            for index, start in enumerate(range(0, max(len(z), 1), _PREDICT_BATCH))
        ]
        return np.concatenate(chunks)

    def log_likelihood(
        self, x: Any, num_samples: int = 1000, seed: int | tuple[int, int] = 0, batch_size: int | None = None
    ) -> np.ndarray:
        """Importance-weighted estimate of log p(x) per example (Burda et al. 2016), in nats.

        Args:
            x: data, `(n, *data_shape)`.
            num_samples: importance samples k; memory stays bounded for any k.
            seed: seed of the draws, or a stateless pair (see `importance_weighted_log_likelihood`).
            batch_size: examples per chunk.

        Returns:
            `(n,)` estimates; their mean is a lower bound of the mean log-likelihood that tightens with k.
        """
        return importance_weighted_log_likelihood(self, x, num_samples, seed, batch_size)

    def elbo(self, x: Any, seed: int = 0) -> np.ndarray:
        """A one-sample ELBO estimate per example (analytic KL where available), in nats."""
        log_px, kl = elbo_terms(self, x, seed)
        return log_px - kl

    def evaluate_metrics(self, x: Any, y: Any = None) -> dict[str, float]:
        """`elbo`, `log_likelihood` (importance weighted, k = `eval_samples`), `reconstruction` and `kl`,
        per example in nats, on `x` binarised as `prepare` binarises evaluated batches (`binarize`)."""
        x = np.asarray(x, dtype="float32")
        if self.binarize:
            x = binarize(x, seed=0 if self.seed is None else int(self.seed))
        log_px, kl = elbo_terms(self, x)
        return {
            "elbo": float(np.mean(log_px - kl)),
            "log_likelihood": float(np.mean(self.log_likelihood(x, num_samples=self.eval_samples))),
            "reconstruction": float(np.mean(-log_px)),
            "kl": float(np.mean(kl)),
        }

    def serving_functions(self) -> dict[str, Any]:
        """`encode`, `decode`, `sample` and `log_likelihood`; see `tfp_arch.plugins.vae.serving`."""
        from tfp_arch.plugins.vae.serving import serving_functions

        return serving_functions(self)

    def plot(self, path: str, dataset: Dataset | None = None) -> str:
        """Samples, input/reconstruction pairs and (2-D latent) the latent space by label; see `plot.py`."""
        from tfp_arch.plugins.vae.plot import plot_vae

        return plot_vae(self, path, dataset)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "data_shape": self.data_shape,
            "latent_dim": self.latent_dim,
            "hidden_units": self.hidden_units,
            "network": self.network,
            "filters": self.filters,
            "likelihood": self.likelihood_name,
            "decoder_scale": self.decoder_scale,
            "posterior": self.posterior,
            "kl_weight": self.kl_regularizer.kl_weight,
            "free_bits": self.kl_regularizer.free_bits,
            "activation": self.activation,
            "eval_samples": self.eval_samples,
            "binarize": self.binarize,
            "seed": self.seed,
        }
