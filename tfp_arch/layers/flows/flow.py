"""Normalizing flows as Keras 3 layers: a stack of invertible transforms over a standard normal."""

from __future__ import annotations

import inspect
import math
import os
from collections.abc import Callable
from typing import Any

import keras
import tensorflow as tf
from keras import ops
from tensorflow_probability import distributions as tfd

from tfp_arch.layers.flows.autoregressive import MaskedAutoregressiveTransform, autoregressive_conditioner
from tfp_arch.layers.flows.batch_norm import FlowBatchNormalization
from tfp_arch.layers.flows.made import MADE
from tfp_arch.layers.flows.transformers import DEFAULT_LOG_SCALE_BOUND, AffineTransformer, ElementwiseTransformer
from tfp_arch.seeding import seed_pair
from tfp_arch.validation import boolean, float_in_range, one_of, positive_float, positive_int, seed_value

__all__ = ["Flow", "MaskedAutoregressiveFlow", "sampling_chains", "with_flow_arguments"]

ORDERS = ("reverse", "random", "fixed")
_LOG_2PI = math.log(2.0 * math.pi)
MAX_SAMPLING_CHAINS = 4


def sampling_chains() -> int:
    """How many independent parts `Flow.sample` splits a draw into: 1 on a GPU, else the CPU's
    inter-op threads (TensorFlow's setting, or the usable cores when it is 0), at most
    `MAX_SAMPLING_CHAINS`.

    Sampling runs many small operations in sequence (`D` steps per autoregressive transform);
    one such operation parallelises poorly over the cores, two independent parts keep two
    cores busy. On a GPU the operations of one stream run one after another, so splitting
    would only add kernel launches.
    """
    if tf.config.list_logical_devices("GPU"):
        return 1
    threads = tf.config.threading.get_inter_op_parallelism_threads()
    if not threads:
        threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(int(threads), MAX_SAMPLING_CHAINS))


class Flow(keras.layers.Layer):
    """Base class of the flows: a density p(x) or p(x | context) over a standard normal base.

    Data x go to the latent z through `num_transforms` transforms, with optional batch
    normalisation between them: `log p(x) = log N(z; 0, I) + sum of the log-determinants`.
    Sampling runs the transforms backwards in one cached `tf.function`.
    Calling the layer returns `log p(x [| context])` per example, shape `(batch,)`.

    A subclass takes its own arguments keyword-only, passes the rest (these shared ones) to
    `super().__init__`, and is decorated `@with_flow_arguments` so that its signature shows both.
    The settings of the transforms' conditioner networks (`hidden_units`, `activation`, and
    `hidden_degrees` for MADE conditioners) are the subclass's, checked by the transform family
    (`autoregressive_conditioner`, `coupling_conditioner`); an argument that does not apply to the
    transforms a subclass builds is refused, naming it.
    It must call `stack` (in `__init__` or `build`) with `num_transforms` layers that have
    `inverse_and_log_det(x, context) -> (z, log_det)` (data to latent) and
    `forward(z, context) -> x` (latent to data), and extend `get_config` with its own arguments.
    Everything else (densities, sampling, batch normalisation, context checks) is derived here.
    A subclass whose accepted arguments changed may override the class method `upgrade_config`,
    which `from_config` applies to a saved configuration first.

    Args:
        num_transforms: number of transforms.
        order: `"reverse"`, `"random"` or `"fixed"` variable order between transforms; subclasses
            say how they apply it (`order_of`).
        batch_norm: put `FlowBatchNormalization` between transforms.
        batch_norm_momentum: momentum of its running statistics, in [0, 1).
        context_size: width of the conditioning input, or None.
        seed: seed of random orders, degrees and halves (transform k uses `seed + k`).
        **kwargs: passed to `keras.layers.Layer`.

    Attributes:
        sample_chains: the number of independent parts `sample` splits a draw into (a positive
            integer; `sample` refuses anything else, naming it), or None
            (default) for `sampling_chains()`. Set it before the first `sample` call.
    """

    sample_chains: int | None = None

    def __init__(
        self,
        num_transforms: int = 5,
        order: str = "reverse",
        batch_norm: bool = False,
        batch_norm_momentum: float = 0.9,
        context_size: int | None = None,
        seed: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.num_transforms = positive_int("num_transforms", num_transforms)
        self.order = one_of("order", order, ORDERS)
        self.batch_norm = boolean("batch_norm", batch_norm)
        self.batch_norm_momentum = float_in_range("batch_norm_momentum", batch_norm_momentum, 0.0, 1.0, "[)")
        self.context_size = None if context_size is None else positive_int("context_size", context_size)
        self.seed = seed_value("seed", seed)
        self.event_size: int | None = None
        self._sample_fn: Callable[..., Any] | None = None

    @classmethod
    def upgrade_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        """A configuration saved by an earlier release, as this release's constructor takes it; unchanged here."""
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Flow:
        return super().from_config(cls.upgrade_config(dict(config)))

    def stack(self, transforms: list[keras.layers.Layer]) -> None:
        """Set the transforms (data-to-latent order), then the batch normalisations between them."""
        self.transforms = transforms
        self.norms = [
            FlowBatchNormalization(momentum=self.batch_norm_momentum, name=f"batch_norm_{index}")
            for index in range(self.num_transforms - 1 if self.batch_norm else 0)
        ]

    def autoregressive_transforms(
        self, transformer: ElementwiseTransformer, conditioner: dict[str, Any]
    ) -> list[MaskedAutoregressiveTransform]:
        """`num_transforms` masked autoregressive transforms of `transformer` with the MADE settings
        `conditioner` (from `autoregressive_conditioner`), in the orders of `order_of`; transform k
        is seeded `seed + k`."""
        return [
            MaskedAutoregressiveTransform(
                transformer=transformer,
                **conditioner,
                input_order=self.order_of(index),
                context_size=self.context_size,
                seed=self.seed + index,
                name=f"transform_{index}",
            )
            for index in range(self.num_transforms)
        ]

    def order_of(self, index: int) -> str:
        """The variable order of transform `index`: `"left-to-right"`, `"right-to-left"` or `"random"`."""
        if self.order == "random":
            return "random"
        if self.order == "reverse" and index % 2 == 1:
            return "right-to-left"
        return "left-to-right"

    def build(self, input_shape: tuple[Any, ...]) -> None:
        self.event_size = int(input_shape[-1])
        shape = (None, self.event_size)
        for transform in self.transforms:
            transform.build(shape)
        for norm in self.norms:
            norm.build(shape)

    def _check_context(self, context: Any) -> None:
        if self.context_size is not None and context is None:
            raise ValueError("This flow is conditional (`context_size` was given): pass `context=`.")
        if self.context_size is None and context is not None:
            raise ValueError("This flow is unconditional: build it with `context_size` to pass a context.")

    def inverse_and_log_det(self, x: Any, context: Any = None, training: bool | None = None) -> tuple[Any, Any]:
        """Map data to the latent space, one pass per transform.

        Args:
            x: data, shape `(batch, D)`.
            context: conditioning input, shape `(batch, context_size)`, or None.
            training: use (and update) batch statistics in batch normalisation.

        Returns:
            `(z, inverse_log_det)`, shapes `(batch, D)` and `(batch,)`.
        """
        self._check_context(context)
        z = x
        log_det = ops.zeros_like(x[..., 0])
        for index, transform in enumerate(self.transforms):
            z, step = transform.inverse_and_log_det(z, context)
            log_det = log_det + step
            if index < len(self.norms):
                z, step = self.norms[index].inverse_and_log_det(z, training=training)
                log_det = log_det + step
        return z, log_det

    def log_prob(self, x: Any, context: Any = None, training: bool | None = None) -> Any:
        """`log p(x [| context])` per example, shape `(batch,)`.

        Args:
            x: data, shape `(batch, D)`.
            context: conditioning input, or None.
            training: use batch statistics in batch normalisation.
        """
        if self.event_size is None:
            raise RuntimeError(f"{type(self).__name__}.log_prob called before build()")
        z, log_det = self.inverse_and_log_det(x, context, training=training)
        base = -0.5 * ops.sum(ops.square(z), axis=-1) - 0.5 * self.event_size * _LOG_2PI
        return base + log_det

    def call(self, x: Any, context: Any = None, training: bool | None = None) -> Any:
        """`log p(x [| context])` per example, shape `(batch,)`."""
        return self.log_prob(x, context, training=training)

    def base_distribution(self) -> tfd.Distribution:
        """The standard normal latent distribution over `D` dimensions."""
        return tfd.MultivariateNormalDiag(loc=tf.zeros([self.event_size]))

    def forward(self, z: Any, context: Any = None) -> Any:
        """Latent to data (running batch statistics): the inverse of `inverse`."""
        self._check_context(context)
        x = z
        for index in reversed(range(self.num_transforms)):
            if index < len(self.norms):
                x = self.norms[index].forward(x)
            x = self.transforms[index].forward(x, context)
        return x

    def inverse(self, x: Any, context: Any = None) -> Any:
        """Data to latent (one pass per transform; running batch statistics)."""
        return self.inverse_and_log_det(x, context, training=False)[0]

    def _sample_graph(self, n: Any, seed: Any, context: Any) -> Any:
        z = tf.random.stateless_normal(tf.stack([n, self.event_size]), seed=seed, alg="philox")
        chains = sampling_chains() if self.sample_chains is None else int(self.sample_chains)
        if chains == 1:
            return self.forward(z, context)
        bounds = [n * part // chains for part in range(chains + 1)]
        parts = [
            self.forward(z[start:stop], None if context is None else context[start:stop])
            for start, stop in zip(bounds[:-1], bounds[1:], strict=False)
        ]
        return tf.concat(parts, axis=0)

    def sample(self, n: int, context: Any = None, seed: int | None = None) -> Any:
        """Draw `n` samples in a compiled graph.

        Args:
            n: number of samples.
            context: conditioning input of shape `(context_size,)` (shared by all samples) or
                `(n, context_size)`, or None.
            seed: integer seed for repeatable draws.

        Returns:
            A float32 tensor of shape `(n, D)`.

        The latent draw is split into `sample_chains` parts (default None: `sampling_chains()`, 2 on
        a 2-core CPU, 1 on a GPU) that run through the flow as independent branches of the graph,
        then joined: the same samples as one part, up to float rounding.

        The sampling graph runs without XLA for every flow (`maf` and `nsf`, autoregressive and
        coupling). With the sliced autoregressive steps that preceded `MADE.autoregressive_pass`,
        compiling it was slower on CPU for all three (power-plant shapes, 10,000 samples, 5
        transforms of 2 x 100 units, 8 bins, interleaved rounds on 2 loaded cores: 2.3x the time
        for `maf`, 1.5x for autoregressive and 4.3x for coupling `nsf`, after 20-120 s of
        compilation). With the one-pass steps, a draw of 10,000 at D = 10 took 0.6x the time for
        `maf` and 0.7x for autoregressive `nsf` under XLA, but compiling took 18-23 s: it pays
        back after millions of samples, so sampling stays uncompiled. Only the spline's knots,
        bin search and root, small work per element, run as an XLA-compiled function inside the
        graph (`RationalQuadraticSplineTransformer.forward_parameters_first`).
        """
        self._check_context(context)
        if self.sample_chains is not None:
            positive_int("sample_chains", self.sample_chains)
        if context is not None:
            context = tf.convert_to_tensor(context, dtype=self.compute_dtype)
            if context.shape.rank == 1:
                context = tf.broadcast_to(context, [n, self.context_size])
        seed_tensor = seed_pair(seed)
        if not tf.executing_eagerly():
            return self._sample_graph(tf.constant(n, tf.int32), seed_tensor, context)
        if self._sample_fn is None:
            self._sample_fn = tf.function(self._sample_graph, reduce_retracing=True)
        return self._sample_fn(tf.constant(n, tf.int32), seed_tensor, context)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return tuple(input_shape[:-1])

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "num_transforms": self.num_transforms,
            "order": self.order,
            "batch_norm": self.batch_norm,
            "batch_norm_momentum": self.batch_norm_momentum,
            "context_size": self.context_size,
            "seed": self.seed,
        }


def with_flow_arguments(init: Callable[..., None]) -> Callable[..., None]:
    """Decorate a `Flow` subclass's `__init__(self, *, own arguments, **kwargs)` with the signature
    `Flow.__init__`'s arguments, then its own, then `**kwargs`, so that `inspect` (and the `maf` and
    `nsf` architectures, which forward these arguments) sees every argument once declared."""
    base = list(inspect.signature(Flow.__init__).parameters.values())
    own = [p for p in inspect.signature(init).parameters.values() if p.kind is p.KEYWORD_ONLY]
    init.__signature__ = inspect.Signature([*base[:-1], *own, base[-1]])  # type: ignore[attr-defined]
    return init


@keras.saving.register_keras_serializable(package="tfp_arch")
class MaskedAutoregressiveFlow(Flow):
    """A masked autoregressive flow (Papamakarios et al., 2017): affine MADE transforms.

    Every transform is a `MaskedAutoregressiveTransform` with an `AffineTransformer`,
    `z = x * exp(-s(x)) + shift(x)` with a soft-clipped log-scale. Between transforms the MADE
    order is reversed (`order="reverse"`), redrawn at random (`"random"`, seeded) or kept
    (`"fixed"`). Density evaluation is one MADE pass per transform; sampling runs `D` sequential
    steps per transform that together cost one MADE pass (`MADE.autoregressive_pass`).

    Args:
        hidden_units: hidden layer widths of every transform's MADE.
        activation: their hidden activation.
        hidden_degrees: `"equal"` or `"random"` MADE hidden degrees.
        log_scale_bound: soft bound on every log-scale (None: unbounded).
        **kwargs: the arguments of `Flow` (`num_transforms`, `order`, `batch_norm`, ...), then
            those of `keras.layers.Layer`.

    Example:
        >>> flow = MaskedAutoregressiveFlow(num_transforms=2, hidden_units=[16])
        >>> log_p = flow(np.zeros((4, 3), "float32"))          # shape (4,)
        >>> x = flow.sample(10, seed=1)                          # shape (10, 3)
        >>> conditional = MaskedAutoregressiveFlow(num_transforms=2, hidden_units=[16], context_size=1)
        >>> log_p = conditional(np.zeros((4, 3), "float32"), context=np.ones((4, 1), "float32"))
    """

    @with_flow_arguments
    def __init__(
        self,
        *,
        hidden_units: list[int] | tuple[int, ...] = (100, 100),
        activation: str = "relu",
        hidden_degrees: str = "equal",
        log_scale_bound: float | None = DEFAULT_LOG_SCALE_BOUND,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.conditioner = autoregressive_conditioner(hidden_units, activation, hidden_degrees)
        self.log_scale_bound = positive_float("log_scale_bound", log_scale_bound, allow_none=True)
        self.stack(self.autoregressive_transforms(AffineTransformer(self.log_scale_bound), self.conditioner))

    @property
    def mades(self) -> list[MADE]:
        """The MADE of every transform (also the path of their weights in `.keras` files)."""
        return [transform.made for transform in self.transforms]

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            **self.conditioner,
            "log_scale_bound": self.log_scale_bound,
        }
